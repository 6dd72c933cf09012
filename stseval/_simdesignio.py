"""Reading, writing and changing a :class:`~stseval.synthetic.StudyDesign` (its base class).

Kept apart so that ``synthetic.py`` holds the design's fields. Methods here
use ``cls.preset`` (defined on the design class) for the ``base:`` key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from ._simdesign import PRESETS, alias_effects, apply_overrides, deep_merge
from .errors import UsageError

__all__ = ["DesignIO", "OPTIONAL_FIELDS"]

#: Fields written by :meth:`DesignIO.to_dict` only when they differ from their defaults.
OPTIONAL_FIELDS = (
    "mediated_share",
    "practice_change_sd",
    "dose_confounder",
    "instruments",
    "ind_guidance",
    "programs",
)


class DesignIO(BaseModel):
    """I/O methods shared by the simulator's design (see :class:`stseval.synthetic.StudyDesign`)."""

    def to_dict(self) -> dict:
        """Plain mapping (dates as ISO strings, tuples as lists), readable by :meth:`from_dict`.

        The issue-11 fields (:data:`OPTIONAL_FIELDS`) are left out while they
        keep their defaults, so that designs without them write the same
        ``study.yaml`` as before those fields existed (reading fills the defaults).
        """
        data = self.model_dump(mode="json")
        fields = type(self).model_fields
        for name in OPTIONAL_FIELDS:
            if name in data and getattr(self, name) == fields[name].get_default(
                call_default_factory=True
            ):
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data: dict, *, source: str = "design") -> DesignIO:
        """Validate a mapping; fields not given keep the defaults of ``data['base']`` (default)."""
        if not isinstance(data, dict):
            raise UsageError(f"{source} must hold a mapping of design fields")
        data = dict(data)
        base = data.pop("base", "default")
        if base not in PRESETS:
            raise UsageError(f"{source}: base must be one of {', '.join(PRESETS)}; got {base!r}")
        merged = deep_merge(cls.preset(base).to_dict(), alias_effects(data))
        return cls._validated(merged, source)

    @classmethod
    def from_yaml(cls, path: str | Path) -> DesignIO:
        """Read a design YAML file (a mapping of fields; see :meth:`from_dict`)."""
        path = Path(path)
        if not path.is_file():
            raise UsageError(f"design file {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise UsageError(f"design file {path} is not valid YAML: {exc}") from None
        return cls.from_dict(data, source=f"design file {path}")

    def with_overrides(self, overrides: dict[str, Any]) -> DesignIO:
        """A copy with fields changed; keys may be dotted (``effects.supervision.sts``).

        String values are parsed as YAML (``"12"`` -> 12, ``"[2, 3]"`` -> a list),
        so command-line ``--set key=value`` pairs can be passed as they are.
        """
        data = apply_overrides(self.to_dict(), overrides, type(self).model_fields)
        return self._validated(data, "design override")

    @classmethod
    def _validated(cls, data: dict, source: str) -> DesignIO:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            lines = [
                f"{'.'.join(map(str, e['loc'])) or '(design)'}: {e['msg']}" for e in exc.errors()
            ]
            raise UsageError(
                f"{source} is not a valid design:\n  - " + "\n  - ".join(lines)
            ) from None

    def describe(self) -> pd.DataFrame:
        """One row per field: ``field, value, description`` (for notebooks and help text)."""
        data = self.model_dump(mode="json")
        return pd.DataFrame(
            [
                (name, data[name], info.description or "")
                for name, info in type(self).model_fields.items()
            ],
            columns=["field", "value", "description"],
        )
