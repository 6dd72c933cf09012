"""Tests of stseval.parallel: the same job gives byte-identical results in this process, in a
process pool and on a two-worker Dask LocalCluster; failures name their task and inputs while
the other tasks finish; every worker computes with one BLAS thread."""

from __future__ import annotations

import os
import warnings

import pytest

import stseval
from stseval import parallel, power
from stseval.errors import UsageError

pytestmark = pytest.mark.xdist_group("parallel")


def square_or_fail(x):
    if x == 3:
        raise ValueError(f"three is not allowed (got {x})")
    return x * x


def blas_threads(_):
    from threadpoolctl import threadpool_info

    pools = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return os.environ.get("OMP_NUM_THREADS"), os.environ.get("OPENBLAS_NUM_THREADS"), pools


@pytest.fixture(scope="module")
def client():
    with parallel.open_scheduler("local", jobs=2) as c:
        yield c


def _power(**kwargs):
    design = stseval.StudyDesign.small()
    with warnings.catch_warnings():
        # The small design's few organizations make some CR2 fits warn; the warning
        # is the same wherever the replication runs and is not what is tested here.
        warnings.simplefilter("ignore", category=stseval.errors.EstimationWarning)
        return power.simulate_power(
            design, area="training", n_reps=4, seed=11, progress=False, **kwargs
        )


def test_simulate_power_is_byte_identical_here_in_a_pool_and_on_a_local_cluster(client):
    here = _power(jobs=1)
    pool = _power(jobs=2, scheduler="processes")
    cluster = _power(client=client)
    assert here["n_valid"].iloc[0] == 4  # the job did real work
    for other in (pool, cluster):
        assert other.to_csv(index=False).encode() == here.to_csv(index=False).encode()
        num = here.select_dtypes("number").to_numpy(dtype=float)
        assert other.select_dtypes("number").to_numpy(dtype=float).tobytes() == num.tobytes()


@pytest.mark.parametrize("scheduler", ["processes", "threads", "cluster"])
def test_results_come_back_in_task_order(scheduler, client):
    tasks = [5, 1, 4, 2, 0, 6]
    kw = {"client": client} if scheduler == "cluster" else {"scheduler": scheduler, "jobs": 2}
    out = parallel.map_tasks(square_or_fail, tasks, progress=False, **kw)
    assert out == [t * t for t in tasks]


@pytest.mark.parametrize("where", ["processes", "cluster"])
def test_a_failing_task_names_itself_and_its_inputs_and_the_others_finish(where, client):
    kw = {"client": client} if where == "cluster" else {"scheduler": "processes", "jobs": 2}
    tasks = [0, 1, 2, 3, 4, 5]
    with pytest.raises(parallel.ParallelTaskError, match=r"squares #3 \(inputs 3\)") as info:
        parallel.map_tasks(square_or_fail, tasks, progress=False, desc="squares", **kw)
    err = info.value
    assert "three is not allowed" in str(err) and "1 of 6 task(s) failed" in str(err)
    assert [r for i, r in enumerate(err.results) if i != 3] == [0, 1, 4, 16, 25]
    returned = parallel.map_tasks(
        square_or_fail, tasks, progress=False, labels=list("abcdef"), errors="return", **kw
    )
    failure = returned[3]
    assert isinstance(failure, parallel.TaskFailure)
    assert (failure.index, failure.label, failure.inputs) == (3, "d", "3")
    assert failure.error.startswith("ValueError")


@pytest.mark.parametrize("where", ["processes", "cluster"])
def test_workers_compute_with_one_blas_thread(where, client):
    kw = {"client": client} if where == "cluster" else {"scheduler": "processes", "jobs": 2}
    out = parallel.map_tasks(blas_threads, range(4), progress=False, **kw)
    for omp, openblas, pools in out:
        assert (omp, openblas) == ("1", "1")
        assert pools and all(n == 1 for n in pools)


def test_blas_env_names_every_library():
    assert set(parallel.BLAS_ENV) >= {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}
    assert set(parallel.BLAS_ENV.values()) == {"1"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scheduler": "cluster"}, "unknown scheduler 'cluster'"),
        ({"scheduler": ""}, "scheduler must be one of"),
        ({"errors": "ignore"}, "errors must be"),
        ({"labels": ["a"]}, "1 labels for 2 tasks"),
        ({"scheduler": "processes", "jobs": 0}, "jobs"),
    ],
)
def test_bad_options_raise_usage_error(kwargs, match):
    with pytest.raises(UsageError, match=match):
        parallel.map_tasks(square_or_fail, [1, 2], progress=False, **kwargs)


def test_no_tasks_give_an_empty_list():
    assert parallel.map_tasks(square_or_fail, [], scheduler="local", progress=False) == []


def test_default_scheduler_is_local_with_dask():
    # dask[distributed] is a dependency of the kit, so the default is a LocalCluster.
    assert parallel.default_scheduler() == "local"
