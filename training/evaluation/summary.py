"""Markdown tables of metrics for logs, READMEs and the CLI."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Union

from ._base import Metrics

MetricsLike = Union[Metrics, Mapping[str, Any]]


def _format(value: Any, digits: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def summarize(metrics: Mapping[str, MetricsLike], digits: int = 4) -> str:
    """A Markdown table with one ``| task | metric | value |`` row per scalar metric.

    Tasks have different metrics (12 COCO stats, 8 depth errors, ...), so the table is
    long rather than wide: it stays readable in a terminal and greppable in logs.

    Args:
        metrics: task key → metrics, as a result object (its ``as_dict()`` is used) or a
            plain ``{name: value}`` dict. Order is kept; NaN shows as ``n/a``.
        digits: decimals of float values.

    Returns:
        The table, ending with a newline.
    """
    lines = ["| task | metric | value |", "|---|---|---:|"]
    for task, result in metrics.items():
        values = result.as_dict() if isinstance(result, Metrics) else dict(result)
        lines += [f"| {task} | {name} | {_format(v, digits)} |" for name, v in values.items()]
    return "\n".join(lines) + "\n"
