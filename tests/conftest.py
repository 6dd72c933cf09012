"""Shared, seeded fixtures.

``small_study`` is simulated once per test session (per xdist worker) from
``StudyDesign.small()``; tests must not modify it (take ``.copy()`` of a
table before changing it). ``small_study_dir`` is the same study written to
a temporary folder, for tests that read a study folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SMALL_SEED = 2026
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def small_study():
    from stseval.synthetic import StudyDesign, simulate

    return simulate(StudyDesign.small(), seed=SMALL_SEED)


@pytest.fixture(scope="session")
def small_study_dir(small_study, tmp_path_factory) -> Path:
    return small_study.to_dir(tmp_path_factory.mktemp("study") / "small")


@pytest.fixture(scope="session")
def shipped_synthetic() -> Path:
    """The committed example studies: ``data/synthetic/{default,small,null}``."""
    return REPO / "data" / "synthetic"
