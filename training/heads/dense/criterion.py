"""Training targets and losses of the dense head for a batch.

Targets (per batch, lists with one entry per image, in input-tensor pixels):

* ``boxes``: (M, 4) float xyxy;
* ``labels``: (M,) int64 in ``[0, num_classes)``;
* ``iscrowd``: optional (M,) bool (crowd boxes: see :mod:`.assigner`);
* ``masks``: (M, H, W) bool/uint8/float instance masks (``inst`` only), aligned with
  ``boxes``, at input resolution (any resolution of the input frame works: they are
  area-averaged to the prototype grid, giving soft targets at the edges).

Normalisation: classification and box losses are sums divided by the number of
positives averaged over data-parallel ranks (:func:`argus_edge.training.heads._dist.global_mean`); the mask loss
is divided by the (rank-averaged) number of instances whose masks were assembled.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .assigner import Assignment, atss_assign
from .box_ops import distance_to_box
from .config import DetHeadConfig, InstHeadConfig
from .._dist import global_mean
from .losses import giou_loss, mask_loss, quality_focal_loss
from .mask_paste import PROTO_STRIDE
from .protonet import assemble_mask_logits


def assign_batch(cfg: DetHeadConfig, points: torch.Tensor, point_strides: torch.Tensor,
                 targets: dict[str, Any]) -> list[Assignment]:
    """ATSS for every image of the batch (see :func:`.assigner.atss_assign`).

    Args:
        cfg: the head config (classes, strides, ATSS parameters).
        points: (N, 2) anchor points in the head's output order.
        point_strides: (N,) stride of each point.
        targets: the batch's targets (module docstring).

    Returns:
        One :class:`.assigner.Assignment` per image.
    """
    counts = [int((point_strides == s).sum()) for s in cfg.strides]
    crowd = targets.get("iscrowd")
    crowd = [None] * len(targets["boxes"]) if crowd is None else crowd
    return [atss_assign(points, point_strides, counts, boxes, labels, cfg.num_classes, c,
                        cfg.atss_topk, cfg.anchor_scale)
            for boxes, labels, c in zip(targets["boxes"], targets["labels"], crowd)]


def detection_losses(cfg: DetHeadConfig, outputs: dict[str, torch.Tensor],
                     points: torch.Tensor, assigns: list[Assignment]) -> dict[str, torch.Tensor]:
    """Quality Focal Loss and GIoU loss, unweighted, normalised by #positives.

    GIoU is averaged plainly over positives (GFL additionally weights it by the
    predicted score; with ATSS's few, good positives the plain mean trains as well).

    Args:
        cfg: the head config.
        outputs: raw outputs with ``cls_logits`` (B, N, C) and ``box_ltrb`` (B, N, 4).
        points: (N, 2) anchor points.
        assigns: per-image assignments.

    Returns:
        ``loss_cls``, ``loss_box`` and the normaliser ``num_pos``.
    """
    cls_logits, ltrb = outputs["cls_logits"], outputs["box_ltrb"]
    labels = torch.stack([a.labels for a in assigns])
    pos = torch.stack([a.positive for a in assigns])
    ignore = torch.stack([a.ignore for a in assigns])
    box_targets = torch.stack([a.box_targets for a in assigns])
    num_pos = global_mean(pos.sum(), cls_logits.device)
    pred_boxes = distance_to_box(points[None], ltrb.float())  # float: bf16 points are off by pixels
    box_sum, iou = giou_loss(pred_boxes[pos], box_targets[pos])
    quality = torch.zeros(pos.shape, device=cls_logits.device)
    quality[pos] = iou
    keep = ~ignore
    cls_sum = quality_focal_loss(cls_logits[keep], labels[keep], quality[keep], cfg.qfl_beta)
    return {"loss_cls": cls_sum / num_pos, "loss_box": box_sum / num_pos,
            "num_pos": num_pos.detach()}


def _sample_positives(assign: Assignment, limit: int) -> torch.Tensor:
    idx = torch.nonzero(assign.positive).flatten()
    if limit > 0 and idx.numel() > limit:
        idx = idx[torch.randperm(idx.numel(), device=idx.device)[:limit]]
    return idx


def instance_mask_losses(cfg: InstHeadConfig, outputs: dict[str, torch.Tensor],
                         assigns: list[Assignment],
                         gt_masks: list[torch.Tensor]) -> dict[str, torch.Tensor]:
    """BCE + dice of the assembled masks of (at most ``max_mask_positives``) positives
    per image, each cropped to its ground-truth box at prototype resolution.

    Args:
        cfg: the head config.
        outputs: raw outputs with ``mask_coeffs`` (B, N, K) and ``protos`` (B, K, h, w).
        assigns: per-image assignments.
        gt_masks: per image (M, H, W) instance masks in the input frame.

    Returns:
        ``loss_mask`` and ``loss_dice``, averaged over the assembled instances.
    """
    coeffs, protos = outputs["mask_coeffs"], outputs["protos"]
    bce_sum = dice_sum = (coeffs.sum() + protos.sum()) * 0.0  # keeps the graph when empty
    count = 0
    for b, assign in enumerate(assigns):
        idx = _sample_positives(assign, cfg.max_mask_positives)
        if idx.numel() == 0:
            continue
        gt = gt_masks[b][assign.gt_index[idx].to(gt_masks[b].device)]
        gt = gt.to(protos.device, torch.float32)
        gt = F.adaptive_avg_pool2d(gt[:, None], protos.shape[-2:])[:, 0]
        logits = assemble_mask_logits(coeffs[b, idx].float(), protos[b].float())
        bce, dice = mask_loss(logits, gt, assign.box_targets[idx] / PROTO_STRIDE,
                              cfg.dice_weight)
        bce_sum, dice_sum, count = bce_sum + bce, dice_sum + dice, count + idx.numel()
    n = global_mean(count, protos.device)
    return {"loss_mask": bce_sum / n, "loss_dice": dice_sum / n}
