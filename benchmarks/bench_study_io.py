"""Load time of a 1,000,000-worker study folder: Parquet against CSV (issue 14 item 3).

Builds the tables directly (2,000 organizations, 1,000,000 workers, two waves of
the STSS with 20% attrition), writes the folder both ways with ``Study.to_dir``
and times ``Study.from_dir`` (with and without validation) on each. Run:
``python benchmarks/bench_study_io.py [n_workers]``. Not a test.

Measured 2026-11-30 on the shared 2-core machine (other jobs running), 1,000,000
workers, 1,800,064 responses::

    csv      131.3 MB, write 22.7 s, read 11.9 s, read+validate 35.4 s
    parquet   16.2 MB, write  7.4 s, read  1.5 s, read+validate 17.9 s

Validation (IDs, references, dates, item ranges through ``stseval.score``) is
most of a validated Parquet load; ``from_dir(..., validate=False)`` skips it for
folders the kit wrote itself.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from stseval.study import Study


def build(n_workers: int, seed: int = 1) -> Study:
    rng = np.random.default_rng(seed)
    n_orgs = max(2, n_workers // 500)
    orgs = [f"O{i:05d}" for i in range(n_orgs)]
    org_of = rng.integers(0, n_orgs, n_workers)
    team_of = rng.integers(0, 5, n_workers)
    wid = np.array([f"W{i:07d}" for i in range(n_workers)])
    workers = pd.DataFrame(
        {
            "worker_id": wid,
            "org_id": np.array(orgs)[org_of],
            "team_id": [f"{orgs[o]}-T{t}" for o, t in zip(org_of, team_of, strict=True)],
        }
    )
    stay = rng.random(n_workers) < 0.8
    ids = np.concatenate([wid, wid[stay]])
    waves = np.array(["pre"] * n_workers + ["post"] * int(stay.sum()))
    dates = np.where(waves == "pre", "2024-03-01", "2025-03-01")
    items = rng.integers(1, 6, size=(len(ids), 17)).astype("int8")
    responses = pd.DataFrame({"worker_id": ids, "wave": waves, "date": dates})
    for j in range(17):
        responses[f"stss_{j + 1:02d}"] = pd.array(items[:, j], dtype="Int8")
    treated = orgs[: n_orgs // 2]
    return Study.from_tables(
        {"name": "bench", "waves": ["pre", "post"], "instruments": ["stss"], "min_cell": 5},
        workers=workers,
        responses=responses,
        orgs=pd.DataFrame({"org_id": orgs, "name": orgs, "size": 600}),
        interventions=pd.DataFrame(
            {"org_id": treated, "area": "policies", "start_date": "2024-06-01"}
        ),
        validate=False,
    )


def _time(folder: Path, validate: bool) -> float:
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, message=".*organization")
        Study.from_dir(folder, validate=validate)
    return time.perf_counter() - start


def main(n_workers: int = 1_000_000) -> None:
    study = build(n_workers)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("csv", "parquet"):
            folder = Path(tmp) / fmt
            t0 = time.perf_counter()
            study.to_dir(folder, format=fmt)
            write = time.perf_counter() - t0
            size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
            fast, full = _time(folder, False), _time(folder, True)
            print(
                f"{fmt:8s} {n_workers} workers, {len(study.responses)} responses: "
                f"{size:7.1f} MB, write {write:5.1f} s, read {fast:5.1f} s, "
                f"read+validate {full:5.1f} s"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
