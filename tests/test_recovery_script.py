"""validation/recovery.py fans its replications out through stseval.parallel.map_tasks.

The same replications through a process pool and on a two-worker Dask LocalCluster
write byte-identical raw files: seeds come from the replication index, never the worker.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

VALIDATION = Path(__file__).resolve().parents[1] / "validation"

pytestmark = [pytest.mark.recovery, pytest.mark.xdist_group("dask")]


@pytest.fixture(scope="module")
def recovery():
    sys.path.insert(0, str(VALIDATION))
    try:
        yield importlib.import_module("recovery")
    finally:
        sys.path.remove(str(VALIDATION))


def test_the_same_replications_on_a_pool_and_a_local_cluster(tmp_path, recovery):
    pool = recovery.run("team_rct", 2, 2, 500, tmp_path / "pool", chunk=3)
    dask = recovery.run("team_rct", 2, 2, 500, tmp_path / "dask", chunk=3, scheduler="local")
    text = pool.read_text()
    assert dask.read_text() == text
    assert text.count("\n") > 4  # every replication wrote its rows
    # a run that was cut off resumes: nothing is simulated twice
    again = recovery.run("team_rct", 2, 2, 500, tmp_path / "pool", chunk=3)
    assert again.read_text() == text
