"""Comparing a state dict with the one a model expects, for errors that name the keys."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch

from argus_edge._errors import CheckpointError


def format_keys(keys: Iterable[str], limit: int = 5) -> str:
    """``"a, b, c (+12 more)"``: the first ``limit`` keys and how many were left out."""
    keys = list(keys)
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


@dataclass(frozen=True)
class StateDictDiff:
    """How a state dict differs from the expected one.

    Attributes:
        missing: expected keys the state dict lacks.
        unexpected: keys the model does not have.
        mismatched: ``(key, expected shape, found shape)`` for keys present in both.
    """

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]

    @property
    def ok(self) -> bool:
        """True when keys and shapes all match."""
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, limit: int = 5) -> str:
        """One line per kind of problem, each naming the first ``limit`` keys."""
        lines = []
        if self.missing:
            lines.append(f"{len(self.missing)} missing: {format_keys(self.missing, limit)}")
        if self.unexpected:
            lines.append(f"{len(self.unexpected)} unexpected: "
                         f"{format_keys(self.unexpected, limit)}")
        if self.mismatched:
            items = [f"{k} (model {list(e)}, file {list(g)})" for k, e, g in self.mismatched]
            lines.append(f"{len(self.mismatched)} with the wrong shape: "
                         f"{format_keys(items, limit)}")
        return "; ".join(lines)


def diff_state_dict(expected: Mapping[str, torch.Tensor],
                    found: Mapping[str, torch.Tensor]) -> StateDictDiff:
    """Compare keys and shapes of ``found`` against ``expected`` (keys keep file order)."""
    return StateDictDiff(
        missing=tuple(k for k in expected if k not in found),
        unexpected=tuple(k for k in found if k not in expected),
        mismatched=tuple((k, tuple(v.shape), tuple(found[k].shape))
                         for k, v in expected.items()
                         if k in found and tuple(found[k].shape) != tuple(v.shape)),
    )


def put_unique(out: dict[str, torch.Tensor], key: str, value: torch.Tensor) -> None:
    """``out[key] = value``, refusing two source keys that map to the same name.

    Raises:
        CheckpointError: ``key`` is already in ``out``.
    """
    if key in out:
        raise CheckpointError(f"two entries of the checkpoint map to the key {key!r}")
    out[key] = value
