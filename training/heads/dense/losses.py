"""Losses of the dense head: Quality Focal Loss, GIoU loss, cropped mask BCE + dice.

Every function returns a *sum*; the caller divides by a normaliser that is averaged over
data-parallel ranks (:func:`argus_edge.training.heads._dist.global_mean`), so the gradient does not depend on how a batch
is split across processes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .box_ops import aligned_iou_giou


def quality_focal_loss(logits: torch.Tensor, labels: torch.Tensor, quality: torch.Tensor,
                       beta: float = 2.0) -> torch.Tensor:
    """Quality Focal Loss (Li et al., "Generalized Focal Loss", NeurIPS 2020), summed.

    The target of a positive point is the IoU of its predicted box with its ground truth
    (the "quality") at its class and 0 at the others; negatives have 0 everywhere.
    Loss = BCE(σ(x), y) · |y − σ(x)|^β.

    Args:
        logits: (P, C) classification logits.
        labels: (P,) int64 classes, ``C`` for background.
        quality: (P,) soft targets in [0, 1] (read at positives only; no gradient).
        beta: focusing exponent.

    Returns:
        The summed loss (scalar).
    """
    logits = logits.float()
    num_classes = logits.shape[1]
    target = torch.zeros_like(logits)
    pos = labels < num_classes
    target[pos, labels[pos]] = quality[pos].detach().float().clamp(0, 1)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (bce * (logits.sigmoid() - target).abs().pow(beta)).sum()


def giou_loss(pred_boxes: torch.Tensor, target_boxes: torch.Tensor,
              weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed 1 − GIoU of matching rows of (P, 4) xyxy boxes.

    Args:
        pred_boxes: (P, 4) predicted boxes.
        target_boxes: (P, 4) ground truth.
        weights: optional (P,) per-box weights.

    Returns:
        ``(loss, iou)``: the summed (weighted) loss and the detached (P,) IoUs, which are
        the Quality Focal Loss targets.
    """
    iou, giou = aligned_iou_giou(pred_boxes.float(), target_boxes.float())
    loss = 1.0 - giou
    if weights is not None:
        loss = loss * weights
    return loss.sum(), iou.detach()


def crop_mask(masks: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """(P, h, w) bool mask of the pixels whose centres lie inside each box.

    Args:
        masks: (P, h, w) maps, only their shape is used.
        boxes: (P, 4) xyxy boxes in the maps' pixel units.
    """
    p, h, w = masks.shape
    xs = torch.arange(w, device=masks.device, dtype=torch.float32) + 0.5
    ys = torch.arange(h, device=masks.device, dtype=torch.float32) + 0.5
    b = boxes.float()
    in_x = (xs[None, :] >= b[:, 0:1]) & (xs[None, :] < b[:, 2:3])  # (P, w)
    in_y = (ys[None, :] >= b[:, 1:2]) & (ys[None, :] < b[:, 3:4])  # (P, h)
    return in_y[:, :, None] & in_x[:, None, :]


def mask_loss(mask_logits: torch.Tensor, target: torch.Tensor, boxes: torch.Tensor,
              dice_weight: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed per-instance BCE and dice of assembled masks, both cropped to the box.

    BCE is averaged over the pixels inside the box (YOLACT normalises by box area, so
    small objects count as much as large ones); dice is computed on the same crop.

    Args:
        mask_logits: (P, h, w) assembled mask logits at prototype resolution.
        target: (P, h, w) ground-truth masks in [0, 1] at the same resolution.
        boxes: (P, 4) ground-truth boxes in prototype pixels.
        dice_weight: if 0 the dice term is skipped (returned as zero).

    Returns:
        ``(bce_sum, dice_sum)`` over the P instances.
    """
    logits, target = mask_logits.float(), target.float()
    crop = crop_mask(logits, boxes).float()
    area = crop.sum(dim=(1, 2)).clamp(min=1.0)
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    bce = ((bce * crop).sum(dim=(1, 2)) / area).sum()
    if dice_weight == 0:
        return bce, logits.new_zeros(())
    prob = logits.sigmoid() * crop
    t = target * crop
    inter = (prob * t).sum(dim=(1, 2))
    dice = 1.0 - (2 * inter + 1.0) / (prob.sum(dim=(1, 2)) + t.sum(dim=(1, 2)) + 1.0)
    return bce, dice.sum()
