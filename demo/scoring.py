"""The demo's scores: a Session's results against the generated ground truth.

The evaluators are the training code's (``argus_edge.training.evaluation``: pycocotools
COCOeval, mIoU, depth errors), imported when a score is asked for. A model's classes are
matched to the dataset's categories by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import Classification, Detections, InvalidArgumentError, Keypoints, Result, SegMap
from .constants import DISPLAY_THRESHOLD
from .truth import ClassificationTruth, SceneTruth

__all__ = ["score_classification", "score_scene"]


def _dataset_ids(class_names: Sequence[str], truth: SceneTruth) -> list[int]:
    """The dataset's category id (semantic label; 0 for "background") of each class name."""
    by_name = {name: cid for cid, name in truth.category_names.items()}
    by_name.setdefault("background", 0)
    missing = [n for n in class_names if n not in by_name]
    if missing:
        raise InvalidArgumentError(f"the model's classes {missing} are not in the synthetic "
                                   f"dataset's {sorted(by_name)}")
    return [by_name[n] for n in class_names]


def _score_boxes(det: Detections, truth: SceneTruth, threshold: float, masks: bool) -> dict:
    from ..training.evaluation import detections_to_coco, evaluate_boxes, evaluate_masks

    cats = _dataset_ids(det.class_names, truth)
    preds = detections_to_coco(truth.image_id, det.boxes, det.scores, det.labels, cats,
                               masks=det.masks if masks else None)
    metrics = (evaluate_masks if masks else evaluate_boxes)(preds, truth.instances)
    kind = "mask" if masks else "box"
    return {f"{kind}_AP50": metrics.ap50, f"{kind}_AP": metrics.ap,
            "shown": int((det.scores >= threshold).sum()), "objects": truth.objects}


def _score_sem(seg: SegMap, truth: SceneTruth) -> dict:
    from ..training.evaluation import evaluate_segmentation

    # model class index -> dataset label, matched by name
    lut = np.array(_dataset_ids(seg.class_names, truth) if seg.class_names
                   else range(int(seg.labels.max(initial=0)) + 1))
    num_classes = max(int(lut.max()), max(truth.category_names)) + 1
    metrics = evaluate_segmentation(lut[seg.labels], truth.semantic, num_classes)
    return {"mIoU": metrics.miou, "pixel_accuracy": metrics.pixel_accuracy}


def _score_pose(pose: Keypoints, truth: SceneTruth, threshold: float) -> dict:
    from ..training.evaluation import evaluate_keypoints, keypoints_to_coco

    person = truth.keypoints["categories"][0]["id"]
    preds = keypoints_to_coco(truth.image_id, pose.keypoints, pose.scores, person)
    metrics = evaluate_keypoints(preds, truth.keypoints)
    return {"OKS_AP": metrics.ap, "OKS_AP50": metrics.ap50,
            "shown": int((pose.scores >= threshold).sum()), "persons": truth.persons}


def score_scene(result: Result, truth: SceneTruth,
                threshold: float = DISPLAY_THRESHOLD) -> dict[str, dict[str, float]]:
    """Every task of ``result`` scored against the scene's ground truth.

    Args:
        result: what a Session returned for ``truth.image``.
        truth: the scene.
        threshold: the display score threshold at which boxes and persons are counted
            (AP uses every prediction).

    Returns:
        ``{"det": {box_AP50, box_AP, shown, objects}, "inst": {mask_AP50, mask_AP, shown,
        objects}, "sem": {mIoU, pixel_accuracy}, "depth": {AbsRel, RMSE, delta1},
        "pose": {OKS_AP, OKS_AP50, shown, persons}}`` for the tasks present.

    Raises:
        InvalidArgumentError: the model's classes are not the synthetic dataset's.
    """
    from ..training.evaluation import evaluate_depth

    out: dict[str, dict[str, float]] = {}
    if "det" in result:
        out["det"] = _score_boxes(result.det, truth, threshold, masks=False)
    if "inst" in result:
        out["inst"] = _score_boxes(result.inst, truth, threshold, masks=True)
    if "sem" in result:
        out["sem"] = _score_sem(result.sem, truth)
    if "depth" in result:
        d = evaluate_depth(result.depth.depth, truth.depth)
        out["depth"] = {"AbsRel": d.abs_rel, "RMSE": d.rmse, "delta1": d.delta1}
    if "pose" in result:
        out["pose"] = _score_pose(result.pose, truth, threshold)
    return out


def score_classification(results: Sequence[Classification],
                         truth: ClassificationTruth) -> dict[str, Any]:
    """Top-1 of each classification image against its true class.

    Args:
        results: the ``cls`` result of each of ``truth.images``, in order.
        truth: the classification images.

    Returns:
        ``{"correct", "total", "predicted" [names], "probability" [top-1 p], "true" [names]}``.
    """
    predicted = [r.top1 for r in results]
    return {"correct": sum(p == t for p, t in zip(predicted, truth.names)),
            "total": len(truth.names), "predicted": predicted,
            "probability": [float(r.probabilities[0]) if len(r.labels) else float("nan")
                            for r in results],
            "true": list(truth.names)}
