"""Deprecated alias of :mod:`stseval.columns` (the vocabulary is public now)."""

from __future__ import annotations

import warnings

from .columns import *  # noqa: F403
from .columns import __all__  # noqa: F401

warnings.warn(
    "stseval._columns is deprecated; import stseval.columns instead",
    DeprecationWarning,
    stacklevel=2,
)
