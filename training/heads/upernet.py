"""``sem``: UperNet (PPM + FPN), the paper's decoder and the task's default.

The classifier, the training-only auxiliary FCN, the loss and the post-processing are
:mod:`.semantic`'s, shared with the light FPN head (:mod:`.sem_fpn`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ._blocks import ConvNormAct
from ._pooling import adaptive_avg_pool2d
from ._registry import register_head
from .base import Features
from .semantic import SemanticHead, SemCommonConfig


@dataclass(frozen=True)
class SemHeadConfig(SemCommonConfig):
    """UperNet's config: the fields of :class:`.SemCommonConfig` and

    Attributes:
        channels: UperNet width (512 in the paper; 128 or 256 on the edge).
        pool_scales: pyramid pooling scales.
        decoder: ``"upernet"`` (fixed: it names this decoder in config dicts).
    """

    channels: int = 512
    pool_scales: tuple[int, ...] = (1, 2, 3, 6)
    decoder: str = field(default="upernet", init=False)


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
class UperNetHead(SemanticHead):
    """UperNet over the four maps; logits at stride 4.

    Its cost is the fusion at stride 4: a 3×3 conv from ``4 · channels`` to ``channels``
    (at 512 channels on argus_base at 512×512: 309 of the head's 437 GFLOPs).
    """

    def __init__(self, cfg: SemHeadConfig, in_channels: int) -> None:
        super().__init__(cfg, in_channels)
        c = cfg.channels
        self.ppm = PPM(in_channels, c, cfg.pool_scales)
        self.lateral = nn.ModuleList(ConvNormAct(in_channels, c, 1) for _ in range(3))
        self.fpn = nn.ModuleList(ConvNormAct(c, c, 3) for _ in range(3))
        self.fuse = ConvNormAct(4 * c, c, 3)
        self._build_classifier(c)

    def decode(self, feats: Features) -> torch.Tensor:
        laterals = [lat(f) for lat, f in zip(self.lateral, feats[:3])] + [self.ppm(feats[3])]
        for i in range(3, 0, -1):  # top-down
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[-2:], mode="bilinear",
                align_corners=False)
        outs = [fpn(x) for fpn, x in zip(self.fpn, laterals[:3])] + [laterals[3]]
        size = outs[0].shape[-2:]
        outs = [outs[0]] + [F.interpolate(o, size=size, mode="bilinear", align_corners=False)
                            for o in outs[1:]]
        return self.fuse(torch.cat(outs, dim=1))
