"""Link anonymous survey waves by self-generated identification codes (SGIC).

Respondents of an anonymous survey build a code from stable facts (a letter of a
parent's first name, their birth month, ...) and give it again at every wave.
:func:`link_codes` matches the rows of consecutive waves by that code, within
each organization, one-to-one, and never forces a match: a row whose best
candidate is shared with another row (a tie) stays unmatched. It returns the
frame with a shared ``linked_id`` and the match rate per organization and pair
of waves, which the report should print beside every linked estimate.

Match rates are imperfect and fall with time: McGloin, Holcomb & Main (1996)
matched 75.2% of pre/post pairs correctly, left 22.1% unmatched and matched 2.7%
wrongly; Yurek, Vasey & Havens (2008) matched 51-67% of hospital nurses over 6 to
18 months. A wrong match dilutes a paired change toward zero, so linked
estimates belong beside the unlinked (repeated cross-section) ones.

References
----------
McGloin, J., Holcomb, S., & Main, D. S. (1996). Matching anonymous pre-posttests
using subject-generated information. *Evaluation Review*, 20(6), 724-736.
doi:10.1177/0193841X9602000605
Yurek, L. A., Vasey, J., & Havens, D. S. (2008). The use of self-generated
identification codes in longitudinal research. *Evaluation Review*, 32(5), 435-452.
doi:10.1177/0193841X08316676
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._args import whole_number
from ._designrows import wave_order
from ._results import _check_frame
from .errors import UsageError

__all__ = ["LinkResult", "RATE_COLUMNS", "link_codes", "link_study"]

#: Columns of :attr:`LinkResult.rates`.
RATE_COLUMNS = [
    "org_id",
    "wave_from",
    "wave_to",
    "n_from",
    "n_to",
    "n_matched",
    "n_tied",
    "n_unusable",
    "share_from_matched",
    "share_to_matched",
]

RULES = ("exact", "k_of_m")


@dataclass(frozen=True)
class LinkResult:
    """What :func:`link_codes` returns.

    Attributes
    ----------
    linked : DataFrame
        A copy of the input with one more column, ``linked_id``: rows of different
        waves with the same ``linked_id`` were matched as one person. An unmatched
        row keeps its own id (the value of ``id_col``, as a string).
    rates : DataFrame
        One row per organization and pair of consecutive waves, then one row per
        pair of waves with ``org_id = "all"``; columns :data:`RATE_COLUMNS`.
    """

    linked: pd.DataFrame
    rates: pd.DataFrame


def _codes(df: pd.DataFrame, elements: list[str]) -> np.ndarray:
    """Element values as integer codes per column; -1 for a blank (never agrees)."""
    out = np.empty((len(df), len(elements)), dtype=np.int64)
    for j, col in enumerate(elements):
        s = df[col].astype("string").str.strip().str.upper()
        s = s.mask(s == "")
        out[:, j] = pd.factorize(s, use_na_sentinel=True)[0]
    return out


def _match(a: np.ndarray, b: np.ndarray, need: int) -> tuple[np.ndarray, np.ndarray, int]:
    """One-to-one matches between code rows ``a`` and ``b`` (indices), ties left out.

    A pair is a candidate when at least ``need`` elements are present in both and
    equal. It is matched when each row is the other's unique best candidate (the
    most agreeing elements, no other candidate at that level on either side).
    Returns the matched indices of ``a`` and ``b`` and the number of ``a`` rows
    that had a candidate but stayed unmatched (ties).
    """
    if len(a) == 0 or len(b) == 0:
        return np.array([], int), np.array([], int), 0
    agree = ((a[:, None, :] == b[None, :, :]) & (a[:, None, :] >= 0)).sum(axis=2)
    score = np.where(agree >= need, agree, -1)
    row_best = score.max(axis=1)
    col_best = score.max(axis=0)
    row_unique = (score == row_best[:, None]).sum(axis=1) == 1
    col_unique = (score == col_best[None, :]).sum(axis=0) == 1
    ok = (
        (score >= 0)
        & (score == row_best[:, None])
        & (score == col_best[None, :])
        & row_unique[:, None]
        & col_unique[None, :]
    )
    ia, ib = np.nonzero(ok)
    tied = int(np.sum(row_best >= 0)) - len(ia)
    return ia, ib, tied


def _check_args(frame, elements, rule, k, id_col, wave_col, org_col):
    if isinstance(elements, str) or not list(elements):
        raise UsageError(
            "elements must be a non-empty list of the columns holding the code elements, "
            f"e.g. ['sgic_initial', 'sgic_birth_month']; got {elements!r}"
        )
    elements = list(elements)
    if rule not in RULES:
        raise UsageError(f"rule must be one of {', '.join(RULES)}; got {rule!r}")
    m = len(elements)
    if rule == "exact":
        if k is not None and k != m:
            raise UsageError(f"rule='exact' needs all {m} elements to agree; leave k=None")
        need = m
    else:
        if k is None:
            raise UsageError(f"rule='k_of_m' needs k, the number of the {m} elements that agree")
        need = whole_number(k, "k", 1)
        if need > m:
            raise UsageError(f"k must be at most the number of elements ({m}); got {k!r}")
    cols = {"id_col": id_col, "wave_col": wave_col, "org_col": org_col}
    cols.update({f"elements[{j}]": c for j, c in enumerate(elements)})
    df = _check_frame(frame, "frame", cols).reset_index(drop=True)
    for col, what in ((id_col, "id_col"), (wave_col, "wave_col"), (org_col, "org_col")):
        if df[col].isna().any():
            rows = np.flatnonzero(df[col].isna().to_numpy())[:5].tolist()
            raise UsageError(f"column {col!r} ({what}) is blank in rows {rows}")
    dup = df.duplicated([id_col, wave_col])
    if dup.any():
        raise UsageError(
            f"column {id_col!r} must name each response once per wave; repeated: "
            f"{', '.join(map(str, df.loc[dup, id_col].head(5)))}"
        )
    return df, elements, need


def link_codes(
    frame,
    elements,
    *,
    rule="exact",
    k=None,
    id_col="worker_id",
    wave_col="wave",
    org_col="org_id",
    waves=None,
) -> LinkResult:
    """Match the rows of consecutive waves by a self-generated code, within organization.

    Parameters
    ----------
    frame : DataFrame
        One row per response: ``id_col`` (a response or respondent id, unique
        within a wave), ``wave_col``, ``org_col`` and the code element columns.
        Not modified.
    elements : list of str
        Columns holding the code elements, or one column holding a ready-made
        code. Values are compared as text, trimmed and upper-cased; a blank
        element never agrees with anything.
    rule : {"exact", "k_of_m"}
        ``"exact"``: all m elements present and equal. ``"k_of_m"``: at least
        ``k`` of the m elements present in both rows and equal (a respondent who
        misremembers one element can still be matched with ``k = m - 1``).
    k : int, optional
        With ``rule="k_of_m"``: how many elements must agree.
    id_col, wave_col, org_col : str
        Column names.
    waves : list, optional
        The waves in order; default: ``pre, post, follow_up`` when the waves
        have those names, else the sorted values of ``wave_col``.

    Returns
    -------
    LinkResult
        ``linked`` (the input plus ``linked_id``) and ``rates`` (per organization
        and pair of consecutive waves: ``n_from``, ``n_to`` rows; ``n_matched``
        pairs; ``n_tied`` rows of the earlier wave that had a candidate but were
        left unmatched (a tie, or their best candidate agreed better with another
        row);
        ``n_unusable`` rows of either wave with too few elements filled in to meet
        the rule; ``share_from_matched = n_matched / n_from``,
        ``share_to_matched = n_matched / n_to``).

    Notes
    -----
    Matching is one-to-one and greedy-free: a pair (a, b) is matched when b is
    a's unique best candidate and a is b's unique best candidate, the
    candidates being the rows meeting the rule and "best" the most agreeing
    elements. Nothing is forced: duplicate codes, or a row with two equally
    good candidates, stay unmatched. Each wave is matched to the one before it;
    a chain of matches shares the ``linked_id`` of its earliest row, so a person
    matched t0 -> t1 -> t2 has one id. Matching is within organization.

    Tests (``tests/test_linking.py``) use hand-built codes (exact, one element
    wrong, ties, blanks) and a simulated population with known true pairs.
    """
    df, elements, need = _check_args(frame, elements, rule, k, id_col, wave_col, org_col)
    order = wave_order(df, wave_col, waves)
    codes = _codes(df, elements)
    usable = (codes >= 0).sum(axis=1) >= need
    linked_id = df[id_col].astype(str).to_numpy().copy()
    rows = []
    for w_from, w_to in zip(order[:-1], order[1:], strict=True):
        for org, grp in df.groupby(org_col, sort=True):
            ia_all = grp.index[grp[wave_col] == w_from].to_numpy()
            ib_all = grp.index[grp[wave_col] == w_to].to_numpy()
            ia_u, ib_u = ia_all[usable[ia_all]], ib_all[usable[ib_all]]
            ma, mb, tied = _match(codes[ia_u], codes[ib_u], need)
            linked_id[ib_u[mb]] = linked_id[ia_u[ma]]
            n_from, n_to = len(ia_all), len(ib_all)
            rows.append(
                {
                    "org_id": org,
                    "wave_from": w_from,
                    "wave_to": w_to,
                    "n_from": n_from,
                    "n_to": n_to,
                    "n_matched": len(ma),
                    "n_tied": tied,
                    "n_unusable": int((~usable[ia_all]).sum() + (~usable[ib_all]).sum()),
                }
            )
    rates = pd.DataFrame(rows, columns=RATE_COLUMNS[:8])
    if len(rates):
        total = rates.groupby(["wave_from", "wave_to"], sort=False, as_index=False)[
            ["n_from", "n_to", "n_matched", "n_tied", "n_unusable"]
        ].sum()
        total.insert(0, "org_id", "all")
        rates = pd.concat([rates.astype({"org_id": object}), total], ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rates["share_from_matched"] = rates["n_matched"] / rates["n_from"].replace(0, np.nan)
        rates["share_to_matched"] = rates["n_matched"] / rates["n_to"].replace(0, np.nan)
    out = frame.copy()
    out["linked_id"] = linked_id
    return LinkResult(linked=out, rates=rates[RATE_COLUMNS].reset_index(drop=True))


def link_study(study, *, rule: str = "exact", k=None):
    """A linked copy of a code-linked study: worker ids replaced by the matched id.

    Parameters
    ----------
    study : Study
        ``design.linkage: code`` with ``design.link_code_columns`` naming the
        code element columns of ``responses.csv`` (or one ready-made code column).
        Not modified.
    rule, k
        The matching rule of :func:`link_codes`.

    Returns
    -------
    (Study, DataFrame)
        The linked study and the match rates (:data:`RATE_COLUMNS`). In the
        study, ``responses.worker_id`` is the ``linked_id`` (rows matched as one
        person share the id of their earliest response); ``workers.csv`` has one
        row per linked id (organization, team and other columns of the earliest
        response's respondent); ``study.yaml`` says ``design.linkage: linked``
        and records the rule under ``provenance.linking`` (rule, k, elements,
        overall match rate of each pair of waves).

    Raises
    ------
    UsageError
        The study is not code-linked, names no code columns, or a code column
        is missing from ``responses.csv``.
    """
    design = study.design
    elements = list(design.link_code_columns)
    if design.linkage != "code" or not elements:
        raise UsageError(
            "linking needs a study whose study.yaml says design: {linkage: code, "
            "link_code_columns: [...]} naming the code columns of responses.csv; "
            f"this study has linkage {design.linkage!r} and link_code_columns {elements!r}"
        )
    responses, workers = study.responses, study.workers
    missing = [c for c in elements if c not in responses.columns]
    if missing:
        raise UsageError(
            f"responses.csv has no column(s) {', '.join(missing)} named in "
            "study.yaml design.link_code_columns"
        )
    frame = responses.merge(workers[["worker_id", "org_id"]], on="worker_id", how="left")
    frame = frame.dropna(subset=["org_id"])
    res = link_codes(frame, elements, rule=rule, k=k, waves=study.waves)
    new_id = dict(zip(res.linked["worker_id"].astype(str), res.linked["linked_id"], strict=True))
    new_resp = responses.assign(worker_id=responses["worker_id"].astype(str).map(new_id))
    new_resp = new_resp.dropna(subset=["worker_id"])
    first = workers.assign(_new=workers["worker_id"].astype(str).map(new_id))
    first = first.dropna(subset=["_new"]).drop_duplicates("_new", keep="first")
    new_workers = first.assign(worker_id=first["_new"]).drop(columns="_new")
    meta = copy.deepcopy(dict(study.meta))
    meta.setdefault("design", {})
    meta["design"] = {**(meta["design"] or {}), "linkage": "linked", "link_code_columns": []}
    total = res.rates[res.rates["org_id"] == "all"]
    meta.setdefault("provenance", {})
    meta["provenance"] = {
        **(meta["provenance"] or {}),
        "linking": {
            "rule": rule,
            "k": None if k is None else int(k),
            "elements": elements,
            "match_rate": {
                f"{a}->{b}": round(float(r), 4)
                for a, b, r in zip(
                    total["wave_from"], total["wave_to"], total["share_from_matched"], strict=True
                )
            },
        },
    }
    linked = study.replace(
        meta=meta,
        responses=new_resp.reset_index(drop=True),
        workers=new_workers.reset_index(drop=True),
        validate=False,
    )
    return linked, res.rates
