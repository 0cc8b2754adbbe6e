"""Shared protocols and array coercion for the evaluators.

Every task has a typed, frozen result (``as_dict`` gives the scalar metrics by their
conventional names) and a streaming accumulator (``update`` per batch, ``compute`` at the
end) so a training loop can validate without keeping predictions in memory.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Metrics(Protocol):
    """A task's evaluation result."""

    def as_dict(self) -> dict[str, float]:
        """The scalar metrics by their conventional names (``"AP"``, ``"mIoU"``, ...)."""
        ...


@runtime_checkable
class MetricAccumulator(Protocol):
    """Streaming evaluation of one task: ``update`` per batch, ``compute`` at the end."""

    def update(self, predictions: Any, targets: Any = None, /) -> None:
        """Add one batch of predictions and what they are judged against."""
        ...

    def compute(self) -> Metrics:
        """The metrics over everything added since construction or ``reset``."""
        ...

    def reset(self) -> None:
        """Forget everything added so far."""
        ...


def as_numpy(x: Any) -> np.ndarray:
    """Array view of ``x``; torch tensors (any device, bf16 included) without importing torch."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(x.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def split_images(pred: np.ndarray, target: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Check matching shapes and bring both to (N, H, W): (H, W) is one image, (N, 1, H, W) squeezed.

    Raises:
        ValueError: on mismatched or unsupported shapes.
    """
    if pred.shape != target.shape:
        raise ValueError(
            f"{what}: prediction shape {pred.shape} != target shape {target.shape} "
            "(resize predictions to the label resolution first)"
        )
    if pred.ndim == 4 and pred.shape[1] == 1:
        pred, target = pred[:, 0], target[:, 0]
    if pred.ndim == 2:
        pred, target = pred[None], target[None]
    if pred.ndim != 3:
        raise ValueError(f"{what}: expected (H, W), (N, H, W) or (N, 1, H, W), got {pred.shape}")
    return pred, target
