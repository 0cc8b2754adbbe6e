"""The trainable ViT-Adapter: spatial prior, interactions, and the 4-scale output."""

from __future__ import annotations

import torch
from torch import nn

from ..configs import AdapterConfig
from ..layers import MSDeformAttn, group_norm
from .interaction import InteractionBlock
from .spatial_prior import SpatialPriorModule


class ViTAdapter(nn.Module):
    """Parameters of the adapter; :class:`Argus` drives it alongside the ViT.

    Args:
        cfg: adapter settings.
        dim: ViT embed dim.
        vit_heads: ViT heads (used when ``cfg.deform_heads`` is 0).
    """

    def __init__(self, cfg: AdapterConfig, dim: int, vit_heads: int) -> None:
        super().__init__()
        self.cfg = cfg
        heads = cfg.deform_heads or vit_heads
        self.level_embed = nn.Parameter(torch.zeros(3, dim))
        self.spm = SpatialPriorModule(cfg.conv_inplanes, dim)
        n = len(cfg.interaction_indexes)
        self.interactions = nn.ModuleList(
            InteractionBlock(dim, heads, cfg.n_points, cfg.value_ratio, cfg.cffn_ratio,
                             cfg.gamma_init,
                             extra_extractors=cfg.extra_extractors if i == n - 1 else 0,
                             token_scaling=cfg.token_scaling)
            for i in range(n))
        self.up = nn.ConvTranspose2d(dim, dim, 2, 2)
        self.norm1, self.norm2, self.norm3, self.norm4 = (group_norm(dim) for _ in range(4))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """ViT-Adapter's init; the deformable attention keeps Deformable DETR's."""
        nn.init.normal_(self.level_embed)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, 0.0, (2.0 / fan_out) ** 0.5)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.LayerNorm, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, MSDeformAttn):
                m.reset_parameters()

    def output_norms(self) -> tuple[nn.GroupNorm, ...]:
        return self.norm1, self.norm2, self.norm3, self.norm4
