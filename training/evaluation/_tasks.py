"""The built-in task evaluators. A new task adds its own module and one registration."""

from __future__ import annotations

import functools

from ._registry import TaskEvaluator, register_evaluator
from .classification import ClassificationAccumulator, evaluate_classification
from .coco_eval import CocoAccumulator, evaluate_boxes, evaluate_keypoints, evaluate_masks
from .depth import DepthAccumulator, evaluate_depth
from .segmentation import SegmentationAccumulator, evaluate_segmentation

register_evaluator(TaskEvaluator(
    "det", evaluate_boxes, functools.partial(CocoAccumulator, iou_type="bbox"), "AP"))
register_evaluator(TaskEvaluator(
    "inst", evaluate_masks, functools.partial(CocoAccumulator, iou_type="segm"), "AP"))
register_evaluator(TaskEvaluator(
    "pose", evaluate_keypoints, functools.partial(CocoAccumulator, iou_type="keypoints"), "AP"))
register_evaluator(TaskEvaluator("sem", evaluate_segmentation, SegmentationAccumulator, "mIoU"))
register_evaluator(TaskEvaluator("cls", evaluate_classification, ClassificationAccumulator, "top1"))
register_evaluator(TaskEvaluator(
    "depth", evaluate_depth, DepthAccumulator, "RMSE", higher_is_better=False))
