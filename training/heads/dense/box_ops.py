"""Torch box geometry used in training (xyxy boxes in input pixels)."""

from __future__ import annotations

import torch


def distance_to_box(points: torch.Tensor, ltrb: torch.Tensor) -> torch.Tensor:
    """Points (..., 2) and distances (..., 4) to the left/top/right/bottom edges → xyxy."""
    return torch.cat([points - ltrb[..., :2], points + ltrb[..., 2:]], dim=-1)


def box_to_distance(points: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`distance_to_box` (negative where a point is outside its box)."""
    return torch.cat([points - boxes[..., :2], boxes[..., 2:] - points], dim=-1)


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas of xyxy boxes (..., 4); zero for inverted boxes."""
    wh = (boxes[..., 2:] - boxes[..., :2]).clamp(min=0)
    return wh[..., 0] * wh[..., 1]


def pairwise_iou(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4): (N, M)."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union.clamp(min=eps)


def aligned_iou_giou(a: torch.Tensor, b: torch.Tensor,
                     eps: float = 1e-7) -> tuple[torch.Tensor, torch.Tensor]:
    """IoU and generalised IoU of matching rows of ``a`` and ``b`` (both (N, 4)).

    Returns:
        ``(iou, giou)``, each (N,); GIoU = IoU − (hull − union) / hull (Rezatofighi 2019).
    """
    lt = torch.maximum(a[:, :2], b[:, :2])
    rb = torch.minimum(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = box_area(a) + box_area(b) - inter
    iou = inter / union.clamp(min=eps)
    hull_wh = (torch.maximum(a[:, 2:], b[:, 2:]) - torch.minimum(a[:, :2], b[:, :2])).clamp(min=0)
    hull = hull_wh.prod(-1).clamp(min=eps)
    return iou, iou - (hull - union) / hull
