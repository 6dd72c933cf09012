"""One BLAS thread for work made of many small matrix operations.

The estimators call BLAS / LAPACK thousands of times on tiny matrices (scipy's
L-BFGS-B on 3 parameters, 2 x 2 and 5 x 5 products, per-cluster
decompositions). OpenBLAS hands such calls to its thread pool all the same, and
on a busy machine waking those threads costs far more than the arithmetic:
measured on the 2-core test machine under load, one L-BFGS-B run of 3 iterations
took 16 ms with the default 2 BLAS threads and 1.3 ms with one (issue 14).
:func:`one_blas_thread` limits BLAS to one thread for the duration of a block.

``threadpoolctl.threadpool_limits`` looks up the loaded libraries on every call
(about 2 ms); a :class:`threadpoolctl.ThreadpoolController` built once makes
entering the block cost about 0.05 ms, so it is cached (and rebuilt when a BLAS
library was loaded since).
"""

from __future__ import annotations

import contextlib
import sys

__all__ = ["one_blas_thread"]

_CONTROLLER: list = []  # [(modules seen, controller)]


def _controller():
    from threadpoolctl import ThreadpoolController

    seen = ("scipy.linalg" in sys.modules, "scipy.optimize" in sys.modules)
    if not _CONTROLLER or _CONTROLLER[0][0] != seen:
        _CONTROLLER[:] = [(seen, ThreadpoolController())]
    return _CONTROLLER[0][1]


@contextlib.contextmanager
def one_blas_thread():
    """Run the block with BLAS limited to one thread (restored afterwards)."""
    with _controller().limit(limits=1, user_api="blas"):
        yield
