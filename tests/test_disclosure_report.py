"""The tables the report builders publish, attacked by linear programming.

The attacker is written here independently of stseval's disclosure model. For each arm it
splits the staff into atoms by what they did: responded at the first / second wave (r0, r1),
had a primary-outcome score at the first / second wave (s0, s1; a score implies a
response). Its unknowns are each atom's count and each atom's sums of first- and
second-wave scores. It reads every number the builders publish (participant flow with its
percentages, the study's total invited from the overview, outcome summary of the primary
outcome, attrition with its percentages and baseline means), knows that a count shown as
"fewer than 5" lies in 1..4 and one "not shown" is at least 5, and that every score lies in
the range observed in the study. For every published group and every difference between two
nested published groups whose true count is 1..4, it minimises and maximises the count and
the score sums with scipy.optimize.linprog and asserts a range of at least one person and
one score point per person.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

import stseval
from stseval import report
from stseval.areas import primary_outcome

ROOT = Path(__file__).resolve().parents[1]
MIN_CELL = 5
ATOMS = [
    (r0, s0, r1, s1)
    for r0, s0, r1, s1 in itertools.product((0, 1), repeat=4)
    if s0 <= r0 and s1 <= r1
]
ARMS = ("intervention", "comparison")
# published groups as atom predicates
GROUPS = {
    "invited": lambda a: True,
    "responded 0": lambda a: a[0] == 1,
    "responded 1": lambda a: a[2] == 1,
    "scored 0": lambda a: a[1] == 1,
    "scored 1": lambda a: a[3] == 1,
    "analysed": lambda a: a[1] == 1 and a[3] == 1,
    "left": lambda a: a[1] == 1 and a[3] == 0,
}


class Attacker:
    def __init__(self, lo, hi):
        self.idx = {}
        for arm in ARMS:
            for a in ATOMS:
                self.idx[(arm, a, "n")] = len(self.idx)
                if a[1]:
                    self.idx[(arm, a, "B")] = len(self.idx)
                if a[3]:
                    self.idx[(arm, a, "P")] = len(self.idx)
        self.eq, self.eq_b, self.ub, self.ub_b = [], [], [], []
        for (arm, a, kind), i in self.idx.items():  # each score lies in the observed range
            if kind != "n":
                n = self.idx[(arm, a, "n")]
                for sign, bound in ((1, hi), (-1, lo)):
                    row = np.zeros(len(self.idx))
                    row[i], row[n] = sign, -sign * bound
                    self.ub.append(row), self.ub_b.append(0.0)

    def vec(self, arms, group, kind="n"):
        v = np.zeros(len(self.idx))
        for arm in arms:
            for a in ATOMS:
                if GROUPS[group](a) and (arm, a, kind) in self.idx:
                    v[self.idx[(arm, a, kind)]] = 1.0
        return v

    def count(self, arms, group, value, state):
        c = self.vec(arms, group)
        if isinstance(value, float) and math.isnan(value):
            if state.startswith("fewer than"):
                self.ub += [c, -c]
                self.ub_b += [MIN_CELL - 1, -1]
            else:
                self.ub.append(-c), self.ub_b.append(-MIN_CELL)
        else:
            self.eq.append(c), self.eq_b.append(float(value))

    def mean(self, arm, group, kind, value):
        if not (isinstance(value, float) and math.isnan(value)):
            self.eq.append(self.vec([arm], group, kind) - value * self.vec([arm], group))
            self.eq_b.append(0.0)

    def ratio(self, arm, top, base, pct):
        if not (isinstance(pct, float) and math.isnan(pct)):
            self.eq.append(100 * self.vec([arm], top) - pct * self.vec([arm], base))
            self.eq_b.append(0.0)

    def range_of(self, c):
        out = []
        for sign in (1, -1):
            res = linprog(
                sign * c,
                A_ub=np.array(self.ub),
                b_ub=self.ub_b,
                A_eq=np.array(self.eq),
                b_eq=self.eq_b,
                bounds=[(0, None)] * len(self.idx),
                method="highs",
            )
            assert res.status in (0, 3), res.message  # the truth is always feasible
            out.append(sign * res.fun if res.status == 0 else -sign * math.inf)
        return out


def _state(note, col="workers"):
    for part in str(note).split("; "):
        if part.startswith(col + ": "):
            return part.split(": ", 1)[1]
    return ""


def _true_atoms(study, area, outcome):
    if area is None:
        changed = set(study.interventions["org_id"])
        org_arm = {
            o: ("intervention" if o in changed else "comparison") for o in study.orgs["org_id"]
        }
    else:
        a = stseval.reshape.arms(study, area)
        org_arm = dict(zip(a["org_id"], a["arm"], strict=True))
    w0, w1 = study.waves[:2]
    resp = study.responses
    sc = study.scored()
    r = {w: set(resp.loc[resp["wave"] == w, "worker_id"]) for w in (w0, w1)}
    s = {
        w: sc.loc[(sc["wave"] == w) & sc[outcome].notna()].set_index("worker_id")[outcome]
        for w in (w0, w1)
    }
    truth = {}
    for wid, org in zip(study.workers["worker_id"], study.workers["org_id"], strict=True):
        if org not in org_arm:
            continue
        a = (int(wid in r[w0]), int(wid in s[w0].index), int(wid in r[w1]), int(wid in s[w1].index))
        key = (org_arm[org], a)
        t = truth.setdefault(key, {"n": 0, "B": 0.0, "P": 0.0})
        t["n"] += 1
        t["B"] += float(s[w0].get(wid, 0.0)) if a[1] else 0.0
        t["P"] += float(s[w1].get(wid, 0.0)) if a[3] else 0.0
    return truth


def _attack(study, area):
    outcome = primary_outcome(study)
    y = pd.to_numeric(study.scored()[outcome], errors="coerce").dropna()
    att = Attacker(float(y.min()), float(y.max()))
    flow = report.participant_flow(study, area)
    summary = (
        report.outcome_summary(study, area) if area else report.protected_tables(study).summary
    )
    attrition, _ = (
        report.attrition_summary(study, area)
        if area
        else (report.protected_tables(study).attrition, "")
    )
    w0, w1 = study.waves[:2]
    stage = _stages(study)
    for r in flow.to_dict("records"):
        att.count([r["arm"]], stage[r["stage"]], r["workers"], _state(r["note"]))
        att.ratio(r["arm"], stage[r["stage"]], "invited", r["pct_of_invited"])
    if area is None:
        total = report.protected_tables(study).invited_total
        if not math.isnan(total):
            att.eq.append(att.vec(ARMS, "invited")), att.eq_b.append(total)
    for r in summary[summary["outcome"] == outcome].to_dict("records"):
        g, kind = ("scored 0", "B") if r["wave"] == w0 else ("scored 1", "P")
        if r["wave"] not in (w0, w1):
            continue
        att.count([r["arm"]], g, r["workers"], _state(r["note"]))
        att.mean(r["arm"], g, kind, r["mean"])
        if math.isnan(r["workers"]) or math.isnan(r["mean"]):  # the t interval's width gives n
            assert math.isnan(r["sd"]) and math.isnan(r["ci_low"])
    for r in attrition.to_dict("records"):
        arm = r["arm"]
        att.count(
            [arm], "scored 0", r["workers_baseline"], _state(r["note"], "workers at baseline")
        )
        att.count(
            [arm], "analysed", r["workers_followed"], _state(r["note"], "workers followed up")
        )
        att.count([arm], "left", r["workers_left"], _state(r["note"], "workers who left"))
        att.ratio(arm, "left", "scored 0", r["attrition_pct"])
        att.mean(arm, "analysed", "B", r["pre_mean_completers"])
        att.mean(arm, "left", "B", r["pre_mean_dropouts"])
    truth = _true_atoms(study, area, outcome)
    found, small = [], 0
    for arm in ARMS:
        pairs = [(g, None) for g in GROUPS] + [
            (a, b)
            for a, b in itertools.permutations(GROUPS, 2)
            if all(GROUPS[a](x) or not GROUPS[b](x) for x in ATOMS)  # b inside a
        ]
        for big, sub in pairs:
            c = att.vec([arm], big) - (att.vec([arm], sub) if sub else 0)
            members = [x for x in ATOMS if GROUPS[big](x) and not (sub and GROUPS[sub](x))]
            n_true = sum(truth.get((arm, x), {"n": 0})["n"] for x in members)
            if not 0 < n_true < MIN_CELL:
                continue
            small += 1
            lo, hi = att.range_of(c)
            if hi - lo < 1 - 1e-6:
                found.append(f"{arm} {big} minus {sub}: count in [{lo:.2f}, {hi:.2f}]")
            for kind, flag in (("B", 1), ("P", 3)):
                if all(x[flag] for x in members):
                    s_vec = att.vec([arm], big, kind) - (att.vec([arm], sub, kind) if sub else 0)
                    lo, hi = att.range_of(s_vec)
                    if hi - lo < 1.0 * n_true - 1e-6:
                        found.append(f"{arm} {big} minus {sub}: {kind} in [{lo:.1f}, {hi:.1f}]")
    return found, small, (flow, summary, attrition)


def _tiny(seed):
    design = stseval.StudyDesign.small().model_copy(
        update={
            "name": f"tiny-{seed}",
            "areas": ("supervision", "training"),
            "teams_per_org": (1, 2),
            "workers_per_team": (2, 6),
            "comparison_orgs": 3,
            "item_nonresponse": 0.05,
        }
    )
    return stseval.simulate(design, seed=seed)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_attack_on_published_tables_of_tiny_random_studies_finds_nothing(seed):
    study = _tiny(seed)
    small_total = 0
    for area in (None, "supervision"):
        found, small, tables = _attack(study, area)
        assert found == [], (seed, area)
        small_total += small
        for t in tables:  # no count 1..4 anywhere
            for col in [c for c in t.columns if c.startswith("workers")]:
                shown = pd.to_numeric(t[col], errors="coerce").dropna()
                assert not ((shown > 0) & (shown < MIN_CELL)).any(), (seed, area, col)
    assert small_total > 0  # the attack had something to look for


def test_attack_on_the_shipped_small_study_finds_nothing():
    study = stseval.Study.from_dir(ROOT / "data" / "synthetic" / "small")
    found, small, _ = _attack(study, None)
    assert found == [] and small > 0


def _stages(study) -> dict:
    """Flow stage as printed -> the attacker's population name."""
    w0, w1 = study.waves[:2]
    return {
        "invited": "invited",
        f"responded {w0}": "responded 0",
        f"responded {w1}": "responded 1",
        "analysed": "analysed",
    }


def test_attacker_breaks_the_old_per_table_suppression():
    """Not toothless: publishing the exact flow (min_cell 1) gives the small groups away."""
    study = _tiny(11)
    exact = report.participant_flow(study, None, min_cell=1)
    att = Attacker(0.0, 100.0)
    stage = _stages(study)
    for r in exact.to_dict("records"):
        att.count([r["arm"]], stage[r["stage"]], r["workers"], "")
    outcome = primary_outcome(study)
    truth = _true_atoms(study, None, outcome)
    pinned = 0
    for arm in ARMS:
        for big, sub in (("responded 1", "analysed"), ("invited", "responded 1")):
            members = [x for x in ATOMS if GROUPS[big](x) and not GROUPS[sub](x)]
            n_true = sum(truth.get((arm, x), {"n": 0})["n"] for x in members)
            lo, hi = att.range_of(att.vec([arm], big) - att.vec([arm], sub))
            pinned += (0 < n_true < MIN_CELL) and hi - lo < 1e-6
    assert pinned >= 1


def test_run_audit_is_written_and_fails_closed(tmp_path, monkeypatch):
    study = _tiny(12)
    path = report.write_run_audit(study, tmp_path, areas=["supervision"])
    audit = pd.read_csv(path)
    assert list(audit.columns) == ["table", "cell", "rule"]
    assert audit["table"].str.startswith("supervision: ").any()
    assert audit["rule"].str.startswith("checked").any()
    from stseval import _report_disclosure as rd
    from stseval.disclosure import DisclosureError

    def refuse(*args, **kwargs):
        raise DisclosureError("cannot protect every small cell", ["x"])

    monkeypatch.setattr(rd, "protect_tables", refuse)
    monkeypatch.setattr(rd, "_CACHE", {})
    (tmp_path / "again").mkdir()
    with pytest.raises(DisclosureError):
        report.write_run_audit(study, tmp_path / "again", areas=["supervision"])
    assert not (tmp_path / "again" / "disclosure_audit.csv").exists()
