"""Estimation speed: `evaluate_area` on the default study, and MixedLM on 100,000 worker-waves.

Usage: python benchmarks/bench_models.py
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import machine, peak_rss_mb, record  # noqa: E402

import stseval  # noqa: E402
from stseval import models  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def default_study():
    path = ROOT / "data" / "synthetic" / "default"
    if (path / "study.yaml").exists():
        return stseval.Study.from_dir(path)
    return stseval.simulate(stseval.StudyDesign.default(), seed=2026)


def mixed_data(n_workers: int = 50_000, n_orgs: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    org = rng.integers(0, n_orgs, n_workers)
    treated = (org % 2).astype(int)
    u_org = rng.normal(0, 0.25, n_orgs)[org]
    u_w = rng.normal(0, 0.8, n_workers)
    rows = []
    for w, wave in enumerate(["pre", "post"]):
        y = u_org + u_w + 0.2 * treated * w + rng.normal(0, 0.6, n_workers)
        rows.append(
            pd.DataFrame(
                {
                    "worker_id": np.arange(n_workers).astype(str),
                    "org_id": org.astype(str),
                    "treated": treated,
                    "wave": wave,
                    "y": y,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def timed(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    warnings.simplefilter("ignore")
    study = default_study()
    study.scored()  # scoring is shared by all areas; time it apart
    t_one, table = timed(lambda: stseval.evaluate_area(study, "supervision"))
    t_all, all_tables = timed(lambda: stseval.evaluate_all(study), repeat=1)
    long = mixed_data()
    t_mixed, res = timed(lambda: models.mixed(long), repeat=1)
    n_workers = study.workers["worker_id"].nunique()
    body = f"""
Machine: {machine()}. `python benchmarks/bench_models.py` on the default synthetic study
({study.orgs["org_id"].nunique()} organizations, {n_workers:,} workers; scores cached once).

| measure | value |
|---|---|
| `evaluate_area(study, "supervision")` (best of 3; {len(table)} rows) | {t_one:.2f} s |
| `evaluate_all(study)` (7 areas, {len(all_tables)} rows) | {t_all:.2f} s |
| `models.mixed` on {len(long):,} worker-waves (50,000 workers, 200 orgs) | {t_mixed:.2f} s |
| peak memory (process RSS) | {peak_rss_mb():,.0f} MB |

Goal: one area under 3 s, all seven under 15 s.
"""
    record("Estimation", body)
    print(body)


if __name__ == "__main__":
    main()
