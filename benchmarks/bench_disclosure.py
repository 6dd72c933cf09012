"""Disclosure control's linear programs: the kit's solver against the one it replaced.

Times, on ``data/synthetic/default`` (70 organizations, seven areas), what issue 14 measured:
``write_run_audit`` over every area (the funder report's tables and each area's flow,
summary and attrition, protected together) and one area notebook's
``report.participant_flow``. "before" is :class:`stseval._disclosure_reference.ReferenceSystem`
(dense matrices per hidden set, a cold ``scipy.optimize.linprog`` per bound, no shortcut:
the kit's solver until issue 14); "after" is :class:`stseval._disclosure_lp.LinearSystem`
(two kept HiGHS models, warm starts, certificates). Both runs must give the same audit
(checked here, byte for byte). Wall and CPU seconds are both recorded: the machine is
shared, and CPU time is what the change saves whatever the load. Writes the "Disclosure"
section of ``benchmarks/RESULTS.md``. Run ``python benchmarks/bench_disclosure.py``
(about 40 s on an idle machine). Not a test.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _record import machine, record  # noqa: E402

import stseval._report_disclosure as report_disclosure  # noqa: E402
from stseval import disclosure, report  # noqa: E402
from stseval._disclosure_lp import LinearSystem  # noqa: E402
from stseval._disclosure_reference import ReferenceSystem  # noqa: E402
from stseval.areas import AREA_KEYS  # noqa: E402
from stseval.study import Study  # noqa: E402

STUDY = Path(__file__).resolve().parents[1] / "data" / "synthetic" / "default"
AREA = "supervision"


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _counting(cls):
    """``cls`` with a count of its linear programs."""

    class Counted(cls):
        solves = 0

        def _optimum(self, var, sign):
            type(self).solves += 1
            return super()._optimum(var, sign)

    return Counted


def _run(study, cls, what):
    """(wall s, CPU s, LPs, CPU s in protect_tables, result) of ``what`` with ``cls`` as the
    reader's system."""
    counted = _counting(cls)
    disclosure.LinearSystem = counted
    report_disclosure._CACHE.clear()
    inside = [0.0]

    def timed(*args, **kwargs):
        start = time.process_time()
        try:
            return disclosure.protect_tables(*args, **kwargs)
        finally:
            inside[0] += time.process_time() - start

    report_disclosure.protect_tables = timed
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        result = what(study)
    finally:
        disclosure.LinearSystem = LinearSystem
        report_disclosure.protect_tables = disclosure.protect_tables
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall, cpu, counted.solves, inside[0], result


def _audit(study):
    with tempfile.TemporaryDirectory() as tmp:
        path = report_disclosure.write_run_audit(study, tmp, areas=list(AREA_KEYS))
        return Path(path).read_bytes()


def _flow(study):
    return report.participant_flow(study, AREA)


def main() -> None:
    study = Study.from_dir(STUDY)
    study.scored()  # scoring is not timed
    loads = {"start": _load()}
    rows = []
    for label, what in (("write_run_audit, 7 areas", _audit), (f"participant_flow, {AREA}", _flow)):
        before = _run(study, ReferenceSystem, what)
        loads[f"after before-run of {label}"] = _load()
        after = _run(study, LinearSystem, what)
        loads[f"after after-run of {label}"] = _load()
        same = before[4] == after[4] if isinstance(before[4], bytes) else before[4].equals(after[4])
        rows.append((label, before, after, same))
        print(label, before[:4], after[:4], "same" if same else "DIFFERENT", flush=True)
    body = [
        f"Machine: {machine()}; load average (1/5/15 min) {loads}. "
        "`python benchmarks/bench_disclosure.py` on `data/synthetic/default` (70 organizations). "
        "Before: dense matrices and a cold `scipy.optimize.linprog` per bound "
        "(`ReferenceSystem`, the solver until issue 14). After: two kept HiGHS models "
        "(highspy), warm starts, certificates from vertices already found.",
        "",
        "| what | before wall / CPU | after wall / CPU | speed-up (CPU) "
        "| CPU in protect_tables before / after | LPs before / after | same output |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, b, a, same in rows:
        body.append(
            f"| {label} | {b[0]:.2f} / {b[1]:.2f} s | {a[0]:.2f} / {a[1]:.2f} s "
            f"| {b[1] / a[1]:.1f}x | {b[3]:.2f} / {a[3]:.2f} s ({b[3] / a[3]:.0f}x) "
            f"| {b[2]:,} / {a[2]:,} | {same} |"
        )
    body += [
        "",
        "Issue 14 measured before on an idle machine (load ~1): write_run_audit 21.8 s, "
        "participant_flow 4.7 s. The code before this change ran 2,280 `linprog` calls in "
        "write_run_audit here (1,140 bounds, both ends each); `ReferenceSystem` skips the "
        "lower end of a count whose upper end alone is needed. Target: 10x. What is not in "
        "protect_tables is building the populations and tables from the study "
        "(`_report_disclosure`).",
    ]
    record("Disclosure", "\n".join(body))


if __name__ == "__main__":
    main()
