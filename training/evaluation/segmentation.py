"""Semantic segmentation: confusion matrix, mIoU, per-class IoU and pixel accuracy.

Conventions (those of mmsegmentation's ``IoUMetric``):

- Pixels whose target is ``ignore_index`` (255 by default) are skipped entirely.
- The confusion matrix is accumulated over the whole dataset (not averaged per image), so
  large images weigh more; rows are ground-truth classes, columns predicted classes.
- IoU_c = TP / (TP + FP + FN). A class absent from both ground truth and predictions over the
  whole dataset has no IoU (NaN) and is left out of the mean. A class that is predicted but
  never present in the ground truth has IoU 0 and does count.
- Accuracy_c = TP / (TP + FN) (NaN when the class never occurs in the ground truth);
  ``mean_accuracy`` is their NaN-ignoring mean and ``pixel_accuracy`` is trace / total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._base import as_numpy

IGNORE_INDEX = 255


def confusion_matrix(
    predictions: Any, targets: Any, num_classes: int, ignore_index: int | None = IGNORE_INDEX
) -> np.ndarray:
    """Confusion matrix of integer label maps of any (matching) shape.

    Args:
        predictions: predicted class per pixel, values in ``[0, num_classes)``.
        targets: ground-truth class per pixel, values in ``[0, num_classes)`` or ``ignore_index``.
        num_classes: number of classes ``C``.
        ignore_index: target value to skip; ``None`` skips nothing.

    Returns:
        ``(C, C)`` int64 counts, ``[target, prediction]``.

    Raises:
        ValueError: on mismatched shapes, non-integer maps or labels outside ``[0, C)``.
    """
    pred, target = as_numpy(predictions), as_numpy(targets)
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {pred.shape} != target shape {target.shape}")
    for name, arr in (("predictions", pred), ("targets", target)):
        if arr.size and not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
            raise ValueError(f"{name} must be integer label maps (argmax logits first), got {arr.dtype}")
    pred, target = pred.ravel().astype(np.int64), target.ravel().astype(np.int64)
    if ignore_index is not None:
        keep = target != ignore_index
        pred, target = pred[keep], target[keep]
    for name, arr in (("predictions", pred), ("targets", target)):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(f"{name} hold labels outside [0, {num_classes}) (ignore_index={ignore_index})")
    counts = np.bincount(target * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


@dataclass(frozen=True)
class SegmentationMetrics:
    """Semantic segmentation result.

    Attributes:
        miou: mean IoU over classes present in ground truth or predictions.
        mean_accuracy: mean per-class recall over classes present in the ground truth.
        pixel_accuracy: correctly labelled pixels / evaluated pixels.
        per_class_iou: IoU per class, NaN for classes absent from both.
        per_class_accuracy: recall per class, NaN for classes absent from the ground truth.
        confusion_matrix: ``(C, C)`` int64 counts ``[target, prediction]``.
    """

    miou: float
    mean_accuracy: float
    pixel_accuracy: float
    per_class_iou: tuple[float, ...]
    per_class_accuracy: tuple[float, ...]
    confusion_matrix: np.ndarray = field(repr=False, compare=False)

    @classmethod
    def from_confusion(cls, confusion: np.ndarray) -> SegmentationMetrics:
        """Derive every metric from an accumulated ``(C, C)`` confusion matrix."""
        confusion = np.asarray(confusion, dtype=np.int64)
        tp = np.diag(confusion).astype(np.float64)
        gt_count = confusion.sum(axis=1).astype(np.float64)
        union = gt_count + confusion.sum(axis=0) - tp
        with np.errstate(divide="ignore", invalid="ignore"):
            iou = np.where(union > 0, tp / union, np.nan)
            acc = np.where(gt_count > 0, tp / gt_count, np.nan)
        total = confusion.sum()
        return cls(
            miou=_nanmean(iou),
            mean_accuracy=_nanmean(acc),
            pixel_accuracy=float(tp.sum() / total) if total else float("nan"),
            per_class_iou=tuple(float(v) for v in iou),
            per_class_accuracy=tuple(float(v) for v in acc),
            confusion_matrix=confusion,
        )

    def as_dict(self) -> dict[str, float]:
        """``{"mIoU", "mAcc", "aAcc"}`` (mmsegmentation's names)."""
        return {"mIoU": self.miou, "mAcc": self.mean_accuracy, "aAcc": self.pixel_accuracy}


def _nanmean(values: np.ndarray) -> float:
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float("nan")


class SegmentationAccumulator:
    """Streaming mIoU: keeps only the ``(C, C)`` confusion matrix.

    Args:
        num_classes: number of classes ``C``.
        ignore_index: target value to skip (255, ADE20K style); ``None`` skips nothing.
    """

    def __init__(self, num_classes: int, ignore_index: int | None = IGNORE_INDEX) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.reset()

    def reset(self) -> None:
        """Zero the confusion matrix."""
        self._confusion = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, predictions: Any, targets: Any, /) -> None:
        """Add label maps of any matching shape, e.g. one image (H, W) or a batch (N, H, W).

        Raises:
            ValueError: see :func:`confusion_matrix`.
        """
        self._confusion += confusion_matrix(predictions, targets, self.num_classes, self.ignore_index)

    def compute(self) -> SegmentationMetrics:
        """Metrics over everything added so far."""
        return SegmentationMetrics.from_confusion(self._confusion.copy())


def evaluate_segmentation(
    predictions: Any, targets: Any, num_classes: int, ignore_index: int | None = IGNORE_INDEX
) -> SegmentationMetrics:
    """mIoU and friends of label maps in one call.

    Args:
        predictions: predicted label maps: an array, or an iterable of per-image arrays
            (images may differ in size; each must match its target).
        targets: ground-truth label maps in the same layout.
        num_classes: number of classes.
        ignore_index: target value to skip.

    Returns:
        The :class:`SegmentationMetrics`.

    Raises:
        ValueError: see :func:`confusion_matrix`.
    """
    acc = SegmentationAccumulator(num_classes, ignore_index)
    if isinstance(predictions, (list, tuple)):
        if len(predictions) != len(targets):
            raise ValueError(f"{len(predictions)} predictions but {len(targets)} targets")
        for pred, target in zip(predictions, targets):
            acc.update(pred, target)
    else:
        acc.update(predictions, targets)
    return acc.compute()
