"""Reference post-processing of the dense head's raw outputs (numpy only).

This is the one definition of decoding; the C++ runtime's kernels are tested against it.
For one image:

1. score = σ(cls_logits) per (point, class) — the head has no separate quality branch:
   the classification score *is* the IoU-aware quality (Quality Focal Loss);
2. keep (point, class) pairs with score > ``score_threshold``;
3. keep the ``pre_nms_topk`` highest (over all levels together; ties: lower flat index
   ``point·C + class`` first);
4. decode boxes: points ± ltrb distances (already in input pixels), clipped to the input;
5. NMS per class (or class-agnostic), see :mod:`.nms`; keep ``max_detections``;
6. map boxes to image pixels through the letterbox transform (clipped to the image);
7. for ``inst``: assemble, crop, threshold and paste the masks (:mod:`.mask_paste`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .letterbox import Letterbox, boxes_to_image
from .mask_paste import PROTO_STRIDE, assemble_mask_logits, paste_masks
from .nms import batched_nms, score_order
from .points import anchor_points


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function, float32."""
    x = np.asarray(x, np.float32)
    return np.exp(-np.logaddexp(np.float32(0), -x)).astype(np.float32)


def decode_boxes(points: np.ndarray, ltrb: np.ndarray, input_hw: tuple[int, int]) -> np.ndarray:
    """(N, 2) points and (N, 4) ltrb distances in input pixels → (N, 4) xyxy float32,
    clipped to ``[0, W] × [0, H]``."""
    p = np.asarray(points, np.float32).reshape(-1, 2)
    d = np.asarray(ltrb, np.float32).reshape(-1, 4)
    boxes = np.concatenate([p - d[:, :2], p + d[:, 2:]], axis=1)
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, input_hw[1])
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, input_hw[0])
    return boxes


def select_candidates(scores: np.ndarray, score_threshold: float,
                      topk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, class) pairs above the threshold, the ``topk`` best.

    Args:
        scores: (N, C) scores.
        score_threshold: strict lower bound.
        topk: at most this many pairs (≤ 0: no limit).

    Returns:
        ``(point_index, label, score)``, by descending score (ties: lower flat index).
    """
    flat = np.asarray(scores).reshape(-1)
    idx = np.flatnonzero(flat > score_threshold)
    idx = idx[score_order(flat[idx])]
    if topk > 0:
        idx = idx[:topk]
    c = scores.shape[1]
    return idx // c, idx % c, flat[idx].astype(np.float32)


def postprocess_detections(
    cls_logits: np.ndarray, box_ltrb: np.ndarray, input_hw: tuple[int, int],
    strides: Sequence[int], *, score_threshold: float = 0.05, iou_threshold: float = 0.6,
    pre_nms_topk: int = 1000, max_detections: int = 100, class_agnostic: bool = False,
    mask_coeffs: np.ndarray | None = None, protos: np.ndarray | None = None,
    mask_threshold: float = 0.5, transform: Letterbox | None = None,
) -> dict[str, np.ndarray]:
    """Detections (and masks) of one image from the head's raw outputs.

    Args:
        cls_logits: (N, C) classification logits.
        box_ltrb: (N, 4) distances to the box edges in input pixels.
        input_hw: the input tensor's (height, width).
        strides: the head's strides (defines the points, see :mod:`.points`).
        score_threshold, iou_threshold, pre_nms_topk, max_detections, class_agnostic,
            mask_threshold: as in :class:`.config.DetHeadConfig` / ``InstHeadConfig``.
        mask_coeffs: (N, K) mask coefficients (``inst``), with ``protos``.
        protos: (K, H/4, W/4) prototypes (``inst``).
        transform: image → input transform; default: the image is the input.

    Returns:
        ``boxes`` (D, 4) xyxy float32 in image pixels, ``scores`` (D,) float32,
        ``labels`` (D,) int64, and with prototypes ``masks`` (D, H_img, W_img) bool.

    Raises:
        ValueError: on inconsistent shapes.
    """
    points, _ = anchor_points(input_hw, strides)
    cls_logits = np.asarray(cls_logits, np.float32)
    if cls_logits.shape[0] != points.shape[0] or np.shape(box_ltrb)[0] != points.shape[0]:
        raise ValueError(f"outputs have {cls_logits.shape[0]} points, an input of "
                         f"{input_hw} with strides {tuple(strides)} has {points.shape[0]}")
    transform = transform or Letterbox.identity(input_hw)
    point_idx, labels, scores = select_candidates(sigmoid(cls_logits), score_threshold,
                                                  pre_nms_topk)
    boxes = decode_boxes(points[point_idx], np.asarray(box_ltrb)[point_idx], input_hw)
    keep = batched_nms(boxes, scores, labels, iou_threshold, class_agnostic)[:max_detections]
    result = {"boxes": boxes_to_image(boxes[keep], transform), "scores": scores[keep],
              "labels": labels[keep].astype(np.int64)}
    if protos is not None and mask_coeffs is not None:
        protos = np.asarray(protos, np.float32)
        if protos.shape[1:] != (input_hw[0] // PROTO_STRIDE, input_hw[1] // PROTO_STRIDE):
            raise ValueError(f"protos {protos.shape} do not match the input {input_hw}")
        logits = assemble_mask_logits(np.asarray(mask_coeffs)[point_idx[keep]], protos)
        result["masks"] = paste_masks(logits, result["boxes"], transform, mask_threshold)
    return result
