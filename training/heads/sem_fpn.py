"""``sem``: the light FPN head, the edge decoder of DESIGN.md's task table.

The semantic branch of Panoptic FPN (Kirillov et al., 2019) on the adapter's maps, cut to
one conv per level: 1×1 laterals to a small width, the top-down FPN sum, one 3×3 conv
per level, every level resized to the output stride and summed, then the shared 1×1
classifier. UperNet (:mod:`.upernet`) instead concatenates the four levels at stride 4
and fuses them with a 3×3 conv of ``4 · channels`` inputs; summing removes that conv,
and the narrow width makes the rest cheap: about 11 GFLOPs at 128 channels against
UperNet-512's ~437 on argus_base at 512×512 (``benchmarks/bench_sem_heads.py``).

Select it with ``decoder: fpn`` in the ``sem`` head config; its outputs are UperNet's
(``logits`` for the runtime's ``label_map`` decoder), so export and runtime are shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ._blocks import ConvNormAct
from ._registry import register_head
from .base import Features
from .semantic import SemanticHead, SemCommonConfig

#: strides of the adapter's four maps
_STRIDES = (4, 8, 16, 32)


@dataclass(frozen=True)
class FPNSemHeadConfig(SemCommonConfig):
    """The light FPN head's config: the fields of :class:`.SemCommonConfig` and

    Attributes:
        channels: width of the laterals and of the per-level convs (Panoptic FPN's
            semantic branch: 128).
        output_stride: stride of the logits, 4 or 8. At 8 the stride-4 map is not used
            and the head's stride-4 work (its largest part) goes; the runtime resizes
            the logits from whatever size they have.
        decoder: ``"fpn"`` (fixed: it names this decoder in config dicts).
    """

    channels: int = 128
    output_stride: int = 4
    decoder: str = field(default="fpn", init=False)

    def __post_init__(self) -> None:
        if self.output_stride not in (4, 8):
            raise ValueError(f"output_stride must be 4 or 8, got {self.output_stride}")
        if self.channels < 1:
            raise ValueError(f"channels must be positive, got {self.channels}")


@register_head("sem", FPNSemHeadConfig, default=False)
class FPNSemHead(SemanticHead):
    """Light FPN over the maps at strides ≥ ``output_stride``; logits at that stride.

    Shapes:
        input: four maps (B, in_channels, H/s, W/s), s = 4, 8, 16, 32.
        output: ``logits`` (B, num_classes, H/o, W/o), o = ``output_stride``; in training
        also ``aux_logits`` (B, num_classes, H/16, W/16) when ``aux_weight`` > 0.
    """

    def __init__(self, cfg: FPNSemHeadConfig, in_channels: int) -> None:
        super().__init__(cfg, in_channels)
        self.output_stride = cfg.output_stride
        self.first_level = _STRIDES.index(cfg.output_stride)
        levels = len(_STRIDES) - self.first_level
        c = cfg.channels
        self.lateral = nn.ModuleList(ConvNormAct(in_channels, c, 1) for _ in range(levels))
        self.smooth = nn.ModuleList(ConvNormAct(c, c, 3) for _ in range(levels))
        self._build_classifier(c)

    def decode(self, feats: Features) -> torch.Tensor:
        if len(feats) != len(_STRIDES):
            raise ValueError(f"FPNSemHead expects 4 maps (strides 4..32), got {len(feats)}")
        maps = [lat(f) for lat, f in zip(self.lateral, feats[self.first_level:])]
        for i in range(len(maps) - 1, 0, -1):  # top-down
            maps[i - 1] = maps[i - 1] + _resize(maps[i], maps[i - 1].shape[-2:])
        size = maps[0].shape[-2:]
        out = self.smooth[0](maps[0])
        for conv, m in zip(self.smooth[1:], maps[1:]):
            out = out + _resize(conv(m), size)
        return out


def _resize(x: torch.Tensor, size) -> torch.Tensor:
    """Bilinear resize to the finer map's size (static for export at any input size)."""
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)
