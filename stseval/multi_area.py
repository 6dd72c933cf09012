"""Organizations that changed several guidance areas at once.

Each area's comparison stays "organizations that changed nothing", but an
organization that changed supervision *and* workload contributes to both areas'
intervention arms, so their effects are not separated.
:func:`area_overlap` says, per area, how many of its organizations also changed
other areas; :func:`joint_areas` fits one model with one indicator per area, a
sensitivity analysis that attributes the change to the areas jointly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _cluster
from ._designrows import (
    blank,
    check_common,
    coef_test,
    first_wave_sd,
    frame,
    numeric,
    standardize,
    t_row,
    wave_order,
)
from ._results import _binary, _check_frame
from .errors import StsevalError, UsageError

__all__ = ["OVERLAP_COLUMNS", "area_overlap", "joint_areas"]

#: Columns of :func:`area_overlap`.
OVERLAP_COLUMNS = ["area", "n_orgs", "n_orgs_other_areas", "share_other_areas", "other_areas"]


def area_overlap(interventions, *, org="org_id", area="area") -> pd.DataFrame:
    """Per area: how many of its organizations also changed other areas.

    Parameters
    ----------
    interventions : DataFrame
        One row per organization and area changed (``interventions.csv``):
        columns ``org`` and ``area``. Not modified.

    Returns
    -------
    DataFrame with :data:`OVERLAP_COLUMNS`, one row per area (sorted):
    ``n_orgs`` organizations that changed the area, ``n_orgs_other_areas`` of
    them that also changed another area, ``share_other_areas`` their share, and
    ``other_areas``, e.g. ``"workload (3), peer_support (1)"`` (organizations
    per other area, most first).
    """
    df = _check_frame(interventions, "interventions", {"org": org, "area": area})
    df = df.dropna().drop_duplicates()
    areas_of = df.groupby(org)[area].apply(set)
    rows = []
    for a in sorted(df[area].unique(), key=str):
        orgs = df.loc[df[area] == a, org].unique()
        others = pd.Series([b for o in orgs for b in areas_of[o] if b != a], dtype=object)
        n_other = sum(len(areas_of[o]) > 1 for o in orgs)
        counts = others.value_counts()
        listed = ", ".join(f"{b} ({n})" for b, n in counts.items())
        rows.append((a, len(orgs), n_other, n_other / len(orgs), listed))
    return pd.DataFrame(rows, columns=OVERLAP_COLUMNS)


def _indicators(df, areas):
    for col in areas:
        df[col] = _binary(df[col], col)
    return df


def joint_areas(
    data,
    *,
    areas,
    y="score",
    wave="wave",
    worker="worker_id",
    cluster="org_id",
    waves=None,
    confidence=0.95,
    se_type="CR3",
) -> pd.DataFrame:
    """One difference-in-differences model with one indicator per area (sensitivity row).

    For each later wave w, OLS on the responses of the first wave and w:

        y = b0 + sum_a c_a A_a + b later + sum_a delta_a A_a x later + e,

    A_a = 1 for organizations that changed area a (an organization that changed
    two areas has two indicators on). delta_a is area a's change beyond the
    comparison organizations (all A_a = 0), holding the other areas' indicators
    fixed, so an organization's change is not counted twice. The areas' effects
    are assumed to add up (no interaction). Cluster-robust SE by ``cluster``
    (``se_type``), t on G - 1 df.

    Parameters
    ----------
    data : DataFrame
        One row per response: ``y``, ``wave``, ``worker``, ``cluster`` and one
        0/1 column per area named in ``areas``. Not modified.
    areas : list of str
        The indicator columns (e.g. ``["supervision", "workload"]``).

    Returns
    -------
    DataFrame, one row per area and later wave, ``estimator = "did_joint_areas"``,
    with an extra column ``area``. An area with fewer than 2 organizations, or
    without comparison organizations, gives a row with a ``note``.
    """
    if isinstance(areas, str) or not list(areas):
        raise UsageError(f"areas must be a non-empty list of 0/1 indicator columns; got {areas!r}")
    areas = list(areas)
    cols = {"y": y, "wave": wave, "worker": worker, "cluster": cluster}
    cols.update({f"areas[{i}]": a for i, a in enumerate(areas)})
    df, confidence, se_type = check_common(data, "data", cols, confidence, se_type)
    df = _indicators(numeric(df, y), areas).dropna().reset_index(drop=True)
    order = wave_order(df, wave, waves)
    sd = first_wave_sd(df, y, wave, order[0])
    rows = []
    for later in order[1:]:
        sub = df[df[wave].isin([order[0], later])]
        rows += _joint_wave(sub, areas, y, wave, later, worker, cluster, se_type, confidence, sd)
    if not rows:
        rows = [blank("did_joint_areas", "not estimable: only one wave", area=a) for a in areas]
    return frame(rows, ("area",))


def _joint_wave(sub, areas, y, wave, later, worker, cluster, se_type, confidence, sd):
    A = sub[areas].to_numpy(float)
    post = (sub[wave] == later).to_numpy(float)
    n_comp = sub.loc[A.sum(axis=1) == 0, cluster].nunique()
    n_by_area = {a: sub.loc[sub[a] == 1, cluster].nunique() for a in areas}
    ok = [a for a in areas if n_by_area[a] >= 2]
    rows = [
        blank(
            "did_joint_areas",
            f"not estimable: {n_by_area[a]} organization(s) changed {a}",
            area=a,
            wave=later,
        )
        for a in areas
        if a not in ok
    ]
    if n_comp < 2 or not ok:
        why = f"not estimable: {n_comp} comparison organization(s) (changed no area)"
        return [blank("did_joint_areas", why, area=a, wave=later) for a in areas]
    idx = [areas.index(a) for a in ok]
    X = np.column_stack([np.ones(len(sub)), A[:, idx], post, A[:, idx] * post[:, None]])
    try:
        fit = _cluster.ols(X, sub[y].to_numpy(float), sub[cluster].to_numpy())
    except StsevalError as exc:
        return [
            blank("did_joint_areas", f"not estimable: {exc}", area=a, wave=later) for a in areas
        ]
    k0 = 2 + len(ok)
    for j, a in enumerate(ok):
        est, se, _, dof = coef_test(fit, k0 + j, se_type)
        r = t_row(est, se, dof, confidence)
        r.update(estimator="did_joint_areas", area=a, wave=later)
        r.update(n_workers=sub[worker].nunique(), n_orgs=sub[cluster].nunique())
        r["method"] = (
            f"OLS y ~ later + one indicator per area ({', '.join(ok)}) x later; {se_type} "
            f"cluster-robust SE by {cluster}, t(G-1)"
        )
        r["note"] = (
            "sensitivity: areas changed together are separated by assuming their effects add up"
        )
        rows.append(standardize(r, sd))
    return rows
