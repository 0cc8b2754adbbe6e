"""Resizing a learned square position embedding to another patch grid."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def resize_patch_pos_embed(pos_embed: torch.Tensor, grid_hw: tuple[int, int]) -> torch.Tensor:
    """Resize patch position embeddings to a new grid, as DINOv2 register models do.

    Bicubic with antialiasing to the exact target size (no ``+0.1`` offset), computed in
    float32.

    Args:
        pos_embed: (1, M*M, D) patch position embeddings on a square M×M grid (no cls entry).
        grid_hw: the target grid (rows, cols).

    Returns:
        (1, rows*cols, D) embeddings in the dtype of ``pos_embed``.
    """
    n, dim = pos_embed.shape[1], pos_embed.shape[2]
    side = int(math.isqrt(n))
    if side * side != n:
        raise ValueError(f"position embedding has {n} entries, not a square grid")
    if (side, side) == tuple(grid_hw):
        return pos_embed
    grid = pos_embed.float().reshape(1, side, side, dim).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=tuple(grid_hw), mode="bicubic", antialias=True,
                         align_corners=False)
    return grid.permute(0, 2, 3, 1).reshape(1, -1, dim).to(pos_embed.dtype)
