"""Recovery of the dose-response slope, the indirect effect and each individual statement's effect.

Simulates the shipped presets ``dose`` (60% of every effect carried by practice change),
``dose_null`` (practice change carries nothing) and ``individual`` (a skills course for 40%
of the teams; its null with ``null=True``) many times with known truth (``truth.csv``), runs
the kit's estimators and prints bias, Monte Carlo SE of the bias, 95% coverage and the share
of 5% tests that reject (the false-positive rate where the truth is 0).

Usage::

    python validation/dose_recovery.py [REPLICATIONS] [BOOTSTRAP_RESAMPLES]

Default 100 replications and 200 bootstrap resamples per mediation (the kit's default is
1,000; 200 keeps a run near a minute on 2 cores). Results are written to
``validation/DOSE_RESULTS.md`` by hand from the printed table (this script writes nothing).
Separate from ``validation/recovery.py`` (the area estimators).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from stseval import dose
from stseval.individual import evaluate_statement
from stseval.synthetic import StudyDesign, simulate

AREA, OUTCOME = "supervision", "stss_total"


def _truth(study, area, outcome, estimand) -> float:
    t = study.truth
    sel = (t["area"] == area) & (t["outcome"] == outcome) & (t["estimand"] == estimand)
    return float(t.loc[sel, "value"].iloc[0])


def _dose_rows(study, n_boot, seed) -> list[dict]:
    org = dose.org_dose_response(study, AREA, OUTCOME, pooled=True).set_index("estimator")
    med = dose.mediation(study, AREA, OUTCOME, n_boot=n_boot, seed=seed).set_index("estimator")
    wk = dose.worker_dose_response(study, AREA, OUTCOME).set_index("estimator")
    slope = _truth(study, AREA, OUTCOME, "dose_slope")
    out = []
    for name, table, truth in [
        ("dose_org", org, slope),
        ("dose_org_corrected", org, slope),
        ("dose_org_pooled", org, slope),
        ("dose_within", wk, slope),
        ("med_indirect", med, _truth(study, AREA, OUTCOME, "indirect")),
        ("med_direct", med, _truth(study, AREA, OUTCOME, "direct")),
    ]:
        r = table.loc[name]
        out.append(dict(quantity=name, truth=truth, **r[["estimate", "ci_low", "ci_high"]]))
        out[-1]["p_value"] = r["p_value"]
    return out


def _statement_rows(study) -> list[dict]:
    out = []
    for statement in sorted(set(study.programs["statement"])):
        res = evaluate_statement(study, statement, outcomes=None)
        res = res[res["estimator"] == "ancova"]
        for _, r in res.iterrows():
            truth = _truth(study, statement, r["outcome"], "att")
            out.append(
                dict(
                    quantity=f"{statement}: {r['outcome']}",
                    truth=truth,
                    **r[["estimate", "ci_low", "ci_high", "p_value"]],
                )
            )
    return out


def summarize(rows: list[dict], label: str) -> pd.DataFrame:
    d = pd.DataFrame(rows)
    d["err"] = d["estimate"] - d["truth"]
    d["cover"] = (d["ci_low"] <= d["truth"]) & (d["truth"] <= d["ci_high"])
    d["reject"] = d["p_value"] < 0.05
    g = d.groupby("quantity", sort=False)
    out = pd.DataFrame(
        {
            "truth_mean": g["truth"].mean(),
            "bias": g["err"].mean(),
            "mc_se": g["err"].std(ddof=1) / np.sqrt(g.size()),
            "emp_sd": g["estimate"].std(ddof=1),
            "coverage": g["cover"].mean(),
            "reject_5pct": g["reject"].mean(),
            "reps": g.size(),
        }
    )
    out.insert(0, "preset", label)
    return out.reset_index()


def main(reps: int = 100, n_boot: int = 200) -> pd.DataFrame:
    tables = []
    for label, design in [
        ("dose", StudyDesign.preset("dose")),
        ("dose_null", StudyDesign.preset("dose_null")),
    ]:
        rows = []
        for i in range(reps):
            rows += _dose_rows(simulate(design, seed=10_000 + i), n_boot, i)
        tables.append(summarize(rows, label))
    for label, design in [
        ("individual", StudyDesign.preset("individual")),
        ("individual null", StudyDesign.preset("individual", null=True)),
    ]:
        rows = []
        for i in range(reps):
            rows += _statement_rows(simulate(design, seed=20_000 + i))
        tables.append(summarize(rows, label))
    return pd.concat(tables, ignore_index=True)


if __name__ == "__main__":
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    n_boot = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    t0 = time.perf_counter()
    table = main(reps, n_boot)
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(table.round(3).to_string(index=False))
    print(f"{reps} replications, {n_boot} resamples, {time.perf_counter() - t0:.0f} s")
