"""COCO box AP, mask AP and keypoint OKS AP, computed by pycocotools' ``COCOeval``.

Predictions are standard COCO result lists (see :mod:`.coco_format` to build them from the
SDK's arrays). pycocotools prints progress; it is silenced unless ``verbose=True``.

Where COCOeval reports -1 (no ground truth in that area range, or nothing to evaluate) the
metric here is NaN, so it cannot be averaged by accident. Empty predictions score 0.
Crowd ground truth (``iscrowd=1``) follows COCO: it is never a miss, and detections matched
to it are ignored rather than counted as false positives.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pycocotools.cocoeval import COCOeval

from ._coco_io import GroundTruth, load_ground_truth, load_results, maybe_quiet

IouType = Literal["bbox", "segm", "keypoints"]


def _nan_if_missing(value: float) -> float:
    return float("nan") if value < 0 else float(value)


@dataclass(frozen=True)
class CocoDetectionMetrics:
    """The 12 COCO stats of box (``bbox``) or mask (``segm``) evaluation.

    Attributes:
        ap: AP averaged over IoU 0.50:0.95 (the COCO headline number).
        ap50: AP at IoU 0.50.
        ap75: AP at IoU 0.75.
        ap_small: AP of small objects (area < 32²).
        ap_medium: AP of medium objects.
        ap_large: AP of large objects (area > 96²).
        ar1: recall with 1 detection per image.
        ar10: recall with 10 detections per image.
        ar100: recall with 100 detections per image.
        ar_small: AR100 of small objects.
        ar_medium: AR100 of medium objects.
        ar_large: AR100 of large objects.
        iou_type: ``"bbox"`` or ``"segm"``.
    """

    ap: float
    ap50: float
    ap75: float
    ap_small: float
    ap_medium: float
    ap_large: float
    ar1: float
    ar10: float
    ar100: float
    ar_small: float
    ar_medium: float
    ar_large: float
    iou_type: str = "bbox"

    NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")

    def as_dict(self) -> dict[str, float]:
        """The stats by their COCO names: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl."""
        values = dataclasses.astuple(self)[: len(self.NAMES)]
        return dict(zip(self.NAMES, values))


@dataclass(frozen=True)
class CocoKeypointMetrics:
    """The 10 COCO stats of keypoint (OKS) evaluation, 20 detections per image.

    Attributes:
        ap: AP averaged over OKS 0.50:0.95.
        ap50: AP at OKS 0.50.
        ap75: AP at OKS 0.75.
        ap_medium: AP of medium persons.
        ap_large: AP of large persons.
        ar: recall averaged over OKS 0.50:0.95.
        ar50: recall at OKS 0.50.
        ar75: recall at OKS 0.75.
        ar_medium: AR of medium persons.
        ar_large: AR of large persons.
    """

    ap: float
    ap50: float
    ap75: float
    ap_medium: float
    ap_large: float
    ar: float
    ar50: float
    ar75: float
    ar_medium: float
    ar_large: float

    NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")

    def as_dict(self) -> dict[str, float]:
        """The stats by their COCO names: AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl."""
        return dict(zip(self.NAMES, dataclasses.astuple(self)))


def evaluate_coco(
    predictions: Iterable[Mapping[str, Any]],
    ground_truth: GroundTruth,
    iou_type: IouType,
    *,
    image_ids: Sequence[int] | None = None,
    max_detections: Sequence[int] | None = None,
    keypoint_sigmas: Sequence[float] | None = None,
    verbose: bool = False,
) -> CocoDetectionMetrics | CocoKeypointMetrics:
    """Run ``COCOeval`` (evaluate, accumulate, summarize) and return its stats by name.

    Args:
        predictions: COCO results: dicts with ``image_id``, ``category_id``, ``score`` and
            ``bbox`` [x, y, w, h] / ``segmentation`` (RLE) / ``keypoints`` [x, y, v] * K.
        ground_truth: a ``pycocotools.coco.COCO``, a COCO dataset dict or a JSON path.
        iou_type: ``"bbox"``, ``"segm"`` or ``"keypoints"``.
        image_ids: evaluate only these images (default: every ground-truth image).
        max_detections: COCOeval ``maxDets`` (default [1, 10, 100]; keypoints [20]).
        keypoint_sigmas: per-keypoint OKS sigmas (default: COCO's 17).
        verbose: let pycocotools print its progress and summary table.

    Returns:
        :class:`CocoDetectionMetrics` for boxes and masks, :class:`CocoKeypointMetrics`
        for keypoints.

    Raises:
        ValueError: on an unknown ``iou_type`` or malformed results.
    """
    if iou_type not in ("bbox", "segm", "keypoints"):
        raise ValueError(f"iou_type must be 'bbox', 'segm' or 'keypoints', got {iou_type!r}")
    with maybe_quiet(verbose):
        coco_gt = load_ground_truth(ground_truth)
    coco_dt = load_results(coco_gt, predictions, iou_type, verbose)
    evaluator = COCOeval(coco_gt, coco_dt, iou_type)
    if image_ids is not None:
        evaluator.params.imgIds = sorted(image_ids)
    if max_detections is not None:
        evaluator.params.maxDets = list(max_detections)
    if keypoint_sigmas is not None:
        evaluator.params.kpt_oks_sigmas = np.asarray(keypoint_sigmas, dtype=np.float64)
    with maybe_quiet(verbose):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    stats = [_nan_if_missing(v) for v in evaluator.stats]
    if iou_type == "keypoints":
        return CocoKeypointMetrics(*stats)
    return CocoDetectionMetrics(*stats, iou_type=iou_type)


def evaluate_boxes(predictions: Iterable[Mapping[str, Any]], ground_truth: GroundTruth,
                   **options: Any) -> CocoDetectionMetrics:
    """COCO box AP; ``options`` as :func:`evaluate_coco`."""
    return evaluate_coco(predictions, ground_truth, "bbox", **options)


def evaluate_masks(predictions: Iterable[Mapping[str, Any]], ground_truth: GroundTruth,
                   **options: Any) -> CocoDetectionMetrics:
    """COCO mask AP (RLE ``segmentation`` results); ``options`` as :func:`evaluate_coco`."""
    return evaluate_coco(predictions, ground_truth, "segm", **options)


def evaluate_keypoints(predictions: Iterable[Mapping[str, Any]], ground_truth: GroundTruth,
                       **options: Any) -> CocoKeypointMetrics:
    """COCO keypoint OKS AP; ``options`` as :func:`evaluate_coco`."""
    return evaluate_coco(predictions, ground_truth, "keypoints", **options)


class CocoAccumulator:
    """Streaming COCO evaluation: collects compact result dicts, runs COCOeval at the end.

    Masks should already be RLE-encoded (:func:`.coco_format.detections_to_coco` does it),
    so memory grows with the number of detections, not with image size.

    Args:
        ground_truth: a ``COCO`` object, a dataset dict or a JSON path (loaded once).
        iou_type: ``"bbox"``, ``"segm"`` or ``"keypoints"``.
        **options: passed to :func:`evaluate_coco` (``max_detections``, ``verbose``, ...).
    """

    def __init__(self, ground_truth: GroundTruth, iou_type: IouType = "bbox", **options: Any) -> None:
        with maybe_quiet(options.get("verbose", False)):
            self.ground_truth = load_ground_truth(ground_truth)
        self.iou_type = iou_type
        self.options = options
        self.reset()

    def reset(self) -> None:
        """Forget every result and seen image."""
        self._results: list[Mapping[str, Any]] = []
        self._image_ids: set[int] = set()

    def update(self, predictions: Iterable[Mapping[str, Any]],
               image_ids: Iterable[int] | None = None, /) -> None:
        """Add COCO result dicts.

        Args:
            predictions: result dicts for any number of images.
            image_ids: the images this batch covered, including those with no detection.
                When any call passes them, :meth:`compute` evaluates only the union of
                these images (validation on a subset); otherwise every ground-truth image.
        """
        self._results.extend(predictions)
        if image_ids is not None:
            self._image_ids.update(int(i) for i in image_ids)

    def compute(self) -> CocoDetectionMetrics | CocoKeypointMetrics:
        """Run COCOeval over everything added so far."""
        options = dict(self.options)
        if self._image_ids:
            options.setdefault("image_ids", sorted(self._image_ids))
        return evaluate_coco(self._results, self.ground_truth, self.iou_type, **options)
