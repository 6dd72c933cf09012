"""Deprecated alias of :mod:`stseval.validate` (kept for one release).

``stseval.checks.check_study``, ``StudyCheck``, ``study_warnings``,
``arm_wave_counts`` and ``table_counts`` are the functions of
:mod:`stseval.validate` under their old names; using them from outside the kit
issues a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import sys
import warnings

__all__ = [  # noqa: F822 - names resolved by __getattr__
    "StudyCheck",
    "check_study",
    "study_warnings",
    "arm_wave_counts",
    "table_counts",
]


def __getattr__(name: str):
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import validate

    caller = sys._getframe(1).f_globals.get("__name__", "")
    if caller.split(".")[0] != "stseval":
        warnings.warn(
            f"stseval.checks.{name} is deprecated; use stseval.validate.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
    return getattr(validate, name)


def __dir__() -> list[str]:
    return sorted(__all__)
