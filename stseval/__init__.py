"""stseval: evaluate programs that protect staff from secondary traumatic stress.

A study folder goes in, tidy estimates and shareable reports come out. The
public entry points are re-exported here; each lives in a module about one
idea (see ``DESIGN.md``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# Public name -> module that defines it. Imported lazily so that `import stseval`
# stays fast (statsmodels and matplotlib are only loaded when needed).
_EXPORTS = {
    "StsevalError": "stseval.errors",
    "InstrumentDefinitionError": "stseval.errors",
    "DataValidationError": "stseval.errors",
    "NotebookRunError": "stseval.errors",
    "UsageError": "stseval.errors",
    "score": "stseval.scoring",
    "load_instrument": "stseval.instruments",
    "list_instruments": "stseval.instruments",
    "Instrument": "stseval.instruments",
    "Study": "stseval.study",
    "StudyDesign": "stseval.synthetic",
    "simulate": "stseval.synthetic",
    "evaluate_area": "stseval.evaluate",
    "evaluate_all": "stseval.evaluate",
    "evaluate_statement": "stseval.individual",
}

#: Submodules reachable as attributes (``stseval.reliability.alpha``) without an import.
_SUBMODULES = {
    "areas",
    "instruments",
    "scoring",
    "reliability",
    "study",
    "synthetic",
    "importers",
    "effects",
    "models",
    "missing_data",
    "evaluate",
    "power",
    "privacy",
    "plots",
    "report",
    "pipeline",
    "datadict",
    "checks",
    "cli",
    "errors",
    "columns",
    "validate",
    "reshape",
    "design",
    "verdict",
    "formatting",
    "disclosure",
    "docx_report",
    "dose",
    "factor",
    "individual",
    "linking",
    "staggered",
    "no_comparison",
    "cross_section",
    "waves",
    "teams",
    "multi_area",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value = import_module(f"stseval.{name}")
        globals()[name] = value
        return value
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'stseval' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, *_SUBMODULES])
