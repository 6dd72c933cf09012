"""Simulation speed: `stseval.simulate` with 1,000,000 workers x 2 waves and all item answers.

About 21,000 organizations of the default design (3-6 teams of 6-15 workers),
each worker answering the STSS, the ProQOL 5 and the organizational guidance
inventory (86 items) at both waves before attrition, plus the potential
outcomes, the truth and the monthly indicators. Records wall time and peak
memory under "## Simulation" in benchmarks/RESULTS.md.

Usage: python benchmarks/bench_simulate.py [--workers N] [--repeat R]
Goal: under 20 s and 8 GB on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _record import machine, peak_rss_mb, record  # noqa: E402

from stseval.synthetic import StudyDesign, simulate  # noqa: E402


def design_for(n_workers: int) -> StudyDesign:
    """The default design with enough orgs for about ``n_workers`` workers (47.25 per org)."""
    n_orgs = round(n_workers / (4.5 * 10.5))
    per_area = int(n_orgs * 0.9 / 7)
    return StudyDesign.default().with_overrides(
        {"name": "benchmark", "orgs_per_area": per_area, "comparison_orgs": n_orgs - 7 * per_area}
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-record", action="store_true", help="print only")
    args = parser.parse_args(argv)
    design = design_for(args.workers)
    simulate(StudyDesign.small(), seed=0)  # warm up imports and the calibration cache
    baseline_mb = peak_rss_mb()
    load = os.getloadavg()[0]
    times = []
    for rep in range(args.repeat):
        gc.collect()
        t0 = time.perf_counter()
        study = simulate(design, seed=rep)
        times.append(time.perf_counter() - t0)
        shape = (len(study.workers), len(study.responses), study.orgs.shape[0])
        del study
    peak = peak_rss_mb()
    n_workers, n_rows, n_orgs = shape
    cells = n_rows * 86
    body = f"""
Machine: {machine()}. `python benchmarks/bench_simulate.py` — `stseval.simulate` of the
default design scaled to {n_orgs:,} organizations: {n_workers:,} workers x 2 waves
(all 86 items of STSS, ProQOL 5 and the organizational guidance inventory generated for every
worker and wave, plus the no-intervention potential outcomes of the post wave), 15% attrition,
2% item non-response, truth table and {n_orgs * 26:,} org-months of indicators.

| measure | value |
|---|---|
| wall time, best of {len(times)} | {min(times):.1f} s |
| wall times | {", ".join(f"{t:.1f} s" for t in times)} |
| responses kept (rows x 86 items) | {n_rows:,} ({cells:,} cells) |
| item cells per second (best run) | {cells / min(times):,.0f} |
| peak memory (process RSS) | {peak:,.0f} MB (after imports and warm-up: {baseline_mb:,.0f} MB) |
| machine load average at start | {load:.1f} (other jobs running slow the wall time) |

Goal: under 20 s and 8 GB.
"""
    print(body)
    if not args.no_record:
        record("Simulation", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
