"""Do the estimators recover the truth? Simulation study for every study design (issues 10, 11).

For each preset (``default``, ``selected`` = default with self-selection on
baseline STS, ``single_org``, ``anonymous``, ``coded``, ``three_wave``,
``staggered``, ``team_rct``, ``dose``, ``individual``) and replication r:
simulate the design with seed = base + r, estimate with the estimators the
design supports (:func:`_designs.estimate_design`, one function per design),
and compare each estimate with the simulator's truth (``truth.csv``: ``att``
per area, outcome, later wave and start cohort; ``dose_slope``, ``indirect``,
``direct`` for the dose model). The same is done under the null version of the
design (``StudyDesign.preset(name, null=True)``: every effect 0; for ``dose``
the preset ``dose_null``: practice change carries nothing), whose rejection
rate at the 5% level is the false-positive rate.

Per preset x null x estimator x outcome x wave x cohort: bias (raw and in
baseline-SD units: the pooled within-arm SD of the first-wave scores), RMSE,
95% CI coverage, rejection rate (p < 0.05) and Monte Carlo SEs.

Usage::

    python validation/recovery.py --designs team_rct --reps 200 --jobs 2   # one preset
    python validation/recovery.py --designs team_rct --reps 1000 --scheduler tcp://host:8786
    python validation/recovery.py --report                                  # merge, write MD

Each run appends its replications to ``validation/_out/<preset>.csv`` in chunks
(a cut-off run keeps what finished); ``--report`` summarizes every raw file
into ``validation/recovery_summary.csv`` and ``validation/RESULTS.md``.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one BLAS thread per worker (inherited by the pool)

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from contextlib import nullcontext  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _designs import EST_COLUMNS, KEYS, estimate_design, set_outcomes  # noqa: E402

PRESETS = [
    "default",
    "selected",
    "single_org",
    "anonymous",
    "coded",
    "three_wave",
    "staggered",
    "team_rct",
    "dose",
    "individual",
]
#: Area evaluated per preset (the one every preset changes; staff outcomes + practice).
AREA = "supervision"
#: Self-selection strength of the ``selected`` variant (log-odds per SD of baseline STS).
SELECTION = 1.0


def make_design(preset: str, null: bool):
    """The StudyDesign of a preset (``selected``: default + selection; dose null: dose_null)."""
    import stseval

    if preset == "selected":
        design = stseval.StudyDesign.preset("default").model_copy(
            update={"selection_strength": SELECTION, "name": "synthetic-selected"}
        )
        return design.nullified() if null else design
    if preset == "dose" and null:
        return stseval.StudyDesign.preset("dose_null")
    return stseval.StudyDesign.preset(preset, null=null)


def truth_frame(study) -> pd.DataFrame:
    """``truth.csv`` with blank waves filled (first later wave) and blank cohorts as ''."""
    t = study.truth.copy()
    waves = list(study.design.waves)
    if "wave" not in t:
        t["wave"] = None
    t["wave"] = t["wave"].where(t["wave"].notna(), waves[1])
    t["cohort"] = t["cohort"].fillna("") if "cohort" in t else ""
    return t.rename(columns={"value": "truth"})[
        ["area", "outcome", "estimand", "wave", "cohort", "truth"]
    ]


def _overall_truth(est: pd.DataFrame, truth: pd.DataFrame) -> pd.Series:
    """Truth of att_overall: sum_g n_g mean_{t >= g} ATT(g, t) / sum_g n_g (n_g: workers)."""
    out = pd.Series(np.nan, index=est.index)
    if "cohort_sizes" not in est:
        return out
    att = truth[(truth["estimand"] == "att") & (truth["cohort"] != "")]
    for idx, row in est[est["estimand"] == "att_overall"].iterrows():
        sizes = dict(kv.split("=") for kv in str(row["cohort_sizes"]).split(";") if "=" in kv)
        t = att[(att["area"] == row["area"]) & (att["outcome"] == row["outcome"])]
        theta = t.groupby("cohort")["truth"].mean()  # the truth has rows for t >= g only
        w = pd.Series({g: float(n) for g, n in sizes.items() if g in theta.index})
        if len(w):
            out[idx] = float((theta[w.index] * w).sum() / w.sum())
    return out


def attach_truth(est: pd.DataFrame, study) -> pd.DataFrame:
    """The estimates with the truth of the estimand each row targets (``truth``)."""
    truth = truth_frame(study)
    waves = list(study.design.waves)
    e = est.copy()
    e["wave"] = e["wave"].where(e["wave"].notna(), waves[1]).astype(str)
    e["cohort"] = e["cohort"].where(e["cohort"].notna(), "").astype(str)
    e = e.merge(truth, on=["area", "outcome", "estimand", "wave", "cohort"], how="left")
    overall = _overall_truth(e, truth)
    e["truth"] = e["truth"].where(e["estimand"] != "att_overall", overall)
    return e


def one_replication(task) -> pd.DataFrame:
    """Simulate one study of ``preset`` (seed), estimate, and join the truth."""
    preset, null, seed = task
    import stseval

    study = stseval.simulate(make_design(preset, null), seed=seed)
    est = attach_truth(estimate_design(study, preset, AREA), study)
    est.insert(0, "seed", seed)
    est.insert(0, "null", bool(null))
    est.insert(0, "preset", preset)
    return est.drop(columns=["cohort_sizes"], errors="ignore")


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Bias, RMSE, coverage, rejection rate per preset x null x estimator x outcome x wave x cohort.

    ``bias_sd`` = mean((estimate - truth) / baseline_sd); ``coverage`` = share
    of intervals with ci_low <= truth <= ci_high; ``rejection_rate`` = share
    with p < 0.05 (the false-positive rate where ``mean_truth`` is 0);
    ``mcse_bias_sd`` and ``mcse_coverage`` are Monte Carlo SEs.
    """
    r = results.dropna(subset=["estimate", "truth"]).copy()
    r["error"] = r["estimate"] - r["truth"]
    r["error_sd"] = r["error"] / r["baseline_sd"]
    covered = (r["ci_low"] <= r["truth"]) & (r["truth"] <= r["ci_high"])
    has_ci = r["ci_low"].notna() & r["ci_high"].notna()
    r["covered"] = np.where(has_ci, covered.astype(float), np.nan)
    r["rejected"] = np.where(r["p_value"].notna(), (r["p_value"] < 0.05).astype(float), np.nan)
    for col in ("wave", "cohort"):
        r[col] = r[col].astype(object).where(r[col].notna(), "").astype(str)
    r.loc[r["estimand"] == "att_overall", "wave"] = "all"  # averages over the later waves
    g = r.groupby(KEYS, sort=False, dropna=False)
    out = pd.DataFrame(
        {
            "reps": g.size(),
            "mean_truth": g["truth"].mean(),
            "bias": g["error"].mean(),
            "bias_sd": g["error_sd"].mean(),
            "mcse_bias_sd": g["error_sd"].std() / np.sqrt(g.size()),
            "rmse": np.sqrt(g["error"].apply(lambda e: float(np.mean(e**2)))),
            "rmse_sd": np.sqrt(g["error_sd"].apply(lambda e: float(np.mean(e**2)))),
            "coverage": g["covered"].mean(),
            "rejection_rate": g["rejected"].mean(),
        }
    ).reset_index()
    n_ci = g["covered"].count().to_numpy()
    out["mcse_coverage"] = np.sqrt(out["coverage"] * (1 - out["coverage"]) / n_ci)
    out["truth_zero"] = out["mean_truth"].abs() < 1e-9
    return out


def run(
    preset: str,
    reps: int,
    jobs: int,
    seed: int,
    out_dir: Path,
    chunk: int = 20,
    *,
    scheduler: str | None = None,
    client=None,
) -> Path:
    """Run ``reps`` effect and ``reps`` null replications; append to ``out_dir/<preset>.csv``.

    The replications fan out through :func:`stseval.parallel.map_tasks` (``scheduler``:
    ``processes``, ``local`` for a Dask LocalCluster, or a Dask address; ``client``: an
    open one), ``chunk`` studies at a time, each chunk appended as soon as it is done and
    in seed order, so the file does not depend on which worker ran what. A replication's
    seed is ``seed + r``, never the worker's.
    """
    from stseval.parallel import map_tasks, open_scheduler

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{preset}.csv"
    done = set()
    if path.exists():
        prev = pd.read_csv(path, usecols=["null", "seed"])
        done = set(zip(prev["null"].astype(bool), prev["seed"], strict=True))
    tasks = [
        (preset, null, seed + i)
        for i in range(reps)
        for null in (False, True)
        if (null, seed + i) not in done
    ]
    if scheduler not in (None, "processes") or client is not None:
        _ship_to_dask_workers()
    t0 = time.perf_counter()
    opened = open_scheduler(scheduler, jobs=jobs) if client is None else nullcontext(client)
    with opened as runner:
        for start in range(0, len(tasks), chunk):
            part = tasks[start : start + chunk]
            frames = map_tasks(
                one_replication,
                part,
                client=runner,
                jobs=jobs,
                progress=False,
                labels=[f"{p} {'null' if n else 'effect'} seed {s}" for p, n, s in part],
            )
            frame = pd.concat(frames, ignore_index=True)
            frame.to_csv(path, mode="a", header=not path.exists(), index=False)
            k = start + len(part)
            rate = (time.perf_counter() - t0) / k
            print(f"{preset}: {k}/{len(tasks)} studies, {rate:.2f} s each", flush=True)
    return path


def _ship_to_dask_workers() -> None:
    """Dask workers cannot import this folder's modules: send their code with the tasks."""
    import _designs
    import cloudpickle

    cloudpickle.register_pickle_by_value(_designs)
    if __name__ != "__main__":  # imported (tests): the functions of this module too
        cloudpickle.register_pickle_by_value(sys.modules[__name__])


def load_results(out_dir: Path) -> pd.DataFrame:
    """Every raw replication file in ``out_dir``, concatenated."""
    files = sorted(out_dir.glob("*.csv"))
    frames = [pd.read_csv(f, dtype={"wave": str, "cohort": str}) for f in files]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=EST_COLUMNS)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--designs", default=",".join(PRESETS))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument(
        "--scheduler",
        default="processes",
        help="processes (this machine, default), local (a Dask LocalCluster) or a Dask "
        "scheduler address (tcp://host:8786)",
    )
    p.add_argument("--seed", type=int, default=10_000)
    p.add_argument("--out-dir", default=str(HERE / "_out"))
    p.add_argument("--report", action="store_true", help="summarize the raw files, write MD")
    p.add_argument("--all-outcomes", action="store_true", help="ProQOL scales besides STSS")
    args = p.parse_args(argv)
    set_outcomes(args.all_outcomes)
    out_dir = Path(args.out_dir)
    if not args.report:
        for preset in args.designs.split(","):
            if preset not in PRESETS:
                p.error(f"unknown design {preset!r}; choose from {', '.join(PRESETS)}")
            t0 = time.perf_counter()
            run(preset, args.reps, args.jobs, args.seed, out_dir, scheduler=args.scheduler)
            took = time.perf_counter() - t0
            print(f"{preset}: {took:.0f} s", flush=True)
            with open(out_dir / "times.tsv", "a") as fh:
                fh.write(f"{preset}\t{args.reps}\t{args.jobs}\t{took:.0f}\n")
        return 0
    from _report import write_report

    summary = summarize(load_results(out_dir))
    summary.to_csv(HERE / "recovery_summary.csv", index=False, float_format="%.4f")
    write_report(summary, HERE / "RESULTS.md", command=COMMAND, timing=_timing(out_dir))
    return 0


#: How RESULTS.md was produced (the invocations of this run; a killed run resumes where it was).
COMMAND = (
    "cd validation; python recovery.py --designs team_rct,single_org,anonymous,three_wave,"
    "coded,staggered --reps 200 --jobs 2` (at the same time `python recovery.py --designs "
    "dose,individual --reps 200 --jobs 1`, then `--designs selected --reps 40 --jobs 1`, "
    "resumed with `--reps 200 --jobs 2`, and `--designs default --reps 200 --jobs 2`), then "
    "`python recovery.py --report"
)


def _timing(out_dir: Path) -> str:
    """Wall-clock run time per preset (summed over resumed invocations), workers used."""
    path = out_dir / "times.tsv"
    if not path.exists():
        return ""
    t = pd.read_csv(path, sep="\t", names=["preset", "reps", "jobs", "seconds"])
    t = t.groupby("preset", sort=False).agg(
        reps=("reps", "max"), jobs=("jobs", "max"), seconds=("seconds", "sum")
    )
    parts = [
        f"{name}: {r.seconds / 60:.1f} min with {r.jobs} worker(s)" for name, r in t.iterrows()
    ]
    return (
        "Wall-clock time per preset (effect + null studies; a shared 2-core machine with a "
        "load average near 12, so these are upper bounds): " + "; ".join(parts) + "."
    )


if __name__ == "__main__":
    sys.exit(main())
