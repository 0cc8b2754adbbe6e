"""Classification: top-1 / top-5 accuracy from logits or probabilities.

Scores are only ranked, so logits, probabilities and log-probabilities give the same result.
``k`` larger than the number of classes is clipped to it (top-5 of a 3-class problem is 1.0).

Ties: a sample earns ``clip((k - n_greater) / n_tied, 0, 1)`` where ``n_greater`` counts
classes scoring strictly higher than the true class and ``n_tied`` those scoring equal to it
(itself included). This is the expected top-k accuracy under a uniformly random ordering of
tied scores: it equals the usual 0/1 count whenever the true class is not tied, does not
depend on class order, and scores a constant (e.g. untrained, zero-initialised) classifier
at chance level k/C instead of 0 or 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._base import as_numpy


def topk_credit(scores: Any, labels: Any, k: int) -> np.ndarray:
    """Per-sample top-k credit in [0, 1] (fractional only when the true class is tied).

    Args:
        scores: ``(N, C)`` logits or probabilities.
        labels: ``(N,)`` integer class indices in ``[0, C)``.
        k: rank cut-off, >= 1; clipped to ``C``.

    Returns:
        ``(N,)`` float64 credit.

    Raises:
        ValueError: on bad shapes, NaN scores, labels out of range or ``k < 1``.
    """
    scores, labels = as_numpy(scores).astype(np.float64), as_numpy(labels)
    if scores.ndim != 2 or labels.shape != scores.shape[:1]:
        raise ValueError(f"expected scores (N, C) and labels (N,), got {scores.shape} and {labels.shape}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN")
    if labels.size and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0
                        or labels.max() >= scores.shape[1]):
        raise ValueError(f"labels must be integers in [0, {scores.shape[1]})")
    true_score = scores[np.arange(len(labels)), labels][:, None]
    n_greater = (scores > true_score).sum(axis=1)
    n_tied = (scores == true_score).sum(axis=1)
    k = min(k, scores.shape[1])
    return np.clip((k - n_greater) / n_tied, 0.0, 1.0)


def topk_accuracy(scores: Any, labels: Any, k: int = 1) -> float:
    """Top-k accuracy (ties as in the module docstring); NaN for zero samples.

    Args:
        scores: ``(N, C)`` logits or probabilities.
        labels: ``(N,)`` integer class indices.
        k: rank cut-off, clipped to the number of classes.

    Returns:
        The accuracy in [0, 1].

    Raises:
        ValueError: see :func:`topk_credit`.
    """
    credit = topk_credit(scores, labels, k)
    return float(credit.mean()) if credit.size else float("nan")


@dataclass(frozen=True)
class ClassificationMetrics:
    """Classification result.

    Attributes:
        top1: top-1 accuracy.
        top5: top-5 accuracy (k clipped to the number of classes).
        num_samples: samples evaluated.
    """

    top1: float
    top5: float
    num_samples: int

    def as_dict(self) -> dict[str, float]:
        """``{"top1", "top5"}``."""
        return {"top1": self.top1, "top5": self.top5}


class ClassificationAccumulator:
    """Streaming top-1 / top-5: keeps two running sums and a count."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every sample."""
        self._top1 = self._top5 = 0.0
        self._count = 0

    def update(self, predictions: Any, targets: Any, /) -> None:
        """Add a batch: ``predictions`` (N, C) scores, ``targets`` (N,) labels.

        Raises:
            ValueError: see :func:`topk_credit`.
        """
        self._top1 += float(topk_credit(predictions, targets, 1).sum())
        self._top5 += float(topk_credit(predictions, targets, 5).sum())
        self._count += len(as_numpy(targets))

    def compute(self) -> ClassificationMetrics:
        """Accuracies over every sample added (NaN when none were)."""
        n = self._count
        nan = float("nan")
        return ClassificationMetrics(
            top1=self._top1 / n if n else nan, top5=self._top5 / n if n else nan, num_samples=n
        )


def evaluate_classification(predictions: Any, targets: Any) -> ClassificationMetrics:
    """Top-1 / top-5 of ``(N, C)`` scores against ``(N,)`` labels in one call.

    Raises:
        ValueError: see :func:`topk_credit`.
    """
    acc = ClassificationAccumulator()
    acc.update(predictions, targets)
    return acc.compute()
