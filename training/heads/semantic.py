"""``sem``: what every semantic-segmentation decoder shares.

The decoders (:mod:`.upernet`, :mod:`.sem_fpn`) differ only in how they fuse the four
maps into one; the classifier, the training-only auxiliary FCN, the loss, the reference
post-processing and the runtime contract (``logits`` (B, C, H/s, W/s), decoder kind
``label_map``) live here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..evaluation.segmentation import IGNORE_INDEX
from ._blocks import ConvNormAct
from ._dist import global_mean
from .base import Features, TaskHead
from .seg_losses import lovasz_softmax, ohem_cross_entropy


@dataclass(frozen=True)
class SemCommonConfig:
    """The fields every ``sem`` decoder's config has.

    Attributes:
        num_classes: classes, including background if the dataset labels it.
        class_names: optional names, one per class.
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
    aux_weight: float = 0.4
    aux_channels: int = 256
    dropout: float = 0.1
    lovasz_weight: float = 0.0
    ohem_thresh: float = 0.0
    ohem_min_kept: float = 0.1


class SemanticHead(TaskHead):
    """Base of the ``sem`` decoders: ``logits = classifier(dropout(decode(feats)))``.

    Subclasses build their decoder, then call :meth:`_build_classifier`, and implement
    :meth:`decode` (the four maps → one map of ``channels`` at :attr:`output_stride`).
    """

    decoder_kind = "label_map"
    #: stride of the logits relative to the input image
    output_stride: int = 4

    def __init__(self, cfg: SemCommonConfig, in_channels: int) -> None:
        super().__init__()
        if cfg.class_names and len(cfg.class_names) != cfg.num_classes:
            raise ValueError("class_names must have num_classes entries")
        self.cfg, self.in_channels = cfg, in_channels

    def _build_classifier(self, channels: int) -> None:
        """Dropout, the 1×1 classifier and the auxiliary FCN (built after the decoder, so
        that a seeded model's initial weights do not depend on this split)."""
        cfg = self.cfg
        self.dropout = nn.Dropout2d(cfg.dropout)
        self.classifier = nn.Conv2d(channels, cfg.num_classes, 1)
        self.aux = (nn.Sequential(ConvNormAct(self.in_channels, cfg.aux_channels, 3),
                                  nn.Dropout2d(cfg.dropout),
                                  nn.Conv2d(cfg.aux_channels, cfg.num_classes, 1))
                    if cfg.aux_weight > 0 else None)

    def runtime_entry(self) -> dict[str, Any]:
        return {"postprocess": {"resize": "bilinear", "ignore_index": IGNORE_INDEX}}

    def decode(self, feats: Features) -> torch.Tensor:  # pragma: no cover
        """The fused map (B, channels, H/s, W/s), s = :attr:`output_stride`."""
        raise NotImplementedError

    def forward(self, feats: Features) -> dict[str, torch.Tensor]:
        logits = self.classifier(self.dropout(self.decode(feats)))
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
        """Label maps (B, H, W) int64 at ``size`` (default: the logits upsampled by
        :attr:`output_stride`, the input size)."""
        logits = outputs["logits"].float()
        s = self.output_stride
        size = size or (logits.shape[-2] * s, logits.shape[-1] * s)
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
