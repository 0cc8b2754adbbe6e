"""ATSS label assignment (Zhang et al., "Bridging the Gap Between Anchor-based and
Anchor-free Detection via Adaptive Training Sample Selection", CVPR 2020).

Why ATSS rather than SimOTA: ATSS depends only on geometry, not on the predictions, so
the targets are stable from the first step (the multitask budget trains this head for
minutes, often on a randomly initialised backbone, where SimOTA's prediction-based costs
are noise); it has one hyperparameter (top-k) and adapts the IoU threshold per object
from the candidates' IoU statistics; and it costs one (N, M) IoU matrix rather than
SimOTA's (N, M) class+IoU cost with a dynamic-k matching. It is also the assigner GFL's
Quality Focal Loss was designed with.

The anchor-free form: each point has a square "anchor" of side ``anchor_scale · stride``
centred on it. For each ground-truth box, the ``topk`` points of each level closest to
its centre are candidates; those whose anchor IoU is ≥ mean + std of the candidates' IoUs
and whose centre lies inside the box are positives. A point positive for several boxes
takes the one of highest IoU.

Crowd boxes (``iscrowd``) never make positives; points whose centre lies inside a crowd
box and that are not positive for another box are *ignored*: neither positive nor
negative in the classification loss (COCO does not count detections on crowd regions as
false positives, so training must not push them down either).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .box_ops import pairwise_iou

_INSIDE_EPS = 0.01  # a point must be at least this far (pixels) inside a box


@dataclass(frozen=True)
class Assignment:
    """Per-point targets of one image (N points).

    Attributes:
        labels: (N,) int64 class of each point; ``num_classes`` marks background.
        gt_index: (N,) int64 index of the matched box in the image's boxes, -1 if none.
        box_targets: (N, 4) xyxy of the matched box (zeros where none).
        ignore: (N,) bool, points excluded from the classification loss (crowd regions).
    """

    labels: torch.Tensor
    gt_index: torch.Tensor
    box_targets: torch.Tensor
    ignore: torch.Tensor

    @property
    def positive(self) -> torch.Tensor:
        """(N,) bool mask of positive points."""
        return self.gt_index >= 0


def _points_inside(points: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(..., 2) points vs boxes broadcast to (..., 4): centre strictly inside."""
    ltrb = torch.cat([points - boxes[..., :2], boxes[..., 2:] - points], dim=-1)
    return ltrb.min(dim=-1).values > _INSIDE_EPS


def _candidates(points: torch.Tensor, centers: torch.Tensor, level_counts: Sequence[int],
                topk: int) -> torch.Tensor:
    """(K, M) indices of each box's ``topk`` closest points of every level."""
    dist = torch.cdist(points, centers)  # (N, M)
    out, start = [], 0
    for n in level_counts:
        k = min(topk, n)
        if k > 0:
            out.append(dist[start:start + n].topk(k, dim=0, largest=False).indices + start)
        start += n
    return torch.cat(out, dim=0)


@torch.no_grad()
def atss_assign(points: torch.Tensor, point_strides: torch.Tensor,
                level_counts: Sequence[int], boxes: torch.Tensor, labels: torch.Tensor,
                num_classes: int, iscrowd: torch.Tensor | None = None, topk: int = 9,
                anchor_scale: float = 8.0) -> Assignment:
    """Assign ground-truth boxes to the points of one image.

    Args:
        points: (N, 2) point positions (x, y), in the head's output order.
        point_strides: (N,) stride of each point's level.
        level_counts: number of points of each level (sums to N).
        boxes: (M, 4) xyxy ground-truth boxes in input pixels.
        labels: (M,) int64 classes in ``[0, num_classes)``.
        num_classes: number of classes (the background label).
        iscrowd: optional (M,) bool, crowd boxes.
        topk: candidates per level per box.
        anchor_scale: anchor side in strides.

    Returns:
        The :class:`Assignment`. Boxes with zero width or height are skipped.
    """
    n, dev = points.shape[0], points.device
    boxes = boxes.to(dev, torch.float32).reshape(-1, 4)
    labels = labels.to(dev).reshape(-1).long()
    crowd = (torch.zeros(len(boxes), dtype=torch.bool, device=dev) if iscrowd is None
             else iscrowd.to(dev).reshape(-1).bool())
    valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    gt_index = torch.full((n,), -1, dtype=torch.long, device=dev)
    ignore = torch.zeros(n, dtype=torch.bool, device=dev)
    normal = torch.nonzero(valid & ~crowd).flatten()
    if len(normal):
        gt_index = _atss_match(points, point_strides, level_counts, boxes[normal], topk,
                               anchor_scale)
        gt_index = torch.where(gt_index >= 0, normal[gt_index.clamp(min=0)], gt_index)
    crowd_boxes = boxes[valid & crowd]
    if len(crowd_boxes):
        in_crowd = _points_inside(points[:, None], crowd_boxes[None]).any(dim=1)
        ignore = in_crowd & (gt_index < 0)
    pos = gt_index >= 0
    matched = gt_index.clamp(min=0)
    out_labels = torch.full((n,), num_classes, dtype=torch.long, device=dev)
    box_targets = torch.zeros(n, 4, device=dev)
    if pos.any():
        out_labels[pos] = labels[matched[pos]]
        box_targets[pos] = boxes[matched[pos]]
    return Assignment(out_labels, gt_index, box_targets, ignore)


def _atss_match(points: torch.Tensor, point_strides: torch.Tensor,
                level_counts: Sequence[int], boxes: torch.Tensor, topk: int,
                anchor_scale: float) -> torch.Tensor:
    """(N,) index into ``boxes`` of each point's match, -1 for none (all boxes valid)."""
    half = (point_strides * (anchor_scale / 2))[:, None]
    anchors = torch.cat([points - half, points + half], dim=1)
    ious = pairwise_iou(anchors, boxes)  # (N, M)
    centers = (boxes[:, :2] + boxes[:, 2:]) / 2
    cand = _candidates(points, centers, level_counts, topk)  # (K, M)
    cand_iou = ious.gather(0, cand)
    std = cand_iou.std(dim=0) if cand.shape[0] > 1 else torch.zeros_like(cand_iou[0])
    threshold = cand_iou.mean(dim=0) + std
    is_pos = (cand_iou >= threshold) & _points_inside(points[cand], boxes[None].expand(
        cand.shape[0], -1, -1))
    box_idx = torch.arange(boxes.shape[0], device=points.device).expand_as(cand)
    overlaps = torch.full_like(ious, -1.0)
    overlaps[cand[is_pos], box_idx[is_pos]] = ious[cand[is_pos], box_idx[is_pos]]
    best, best_idx = overlaps.max(dim=1)
    return torch.where(best >= 0, best_idx, torch.full_like(best_idx, -1))
