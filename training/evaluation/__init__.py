"""Evaluators of every Argus task: COCO AP (box, mask, keypoint), mIoU, top-k, depth errors.

Each task has a one-call function, a streaming accumulator (``update`` per batch,
``compute`` at the end) and a frozen result whose ``as_dict()`` gives the scalar metrics.
:func:`evaluate_task` and :func:`create_accumulator` dispatch on the task key of
DESIGN.md §3 ("det", "inst", "sem", "pose", "cls", "depth"). Nothing here imports torch;
tensors are accepted and moved to numpy.
"""

from . import _tasks as _tasks  # noqa: F401  (registers the built-in evaluators)
from ._base import MetricAccumulator, Metrics
from ._coco_io import load_ground_truth
from ._registry import (
    TaskEvaluator,
    create_accumulator,
    evaluate_task,
    get_evaluator,
    list_evaluators,
    register_evaluator,
)
from .classification import (
    ClassificationAccumulator,
    ClassificationMetrics,
    evaluate_classification,
    topk_accuracy,
)
from .coco_eval import (
    CocoAccumulator,
    CocoDetectionMetrics,
    CocoKeypointMetrics,
    evaluate_boxes,
    evaluate_coco,
    evaluate_keypoints,
    evaluate_masks,
)
from .coco_format import (
    contiguous_category_ids,
    detections_to_coco,
    encode_masks,
    keypoints_to_coco,
    xyxy_to_xywh,
)
from .depth import DepthAccumulator, DepthMetrics, evaluate_depth
from .segmentation import (
    IGNORE_INDEX,
    SegmentationAccumulator,
    SegmentationMetrics,
    confusion_matrix,
    evaluate_segmentation,
)
from .summary import summarize

__all__ = [
    "IGNORE_INDEX",
    "ClassificationAccumulator", "ClassificationMetrics",
    "CocoAccumulator", "CocoDetectionMetrics", "CocoKeypointMetrics",
    "DepthAccumulator", "DepthMetrics",
    "MetricAccumulator", "Metrics",
    "SegmentationAccumulator", "SegmentationMetrics",
    "TaskEvaluator",
    "confusion_matrix", "contiguous_category_ids", "create_accumulator", "detections_to_coco",
    "encode_masks", "evaluate_boxes", "evaluate_classification", "evaluate_coco",
    "evaluate_depth", "evaluate_keypoints", "evaluate_masks", "evaluate_segmentation",
    "evaluate_task", "get_evaluator", "keypoints_to_coco", "list_evaluators",
    "load_ground_truth",
    "register_evaluator", "summarize", "topk_accuracy", "xyxy_to_xywh",
]
