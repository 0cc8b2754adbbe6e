"""Injector, extractor and the interaction block that wraps a run of ViT blocks.

Argus token scaling: before each interaction the ViT patch tokens are multiplied per
image by s = √d / mean_t ‖x_t‖₂. DINOv2's tokens have large, image-dependent norms; the
scale makes the injector's residual update relative to them. The injector's output is
divided by s again, so the frozen ViT blocks see tokens at their own scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..layers import MSDeformAttn

Shapes = Sequence[tuple[int, int]]


def token_scale(x: torch.Tensor) -> torch.Tensor:
    """Per-image factor √d / mean over tokens of ‖x_t‖₂, shaped (B, 1, 1)."""
    mean_norm = x.norm(dim=-1).mean(dim=-1)
    return (x.shape[-1] ** 0.5 / mean_norm.clamp_min(1e-6))[:, None, None]


class ConvFFN(nn.Module):
    """Linear → depthwise 3×3 (on each level's map) → GELU → linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor, shapes: Shapes) -> torch.Tensor:
        x = self.fc1(x)
        b, _, c = x.shape
        levels = x.split([h * w for h, w in shapes], dim=1)
        x = torch.cat([
            self.dwconv(lv.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
            for lv, (h, w) in zip(levels, shapes)], dim=1)
        return self.fc2(self.act(x))


class Injector(nn.Module):
    """ViT patch tokens (query) attend to the adapter's multi-level tokens."""

    def __init__(self, dim: int, heads: int, points: int, value_ratio: float, n_levels: int,
                 gamma_init: float, eps: float = 1e-6) -> None:
        super().__init__()
        self.query_norm = nn.LayerNorm(dim, eps=eps)
        self.feat_norm = nn.LayerNorm(dim, eps=eps)
        self.attn = MSDeformAttn(dim, n_levels, heads, points, value_ratio)
        self.gamma = nn.Parameter(torch.full((dim,), float(gamma_init)))

    def forward(self, x: torch.Tensor, ref: torch.Tensor, feat: torch.Tensor,
                feat_shapes: Shapes) -> torch.Tensor:
        attn = self.attn(self.query_norm(x), ref, self.feat_norm(feat), feat_shapes)
        return x + self.gamma * attn


class Extractor(nn.Module):
    """Adapter tokens (query) attend to the ViT patch tokens, then a ConvFFN."""

    def __init__(self, dim: int, heads: int, points: int, value_ratio: float,
                 cffn_ratio: float, eps: float = 1e-6) -> None:
        super().__init__()
        self.query_norm = nn.LayerNorm(dim, eps=eps)
        self.feat_norm = nn.LayerNorm(dim, eps=eps)
        self.attn = MSDeformAttn(dim, 1, heads, points, value_ratio)
        self.ffn = ConvFFN(dim, int(dim * cffn_ratio))
        self.ffn_norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, c: torch.Tensor, ref: torch.Tensor, feat: torch.Tensor,
                feat_shape: tuple[int, int], c_shapes: Shapes) -> torch.Tensor:
        c = c + self.attn(self.query_norm(c), ref, self.feat_norm(feat), [feat_shape])
        return c + self.ffn(self.ffn_norm(c), c_shapes)


class InteractionBlock(nn.Module):
    """Injector → a run of frozen ViT blocks → extractor(s).

    cls and register tokens bypass the injector and extractor; the ViT blocks see them.
    """

    def __init__(self, dim: int, heads: int, points: int, value_ratio: float,
                 cffn_ratio: float, gamma_init: float, extra_extractors: int,
                 token_scaling: bool) -> None:
        super().__init__()
        self.token_scaling = token_scaling
        self.injector = Injector(dim, heads, points, value_ratio, 3, gamma_init)
        self.extractor = Extractor(dim, heads, points, value_ratio, cffn_ratio)
        self.extra_extractors = nn.ModuleList(
            Extractor(dim, heads, points, value_ratio, cffn_ratio)
            for _ in range(extra_extractors))

    def _scale(self, x: torch.Tensor) -> torch.Tensor:
        if not self.token_scaling:
            return x.new_ones(x.shape[0], 1, 1)
        return token_scale(x)

    def forward(self, tokens: torch.Tensor, c: torch.Tensor, blocks: Sequence[nn.Module],
                n_prefix: int, grid: tuple[int, int], c_shapes: Shapes,
                ref_vit: torch.Tensor, ref_c: torch.Tensor):
        """Returns the updated (tokens incl. prefix, adapter tokens c)."""
        prefix, x = tokens[:, :n_prefix], tokens[:, n_prefix:]
        s = self._scale(x)
        x = self.injector(x * s, ref_vit, c, c_shapes) / s
        tokens = torch.cat([prefix, x], dim=1)
        for blk in blocks:
            tokens = blk(tokens)
        # The extractor reads the ViT tokens through feat_norm (a LayerNorm), on which a
        # per-image scale has no effect: only the injector's update needs the scaling.
        feat = tokens[:, n_prefix:]
        for extractor in (self.extractor, *self.extra_extractors):
            c = extractor(c, ref_c, feat, grid, c_shapes)
        return tokens, c


