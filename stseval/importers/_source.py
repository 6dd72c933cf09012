"""The :class:`Source` every export reader returns (kept apart so readers import no reader)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["Source", "text_frame"]


@dataclass
class Source:
    """An export read as text, with what the source says about it.

    ``frame`` holds the cells as text (NaN = blank) indexed by the line (or
    SPSS case) number a user sees; ``choices`` maps column -> code -> label
    (REDCap choices, SPSS value labels); ``missing_codes`` are codes missing
    in every column (Qualtrics -99, text user-missing values);
    ``missing_ranges`` maps column -> ``(lo, hi, reason)`` SPSS user-missing
    values and ranges; ``encoding`` is the text encoding read.
    """

    path: Path
    format: str
    frame: pd.DataFrame
    part_column: str | None = None
    choices: dict[str, dict[str, str]] = field(default_factory=dict)
    identifier_columns: list[str] = field(default_factory=list)
    missing_codes: dict[str, str] = field(default_factory=dict)
    missing_ranges: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)
    encoding: str | None = None
    form_of: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    checkboxes: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    inputs: list[Path] = field(default_factory=list)
    row_word: str = "line"

    @property
    def name(self) -> str:
        return str(self.path)


def text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as stripped-of-nothing text objects with NaN for blanks."""
    out = frame.astype(object)
    return out.where(frame.notna(), np.nan)
