"""``sem``: UperNet (PPM + FPN) with an auxiliary FCN head used in training only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..evaluation.segmentation import IGNORE_INDEX
from ._blocks import ConvNormAct
from ._dist import global_mean
from ._pooling import adaptive_avg_pool2d
from ._registry import register_head
from .base import Features, TaskHead
from .seg_losses import lovasz_softmax, ohem_cross_entropy


@dataclass(frozen=True)
class SemHeadConfig:
    """Attributes:
        num_classes: classes, including background if the dataset labels it.
        class_names: optional names, one per class.
        channels: UperNet width (512 in the paper; 128 or 256 on the edge).
        pool_scales: pyramid pooling scales.
        aux_weight: weight of the auxiliary FCN loss on the stride-16 map (0 disables it).
        aux_channels: width of the auxiliary head.
        dropout: dropout before the classifier.
        lovasz_weight: weight of the Lovász-softmax loss added to the cross-entropy of the
            main logits (:mod:`.seg_losses`; 0 disables it): every class present in an
            image counts equally, where pixel-averaged cross-entropy weighs classes by
            their area.
        ohem_thresh: if > 0, the main cross-entropy counts only hard pixels, whose
            probability of the true class is below this (OHEM; 0 disables it).
        ohem_min_kept: with OHEM, the fraction of labelled pixels kept at least.
    """

    num_classes: int = 150
    class_names: tuple[str, ...] = ()
    channels: int = 512
    pool_scales: tuple[int, ...] = (1, 2, 3, 6)
    aux_weight: float = 0.4
    aux_channels: int = 256
    dropout: float = 0.1
    lovasz_weight: float = 0.0
    ohem_thresh: float = 0.0
    ohem_min_kept: float = 0.1


class PPM(nn.Module):
    """Pyramid pooling: pooled context at several scales, upsampled and concatenated."""

    def __init__(self, cin: int, channels: int, scales: tuple[int, ...]) -> None:
        super().__init__()
        self.scales = scales
        # One norm group: the 1×1 pooled map would leave 32-group GroupNorm a single
        # value per group (output identically 0) when channels ≤ 32.
        self.convs = nn.ModuleList(ConvNormAct(cin, channels, 1, norm_groups=1) for _ in scales)
        self.bottleneck = ConvNormAct(cin + len(scales) * channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        outs = [x] + [F.interpolate(conv(adaptive_avg_pool2d(x, s)), size=size,
                                    mode="bilinear", align_corners=False)
                      for s, conv in zip(self.scales, self.convs)]
        return self.bottleneck(torch.cat(outs, dim=1))


@register_head("sem", SemHeadConfig)
class UperNetHead(TaskHead):
    """UperNet over the four maps; logits at stride 4."""

    decoder_kind = "label_map"

    def runtime_entry(self) -> dict[str, Any]:
        return {"postprocess": {"resize": "bilinear", "ignore_index": 255}}

    def __init__(self, cfg: SemHeadConfig, in_channels: int) -> None:
        super().__init__()
        if cfg.class_names and len(cfg.class_names) != cfg.num_classes:
            raise ValueError("class_names must have num_classes entries")
        self.cfg, self.in_channels = cfg, in_channels
        c = cfg.channels
        self.ppm = PPM(in_channels, c, cfg.pool_scales)
        self.lateral = nn.ModuleList(ConvNormAct(in_channels, c, 1) for _ in range(3))
        self.fpn = nn.ModuleList(ConvNormAct(c, c, 3) for _ in range(3))
        self.fuse = ConvNormAct(4 * c, c, 3)
        self.dropout = nn.Dropout2d(cfg.dropout)
        self.classifier = nn.Conv2d(c, cfg.num_classes, 1)
        self.aux = (nn.Sequential(ConvNormAct(in_channels, cfg.aux_channels, 3),
                                  nn.Dropout2d(cfg.dropout),
                                  nn.Conv2d(cfg.aux_channels, cfg.num_classes, 1))
                    if cfg.aux_weight > 0 else None)

    def forward(self, feats: Features) -> dict[str, torch.Tensor]:
        laterals = [lat(f) for lat, f in zip(self.lateral, feats[:3])] + [self.ppm(feats[3])]
        for i in range(3, 0, -1):  # top-down
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[-2:], mode="bilinear",
                align_corners=False)
        outs = [fpn(x) for fpn, x in zip(self.fpn, laterals[:3])] + [laterals[3]]
        size = outs[0].shape[-2:]
        outs = [outs[0]] + [F.interpolate(o, size=size, mode="bilinear", align_corners=False)
                            for o in outs[1:]]
        logits = self.classifier(self.dropout(self.fuse(torch.cat(outs, dim=1))))
        result = {"logits": logits}
        if self.training and self.aux is not None:
            result["aux_logits"] = self.aux(feats[2])
        return result

    def loss(self, outputs: dict[str, torch.Tensor],
             targets: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Cross-entropy (over the hard pixels with OHEM) + Lovász-softmax, as
        configured, at label resolution; the auxiliary head's plain cross-entropy.

        ``targets["seg"]``: (B, H, W) int64, 255 ignored.
        """
        seg = targets["seg"]
        up = _upsample(outputs["logits"], seg)
        if self.cfg.ohem_thresh > 0:
            ce_sum, kept = ohem_cross_entropy(up, seg, self.cfg.ohem_thresh,
                                              self.cfg.ohem_min_kept, IGNORE_INDEX)
            ce = ce_sum / global_mean(kept, up.device)
        else:
            ce = _seg_ce(up, seg)
        total, parts = ce, {"loss_ce": ce.detach()}
        if self.cfg.lovasz_weight > 0:
            images = global_mean(seg.shape[0], up.device)
            lovasz = lovasz_softmax(up.softmax(dim=1), seg, IGNORE_INDEX) / images
            total = total + self.cfg.lovasz_weight * lovasz
            parts["loss_lovasz"] = lovasz.detach()
        if "aux_logits" in outputs:
            aux = _seg_ce(_upsample(outputs["aux_logits"], seg), seg)
            total = total + self.cfg.aux_weight * aux
            parts["loss_aux"] = aux.detach()
        return {"loss": total, **parts}

    def predict(self, outputs: dict[str, torch.Tensor], size: tuple[int, int] | None = None,
                **_: Any):
        """Label maps (B, H, W) int64 at ``size`` (default: the logits upsampled ×4)."""
        logits = outputs["logits"].float()
        size = size or (logits.shape[-2] * 4, logits.shape[-1] * 4)
        up = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        return up.argmax(1)


def _upsample(logits: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
    """Float32 logits bilinearly resized to the label map's resolution."""
    return F.interpolate(logits.float(), size=seg.shape[-2:], mode="bilinear",
                         align_corners=False)


def _seg_ce(up: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
    """Mean CE over labelled pixels of logits at label resolution, the count averaged
    over data-parallel ranks so that splitting a batch over processes does not change
    the gradient."""
    total = F.cross_entropy(up, seg.long(), ignore_index=IGNORE_INDEX, reduction="sum")
    return total / global_mean((seg != IGNORE_INDEX).sum(), up.device)
