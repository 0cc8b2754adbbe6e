"""Non-maximum suppression, numpy reference (the C++ kernels are tested against it).

Conventions, shared by every implementation here and by the runtime:

* boxes are xyxy; IoU is computed in float64 as ``inter / (area_a + area_b - inter)``
  and is 0 when the union is 0 (two degenerate boxes never suppress each other);
* boxes are visited by descending score, ties broken by the lower index first
  (a stable sort);
* a box is suppressed when its IoU with an already kept box is *greater* than the
  threshold (equal is kept);
* class-aware NMS runs greedy NMS separately per label (exact, unlike the coordinate
  offset trick, whose float rounding can flip decisions near the threshold) and merges
  the kept boxes in the same score order.
"""

from __future__ import annotations

import numpy as np


def score_order(scores: np.ndarray) -> np.ndarray:
    """Indices by descending score, ties by ascending index."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def iou_one_to_many(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU (float64) of one xyxy box with each of (M, 4) boxes; 0 where the union is 0."""
    box, boxes = np.asarray(box, np.float64), np.asarray(boxes, np.float64).reshape(-1, 4)
    iw = np.maximum(0.0, np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]))
    ih = np.maximum(0.0, np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]))
    inter = iw * ih
    area_a = max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])
    area_b = np.maximum(0.0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0.0, boxes[:, 3] - boxes[:, 1])
    union = area_a + area_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy NMS over all boxes (class-agnostic).

    Args:
        boxes: (N, 4) xyxy boxes.
        scores: (N,) scores.
        iou_threshold: boxes with IoU > threshold with a kept box are suppressed.

    Returns:
        int64 indices of the kept boxes, by descending score (ties: lower index first).
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    order = score_order(scores)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        order = rest[iou_one_to_many(boxes[i], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray,
                iou_threshold: float, class_agnostic: bool = False) -> np.ndarray:
    """NMS within each label (or across labels when ``class_agnostic``).

    Args:
        boxes: (N, 4) xyxy boxes.
        scores: (N,) scores.
        labels: (N,) integer labels.
        iou_threshold: suppression threshold (IoU > threshold suppresses).
        class_agnostic: ignore the labels.

    Returns:
        int64 indices of the kept boxes, by descending score (ties: lower index first).
    """
    scores = np.asarray(scores).reshape(-1)
    if class_agnostic:
        return nms(boxes, scores, iou_threshold)
    boxes, labels = np.asarray(boxes).reshape(-1, 4), np.asarray(labels).reshape(-1)
    kept = [np.flatnonzero(labels == c)[nms(boxes[labels == c], scores[labels == c],
                                            iou_threshold)]
            for c in np.unique(labels)]
    kept = np.concatenate(kept) if kept else np.zeros(0, np.int64)
    kept = np.sort(kept)  # back to index order, so the stable sort breaks ties by index
    return kept[score_order(scores[kept])].astype(np.int64)


def nms_bruteforce(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float,
                   labels: np.ndarray | None = None) -> np.ndarray:
    """The definition of greedy NMS written as plainly as possible (tests only).

    Visit boxes by descending score (ties: lower index first); keep a box unless a kept
    box of the same label (any kept box if ``labels`` is None) overlaps it with
    IoU > ``iou_threshold``. Pure Python, O(N²).
    """
    b = [[float(v) for v in row] for row in np.asarray(boxes, np.float64).reshape(-1, 4)]
    s = [float(v) for v in np.asarray(scores).reshape(-1)]
    lab = [0] * len(s) if labels is None else [int(v) for v in np.asarray(labels).reshape(-1)]
    order = sorted(range(len(s)), key=lambda i: (-s[i], i))
    keep: list[int] = []
    for i in order:
        if all(lab[k] != lab[i] or _iou_plain(b[i], b[k]) <= iou_threshold for k in keep):
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


def _iou_plain(a: list[float], b: list[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1]) + \
        max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
