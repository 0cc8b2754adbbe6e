"""Resizing a learned square position embedding to another patch grid."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def resize_patch_pos_embed(pos_embed: torch.Tensor, grid_hw: tuple[int, int],
                           antialias: bool = True, offset: float = 0.0) -> torch.Tensor:
    """Resize patch position embeddings to a new grid, as DINOv2 does.

    Bicubic, computed in float32. Register models (the Argus default) use antialiasing and
    the exact target size; the original register-free DINOv2 models use no antialiasing
    and a ``+0.1`` offset on the scale factor, reproduced with ``antialias=False,
    offset=0.1``.

    Args:
        pos_embed: (1, M*M, D) patch position embeddings on a square M×M grid (no cls entry).
        grid_hw: the target grid (rows, cols).
        antialias: antialiased bicubic.
        offset: added to the grid size when computing the scale factor (0: exact size).

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
    if offset:
        scale = ((grid_hw[0] + offset) / side, (grid_hw[1] + offset) / side)
        grid = F.interpolate(grid, scale_factor=scale, mode="bicubic", antialias=antialias,
                             align_corners=False)
        if tuple(grid.shape[-2:]) != tuple(grid_hw):
            raise ValueError(f"offset {offset} resized the grid to {tuple(grid.shape[-2:])}, "
                             f"not {tuple(grid_hw)}")
    else:
        grid = F.interpolate(grid, size=tuple(grid_hw), mode="bicubic", antialias=antialias,
                             align_corners=False)
    return grid.permute(0, 2, 3, 1).reshape(1, -1, dim).to(pos_embed.dtype)
