"""Strict JSON for reports and manifests (torch-free)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["json_safe"]


def json_safe(value: Any) -> Any:
    """A copy ``json.dumps(..., allow_nan=False)`` accepts: non-finite floats (a NaN
    metric, a missing metric's infinite drop, COCO AP of an absent size range) become
    None, numpy scalars Python numbers, paths strings; dict keys become strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return json_safe(value.item())
    return str(value) if isinstance(value, Path) else value
