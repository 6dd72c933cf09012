"""A starter mapping written from an export's header: obvious matches guessed, the rest marked.

Guesses, strongest first: a column whose field label or question text is an
instrument's own short item label (the synthetic exports and any survey
built from the kit's labels); columns named ``<instrument key>_<number>``
(``stss_1``, ``STSS01``, ``stss_q1``); the common names of ID, org, team,
role, tenure, wave and date columns; identifiers by name (name, e-mail,
phone, IP address, location) and by what the source flags. A block of
Qualtrics matrix columns (``Q7_1`` ... ``Q7_17``) whose size fits an
instrument is suggested in a comment only. Everything guessed is marked
``# CHECK``; what could not be guessed is ``null  # TODO``.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pandas as pd

from ..instruments import builtin_keys, load_instrument
from ._sources import QUALTRICS_METADATA, read_source
from ._values import norm_label

__all__ = ["mapping_template"]

_WORKER = [
    "workerid",
    "worker",
    "staffid",
    "employeeid",
    "participantid",
    "respondentid",
    "respondent",
    "personid",
    "recordid",
    "userid",
    "staffno",
    "id",
]
_ORG = [
    "orgid",
    "org",
    "organization",
    "organisation",
    "agency",
    "agencyid",
    "site",
    "siteid",
    "organizationid",
    "organisationid",
    "orgname",
    "employer",
]
_TEAM = ["teamid", "team", "unit", "unitid", "teamname", "workgroup", "department"]
_ROLE = ["role", "jobrole", "position", "jobtitle", "profession", "discipline"]
_TENURE = ["tenureyears", "tenure", "yearsinjob", "yearsinrole", "yearsemployed"]
_WAVE = [
    "wave",
    "redcapeventname",
    "timepoint",
    "time",
    "occasion",
    "round",
    "phase",
    "period",
    "event",
    "redcaprepeatinstance",
]
_DATE = [
    "date",
    "surveydate",
    "responsedate",
    "completiondate",
    "startdate",
    "recordeddate",
    "submitted",
    "timestamp",
]
_IDENT = [
    "name",
    "email",
    "mail",
    "phone",
    "ipaddress",
    "latitude",
    "longitude",
    "address",
    "birth",
    "dob",
    "ssn",
    "zip",
    "postcode",
]
_PRE = re.compile(r"base|pre|intake|first|before|^t?[01]$|^w(ave)?_?1$", re.I)
_POST = re.compile(r"follow|post|second|after|end|^t?2$|^w(ave)?_?2$", re.I)


def _norm(c) -> str:
    return re.sub(r"[^a-z0-9]", "", str(c).lower())


def _q(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _find(columns, names, used, contains=()) -> str | None:
    by = {}
    for c in columns:
        by.setdefault(_norm(c), c)
    for n in names:
        if n in by and by[n] not in used:
            return by[n]
    for part in contains:
        for c in columns:
            if part in _norm(c) and c not in used:
                return c
    return None


def _item_guesses(src, columns, used) -> tuple[dict, list[str]]:
    """Instrument key -> (column -> item number, how); and comment lines."""
    out: dict[str, tuple[dict[str, int], str]] = {}
    taken = set(used)
    labels = {c: norm_label(re.sub(r"^.*? - ", "", str(src.labels.get(c, "")))) for c in columns}
    for key in builtin_keys():
        inst = load_instrument(key)
        by_label = {norm_label(i.label): i.number for i in inst.items}
        hits = {
            c: by_label[lab]
            for c, lab in labels.items()
            if lab and lab in by_label and c not in taken
        }
        if len(hits) >= max(3, inst.n_items // 2) and len(set(hits.values())) == len(hits):
            parts = {re.match(r"^(.*?)0*(\d+)$", c) for c in hits}
            prefixes = {m.group(1) for m in parts if m}
            if (
                len(prefixes) == 1
                and None not in parts
                and all(int(m.group(2)) == hits[m.group(0)] for m in parts)
            ):
                hits = {"__prefix__": prefixes.pop(), **hits}
            out[key] = (hits, "matched by the instruments' item labels")
            taken |= set(hits)
    for key in builtin_keys():
        if key in out:
            continue
        inst = load_instrument(key)
        pat = re.compile(rf"^({re.escape(key)}[_\-. ]?(?:q|item|i)?[_\-. ]?)0*(\d{{1,3}})$", re.I)
        groups: dict[str, dict[str, int]] = defaultdict(dict)
        for c in columns:
            m = pat.match(str(c))
            if m and c not in taken:
                groups[m.group(1)][c] = int(m.group(2))
        if groups:
            prefix, found = max(groups.items(), key=lambda kv: len(kv[1]))
            how = (
                "by column names"
                if len(found) == inst.n_items
                else f"by column names; found {len(found)} of {inst.n_items} items"
            )
            out[key] = ({"__prefix__": prefix, **found}, how)
            taken |= set(found)
    comments = []
    blocks: dict[str, list[str]] = defaultdict(list)
    for c in columns:
        m = re.match(r"^(Q\d+)_(\d+)$", str(c))
        if m and c not in taken:
            blocks[m.group(1)].append(c)
    sizes = defaultdict(list)
    for key in builtin_keys():
        if key not in out:
            sizes[load_instrument(key).n_items].append(key)
    for block, cols in blocks.items():
        fits = sizes.get(len(cols))
        if fits:
            comments.append(
                f"# TODO: {block}_1 ... {block}_{len(cols)} ({len(cols)} columns) "
                f"could be {' or '.join(fits)}: e.g. {fits[0]}: {{prefix: "
                f'"{block}_"}}'
            )
    return out, comments


class _Writer:
    """The lines of a starter mapping, section by section."""

    def __init__(self, src, guesses, comments):
        self.src, self.frame = src, src.frame
        self.columns = [str(c) for c in src.frame.columns]
        self.guesses, self.comments = guesses, comments
        self.used: set[str] = {
            c for found, _ in guesses.values() for c in found if c != "__prefix__"
        }
        self.worker = None
        self.L = [
            f"# Starter mapping for `stseval import`, written from {src.path.name} "
            f"({src.format} export).",
            "# Lines marked CHECK are guesses; lines marked TODO need you. Every option is",
            "# described in the documentation of stseval.importers (README: Importing).",
            f"study_name: {_q(src.path.stem)}",
            f"format: {src.format}",
        ]

    def field(self, name, col, what, note=""):
        if col:
            self.used.add(col)
            self.L.append(f"{name}: {_q(col)}  # CHECK{note}")
        else:
            self.L.append(f"{name}: null  # TODO: the column holding {what}")

    def people(self) -> None:
        columns, used, src = self.columns, self.used, self.src
        if src.format == "redcap":
            worker = columns[0]
        elif src.format == "qualtrics":
            worker = _find(columns, _WORKER, used) or (
                "ExternalReference" if "ExternalReference" in columns else None
            )
        else:
            worker = _find(columns, _WORKER, used, contains=("worker",))
        self.worker = worker
        self.field("worker_id", worker, "the worker ID (it is pseudonymized at import)")
        org = _find(columns, _ORG, used, contains=("org", "agency"))
        self.field("org_id", org, "the organization")
        team = _find(columns, _TEAM, used, contains=("team",))
        if team:
            self.field("team_id", team, "the team")
        else:
            self.L.append("# team_id: null  # optional: the column holding the team")
        for name, names, contains in (("role", _ROLE, ()), ("tenure_years", _TENURE, ("tenure",))):
            col = _find(columns, names, used, contains=contains)
            if col is None and name == "tenure_years":
                col = next(
                    (
                        c
                        for c in columns
                        if c not in used and "years" in norm_label(src.labels.get(c, ""))
                    ),
                    None,
                )
            if col:
                self.field(name, col, name)

    def wave_and_date(self) -> None:
        L, used = self.L, self.used
        wave = _find(self.columns, _WAVE, used)
        if wave:
            used.add(wave)
            values = [str(v).strip() for v in pd.unique(self.frame[wave].dropna())][:20]
            if values and not all(v.lower() in ("pre", "post", "follow_up") for v in values):
                L.append("wave:")
                L.append(f"  column: {_q(wave)}  # CHECK")
                L.append(
                    "  values:  # source value -> study wave (pre, post, follow_up); null: "
                    "rows with worker details only"
                )
                for v in values:
                    guess = "pre" if _PRE.search(v) else ("post" if _POST.search(v) else None)
                    L.append(f"    {_q(v)}: {guess or 'null'}  # {'CHECK' if guess else 'TODO'}")
            else:
                L.append(f"wave: {_q(wave)}  # CHECK")
        else:
            L.append(
                "wave: null  # TODO: the column holding the wave, or {value: pre} for a "
                "file of one wave"
            )
        L.append("waves: [pre, post]  # CHECK: the study's waves in order")
        date = _find(self.columns, _DATE, used, contains=("date",))
        if date:
            used.add(date)
            L.append(
                f'date: {{column: {_q(date)}}}  # CHECK (add format: "%d/%m/%Y" for other layouts)'
            )
        else:
            L.append("# date: {column: null}  # optional: the column holding the survey date")

    def identifiers(self) -> None:
        used = self.used
        idents = list(
            dict.fromkeys(
                self.src.identifier_columns
                + [
                    c
                    for c in self.columns
                    if c not in used and c != self.worker and any(p in _norm(c) for p in _IDENT)
                ]
            )
        )
        self.L.append(
            "identifiers:  # dropped at import, never written"
            if idents
            else "identifiers: []  # columns with names, e-mails, phone numbers ..."
        )
        self.L.extend(f"  - {_q(c)}  # CHECK" for c in idents)
        used |= set(idents)

    def items(self) -> None:
        L = self.L
        if not self.guesses:
            L.append('items:  # TODO: one entry per instrument, e.g. stss: {prefix: "stss_"}')
        else:
            L.append("items:")
        for key, (found, how) in self.guesses.items():
            inst = load_instrument(key)
            prefix = found.pop("__prefix__", None)
            self.used |= set(found)
            numbers = sorted(found.values())
            if prefix is not None and numbers == list(range(1, inst.n_items + 1)):
                L.append(f"  {key}: {{prefix: {_q(prefix)}}}  # CHECK: {how}")
                continue
            L.append(f"  {key}:  # CHECK: {how}")
            L.extend(f"    {_q(c)}: {n}" for c, n in sorted(found.items(), key=lambda kv: kv[1]))
        L.extend(self.comments)
        codes = _codes(self.frame, [c for g in self.guesses.values() for c in g[0]])
        if codes:
            L.append("missing_codes:  # TODO: say why each code means missing")
            L.extend(f"  {c}: missing" for c in codes)
        else:
            L.append("# missing_codes: {-99: refused}  # answers that mean 'missing', and why")

    def tail(self) -> None:
        self.L += [
            "# orgs_file: orgs.csv                  # optional: org_id, name, size",
            "# interventions_file: interventions.csv  # org_id, area, start_date (YYYY-MM-DD)",
            "# org_metrics_file: org_metrics.csv    # org_id, month, headcount, separations, "
            "absence_days",
            "min_cell: 5",
        ]
        meta = set(QUALTRICS_METADATA) | {
            "redcap_event_name",
            "redcap_repeat_instrument",
            "redcap_repeat_instance",
        }
        rest = [
            c
            for c in self.columns
            if c not in self.used
            and c not in meta
            and not c.endswith("_complete")
            and "___" not in c
        ]
        if rest:
            shown = ", ".join(rest[:40]) + (f" ... ({len(rest)} in all)" if len(rest) > 40 else "")
            self.L.append(f"# Columns not used (left out of the study): {shown}")


def mapping_template(source, *, format: str = "auto", dictionary=None, sheet=0) -> str:
    """A starter mapping (YAML text with comments) for an export.

    Parameters
    ----------
    source : str or Path
        The export file.
    format, dictionary, sheet
        As for :func:`stseval.importers.read_source`.

    Returns
    -------
    str
        YAML that :func:`stseval.importers.load_mapping` reads once the
        ``TODO`` lines are filled in.
    """
    src = read_source(source, format=format, dictionary=dictionary, sheet=sheet)
    guesses, comments = _item_guesses(src, [str(c) for c in src.frame.columns], set())
    w = _Writer(src, guesses, comments)
    w.people()
    w.wave_and_date()
    w.identifiers()
    w.items()
    w.tail()
    return "\n".join(w.L) + "\n"


def _codes(frame, cols) -> list[str]:
    """Negative whole numbers (-99, -98 ...) found in the item columns: likely missing codes."""
    if not cols:
        return []
    values = pd.unique(frame[cols].to_numpy().ravel())
    found = set()
    for v in values:
        text = str(v).strip()
        if re.fullmatch(r"-\d{1,3}", text):
            found.add(text)
    return sorted(found, key=lambda t: int(t))
