"""Non-overlapping patch embedding (a strided convolution), named as in DINOv2."""

from __future__ import annotations

import torch
from torch import nn


class PatchEmbed(nn.Module):
    """Image (B, 3, H, W) → tokens (B, H/p · W/p, dim), row-major over the patch grid."""

    def __init__(self, patch_size: int, in_chans: int, dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        if h % self.patch_size or w % self.patch_size:
            raise ValueError(
                f"input {h}x{w} is not a multiple of the patch size {self.patch_size}")
        return self.proj(x).flatten(2).transpose(1, 2)
