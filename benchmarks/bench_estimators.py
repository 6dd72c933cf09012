"""Time the ITS (CR3, organization fixed effects) and adjust_p at growing sizes (issue 14).

Run: ``.venv/bin/python benchmarks/bench_estimators.py [n_orgs ...]`` (default 220 440
1100). Prints seconds per call; timings are not asserted anywhere. Before issue 14 the
ITS formed an n x G dummy matrix and k x k blocks per organization (G^3.35 growth).
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from stseval import models


def org_months(n_orgs: int, n_months: int = 24, seed: int = 0) -> pd.DataFrame:
    """Monthly separations for ``n_orgs`` organizations, half with staggered starts."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2022-01-01", periods=n_months, freq="MS")
    org = np.repeat(np.arange(n_orgs), n_months)
    treated = (org < n_orgs // 2).astype(int)
    start = pd.to_datetime(
        np.where(treated == 1, months[8] + pd.to_timedelta((org % 8) * 30, "D"), pd.NaT)
    )
    hc = rng.integers(40, 120, n_orgs)[org]
    return pd.DataFrame(
        dict(
            org_id=org,
            month=np.tile(months, n_orgs),
            headcount=hc,
            separations=rng.poisson(hc * 0.03),
            absence_days=rng.poisson(hc * 21 * 0.04),
            treated=treated,
            start_date=start,
        )
    )


def main(sizes: list[int]) -> None:
    for g in sizes:
        data = org_months(g)
        t = time.perf_counter()
        models.its(data, se_type="CR3")
        print(f"its, {g} organizations: {time.perf_counter() - t:.3f} s")
    p = np.random.default_rng(0).uniform(size=7)
    t = time.perf_counter()
    for _ in range(56):  # about as many calls as evaluate_all makes on 7 areas
        models.adjust_p(p, "holm")
    print(f"adjust_p, 56 calls: {time.perf_counter() - t:.4f} s")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [220, 440, 1100])
