"""Monocular depth: RMSE, AbsRel, SqRel, RMSE(log), log10 and the δ < 1.25^k accuracies.

Conventions:

- Valid pixels: ground truth finite and > 0 (and <= ``max_depth`` when given). Predictions
  are clipped to ``[min_depth, max_depth]`` before scoring so logs and ratios stay finite
  (the Eigen/BTS protocol); a non-finite prediction on a valid pixel is an error.
- ``median_scaling`` (off by default) multiplies each image's prediction by
  median(gt) / median(pred) over its valid pixels. Use it only for models whose depth is
  defined up to scale (self-supervised / relative depth); Argus predicts metric depth.
- ``reduction="image"`` (default, as monodepth2, BTS and AdaBins report) computes each
  metric per image and averages over images; ``"pixel"`` pools all valid pixels of the
  dataset. Images without a valid pixel are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ._base import as_numpy, split_images

_NAMES = ("RMSE", "AbsRel", "SqRel", "RMSElog", "log10", "delta1", "delta2", "delta3")


@dataclass(frozen=True)
class DepthMetrics:
    """Depth result (depth units are those of the inputs, e.g. metres).

    Attributes:
        rmse: root mean squared error.
        abs_rel: mean |pred - gt| / gt.
        sq_rel: mean (pred - gt)^2 / gt.
        rmse_log: RMSE of natural logs.
        log10: mean |log10 pred - log10 gt|.
        delta1: fraction with max(pred/gt, gt/pred) < 1.25.
        delta2: same with 1.25^2.
        delta3: same with 1.25^3.
        num_images: images with at least one valid pixel.
        num_pixels: valid pixels evaluated.
    """

    rmse: float
    abs_rel: float
    sq_rel: float
    rmse_log: float
    log10: float
    delta1: float
    delta2: float
    delta3: float
    num_images: int
    num_pixels: int

    def as_dict(self) -> dict[str, float]:
        """``{"RMSE", "AbsRel", "SqRel", "RMSElog", "log10", "delta1", "delta2", "delta3"}``."""
        values = (self.rmse, self.abs_rel, self.sq_rel, self.rmse_log, self.log10,
                  self.delta1, self.delta2, self.delta3)
        return dict(zip(_NAMES, values))


def _pixel_sums(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Sums over pixels of: sq err, abs rel, sq rel, sq log err, abs log10 err, δ1, δ2, δ3."""
    ratio = np.maximum(pred / gt, gt / pred)
    return np.array([
        np.sum((pred - gt) ** 2),
        np.sum(np.abs(pred - gt) / gt),
        np.sum((pred - gt) ** 2 / gt),
        np.sum((np.log(pred) - np.log(gt)) ** 2),
        np.sum(np.abs(np.log10(pred) - np.log10(gt))),
        np.sum(ratio < 1.25),
        np.sum(ratio < 1.25 ** 2),
        np.sum(ratio < 1.25 ** 3),
    ])


def _finish(sums: np.ndarray, count: float) -> np.ndarray:
    """Means from sums; the two RMSE entries take the square root."""
    means = sums / count
    means[[0, 3]] = np.sqrt(means[[0, 3]])
    return means


class DepthAccumulator:
    """Streaming depth metrics: keeps a few running sums.

    Args:
        median_scaling: rescale each image's prediction by the ratio of medians.
        min_depth: predictions are clipped below at this value (> 0).
        max_depth: ground truth above it is invalid and predictions are clipped to it.
        reduction: ``"image"`` (mean of per-image metrics) or ``"pixel"`` (pooled).
    """

    def __init__(self, median_scaling: bool = False, min_depth: float = 1e-3,
                 max_depth: float | None = None,
                 reduction: Literal["image", "pixel"] = "image") -> None:
        if min_depth <= 0:
            raise ValueError(f"min_depth must be > 0, got {min_depth}")
        if reduction not in ("image", "pixel"):
            raise ValueError(f"reduction must be 'image' or 'pixel', got {reduction!r}")
        self.median_scaling, self.min_depth, self.max_depth = median_scaling, min_depth, max_depth
        self.reduction = reduction
        self.reset()

    def reset(self) -> None:
        """Forget every image."""
        self._pixel_sums = np.zeros(len(_NAMES))
        self._image_sums = np.zeros(len(_NAMES))
        self._images = self._pixels = 0

    def update(self, predictions: Any, targets: Any, /) -> None:
        """Add depth maps: (H, W), (N, H, W) or (N, 1, H, W), predictions matching targets.

        Raises:
            ValueError: on shape mismatch or a non-finite prediction on a valid pixel.
        """
        preds, gts = split_images(as_numpy(predictions), as_numpy(targets), "depth")
        for pred, gt in zip(preds.astype(np.float64), gts.astype(np.float64)):
            valid = np.isfinite(gt) & (gt > 0)
            if self.max_depth is not None:
                valid &= gt <= self.max_depth
            if not valid.any():
                continue
            p, g = pred[valid], gt[valid]
            if not np.isfinite(p).all():
                raise ValueError("non-finite depth prediction on a valid pixel")
            if self.median_scaling:
                p = p * (np.median(g) / max(np.median(p), self.min_depth))
            p = np.clip(p, self.min_depth, self.max_depth)
            sums = _pixel_sums(p, g)
            self._pixel_sums += sums
            self._image_sums += _finish(sums, g.size)
            self._images += 1
            self._pixels += g.size

    def compute(self) -> DepthMetrics:
        """Metrics over every image added (NaN when no valid pixel was seen)."""
        if self.reduction == "pixel":
            values = _finish(self._pixel_sums.copy(), self._pixels) if self._pixels else None
        else:
            values = self._image_sums / self._images if self._images else None
        if values is None:
            values = np.full(len(_NAMES), np.nan)
        return DepthMetrics(*(float(v) for v in values), num_images=self._images,
                            num_pixels=self._pixels)


def evaluate_depth(predictions: Any, targets: Any, *, median_scaling: bool = False,
                   min_depth: float = 1e-3, max_depth: float | None = None,
                   reduction: Literal["image", "pixel"] = "image") -> DepthMetrics:
    """Depth metrics in one call.

    Args:
        predictions: depth maps as an array or a list of per-image arrays.
        targets: ground-truth depth in the same layout (0, negative or non-finite = invalid).
        median_scaling: see the module docstring.
        min_depth: lower clip of predictions.
        max_depth: upper validity bound of ground truth and clip of predictions.
        reduction: ``"image"`` or ``"pixel"``.

    Returns:
        The :class:`DepthMetrics`.

    Raises:
        ValueError: see :meth:`DepthAccumulator.update`.
    """
    acc = DepthAccumulator(median_scaling, min_depth, max_depth, reduction)
    if isinstance(predictions, (list, tuple)):
        if len(predictions) != len(targets):
            raise ValueError(f"{len(predictions)} predictions but {len(targets)} targets")
        for pred, target in zip(predictions, targets):
            acc.update(pred, target)
    else:
        acc.update(predictions, targets)
    return acc.compute()
