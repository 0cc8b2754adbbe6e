"""Conversion from the SDK's prediction arrays to COCO result lists.

The SDK's layout per image: ``boxes`` (N, 4) xyxy float32 in pixels, ``scores`` (N,),
``labels`` (N,) contiguous 0-based, ``masks`` (N, H, W) bool, ``keypoints`` (N, K, 3) as
(x, y, score). COCO wants ``bbox`` as [x, y, w, h], the dataset's own ``category_id``
(COCO's 80 ids run 1..90 with gaps), compressed RLE masks and flat keypoint lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from ._base import as_numpy

LabelMap = Union[Mapping[int, int], Sequence[int]]


def contiguous_category_ids(ground_truth: COCO | Mapping[str, Any]) -> list[int]:
    """The label → category_id map of a dataset: its category ids sorted (label i → ids[i])."""
    dataset = ground_truth.dataset if isinstance(ground_truth, COCO) else ground_truth
    cats = dataset["categories"]
    return sorted(int(c["id"]) for c in cats)


def xyxy_to_xywh(boxes: Any) -> np.ndarray:
    """(N, 4) corner boxes [x1, y1, x2, y2] → COCO [x, y, w, h] (float64)."""
    boxes = as_numpy(boxes).astype(np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def encode_masks(masks: Any) -> list[dict[str, Any]]:
    """(N, H, W) bool masks → compressed RLEs, ``counts`` as str so they serialise to JSON."""
    masks = as_numpy(masks).astype(bool)
    if masks.ndim != 3:
        raise ValueError(f"masks must be (N, H, W), got {masks.shape}")
    if masks.shape[0] == 0:
        return []
    rles = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    for rle in rles:
        rle["counts"] = rle["counts"].decode("ascii")
    return rles


def _category_ids(labels: np.ndarray, label_to_category: LabelMap | None) -> list[int]:
    if label_to_category is None:
        return [int(v) for v in labels]
    try:
        return [int(label_to_category[int(v)]) for v in labels]
    except (KeyError, IndexError):
        raise ValueError(f"labels {sorted(set(labels.tolist()))} not all in the label map") from None


def detections_to_coco(image_id: int, boxes: Any, scores: Any, labels: Any,
                       label_to_category: LabelMap | None = None,
                       masks: Any = None) -> list[dict[str, Any]]:
    """One image's detections (and optionally instance masks) as COCO result dicts.

    Args:
        image_id: the ground-truth image id.
        boxes: (N, 4) xyxy boxes in pixels of the original image.
        scores: (N,) confidences.
        labels: (N,) contiguous 0-based labels.
        label_to_category: label → ``category_id`` (sequence or mapping, e.g. from
            :func:`contiguous_category_ids`); ``None`` uses the labels as ids.
        masks: optional (N, H, W) bool masks at the original resolution; adds RLE
            ``segmentation`` fields for mask AP.

    Returns:
        N dicts with ``image_id, category_id, bbox, score`` (+ ``segmentation``).

    Raises:
        ValueError: on mismatched lengths or labels missing from the map.
    """
    xywh = xyxy_to_xywh(boxes)
    scores, labels = as_numpy(scores).reshape(-1), as_numpy(labels).reshape(-1)
    rles = encode_masks(masks) if masks is not None else None
    if not len(xywh) == len(scores) == len(labels) == (len(rles) if rles is not None else len(xywh)):
        raise ValueError("boxes, scores, labels (and masks) must have the same length")
    results = []
    for i, category in enumerate(_category_ids(labels, label_to_category)):
        res = {"image_id": int(image_id), "category_id": category,
               "bbox": [float(v) for v in xywh[i]], "score": float(scores[i])}
        if rles is not None:
            res["segmentation"] = rles[i]
        results.append(res)
    return results


def keypoints_to_coco(image_id: int, keypoints: Any, scores: Any,
                      category_id: int = 1) -> list[dict[str, Any]]:
    """One image's poses as COCO keypoint result dicts.

    Args:
        image_id: the ground-truth image id.
        keypoints: (N, K, 3) as (x, y, confidence) in original-image pixels (K = 17 for COCO);
            COCOeval ignores the third value.
        scores: (N,) instance scores (e.g. person box score × mean keypoint confidence).
        category_id: the person category (1 in COCO).

    Returns:
        N dicts with ``image_id, category_id, keypoints`` (flat, 3K floats) and ``score``.

    Raises:
        ValueError: on bad shapes.
    """
    keypoints = as_numpy(keypoints).astype(np.float64)
    scores = as_numpy(scores).reshape(-1)
    if keypoints.ndim != 3 or keypoints.shape[2] != 3 or len(keypoints) != len(scores):
        raise ValueError(
            f"expected keypoints (N, K, 3) and scores (N,), got {keypoints.shape}, {scores.shape}"
        )
    return [{"image_id": int(image_id), "category_id": int(category_id),
             "keypoints": [float(v) for v in kp.reshape(-1)], "score": float(s)}
            for kp, s in zip(keypoints, scores)]
