"""Multi-scale deformable attention (Deformable DETR) in plain PyTorch.

The sampling core uses ``grid_sample`` (bilinear, zeros padding, ``align_corners=False``,
grid = 2·loc − 1), so it runs and exports everywhere. ``value_ratio`` shrinks the value
and output projections as ViT-Adapter does (0.5 in Argus).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

SpatialShapes = Sequence[tuple[int, int]]


def reference_points(shapes: SpatialShapes, device=None) -> torch.Tensor:
    """Pixel-centre reference points of each level, normalised to [0, 1].

    Returns:
        (1, sum(h*w), 1, 2) as (x, y), levels concatenated in order.
    """
    points = []
    for h, w in shapes:
        ys = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h
        xs = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w
        y, x = torch.meshgrid(ys, xs, indexing="ij")
        points.append(torch.stack((x.reshape(-1), y.reshape(-1)), -1))
    return torch.cat(points, 0)[None, :, None, :]


def ms_deform_attn_core(value: torch.Tensor, shapes: SpatialShapes,
                        sampling_locations: torch.Tensor,
                        attention_weights: torch.Tensor) -> torch.Tensor:
    """Sample each level bilinearly and take the attention-weighted sum.

    Args:
        value: (B, S, M, Dh) values of M heads, S = sum(h*w) over levels.
        shapes: per-level (h, w).
        sampling_locations: (B, Q, M, L, P, 2) in [0, 1] as (x, y).
        attention_weights: (B, Q, M, L, P), already normalised.

    Returns:
        (B, Q, M*Dh)
    """
    b, _, m, dh = value.shape
    _, q, _, n_levels, n_points, _ = sampling_locations.shape
    values = value.split([h * w for h, w in shapes], dim=1)
    grids = 2 * sampling_locations - 1
    sampled = []
    for lvl, (h, w) in enumerate(shapes):
        v = values[lvl].flatten(2).transpose(1, 2).reshape(b * m, dh, h, w)
        g = grids[:, :, :, lvl].transpose(1, 2).flatten(0, 1)  # (B*M, Q, P, 2)
        sampled.append(F.grid_sample(v, g, mode="bilinear", padding_mode="zeros",
                                     align_corners=False))  # (B*M, Dh, Q, P)
    weights = attention_weights.transpose(1, 2).reshape(b * m, 1, q, n_levels * n_points)
    out = (torch.stack(sampled, dim=-2).flatten(-2) * weights).sum(-1)
    return out.view(b, m * dh, q).transpose(1, 2)


def ms_deform_sample(value: torch.Tensor, ref_points: torch.Tensor, offsets: torch.Tensor,
                     logits: torch.Tensor, shapes: SpatialShapes, n_heads: int,
                     n_points: int) -> torch.Tensor:
    """The query-dependent core between the projections: softmax, locations, sampling.

    What the ``ai.argus::MSDeformSample`` node computes (``docs/custom_ops.md``).

    Args:
        value: (B, S, M*Dh) projected values, head-major channels.
        ref_points: (1 or B, Q, 2) normalised (x, y) reference of each query.
        offsets: (B, Q, M*L*P*2) sampling offsets in pixels of each level, (m, l, p, x/y).
        logits: (B, Q, M*L*P) attention logits, softmax-ed jointly over (l, p) per head.
        shapes: per-level (h, w); L = ``len(shapes)``.
        n_heads, n_points: M, P.

    Returns:
        (B, Q, M*Dh)
    """
    b, q, _ = offsets.shape
    n_levels = len(shapes)
    offsets = offsets.view(b, q, n_heads, n_levels, n_points, 2)
    weights = logits.view(b, q, n_heads, n_levels * n_points).softmax(-1)
    weights = weights.view(b, q, n_heads, n_levels, n_points)
    # offsets are in pixels of each level: normalise by (w, h)
    normalizer = torch.tensor([[w, h] for h, w in shapes], dtype=offsets.dtype,
                              device=offsets.device)
    locations = (ref_points[:, :, None, None, None, :]
                 + offsets / normalizer[None, None, None, :, None, :])
    return ms_deform_attn_core(value.view(b, value.shape[1], n_heads, -1), shapes, locations,
                               weights)


class MSDeformAttn(nn.Module):
    """Multi-scale deformable attention with Deformable DETR's initialisation.

    Args:
        dim: query / output channels.
        n_levels: number of feature levels attended to.
        n_heads: attention heads.
        n_points: sampling points per head and level.
        value_ratio: value channels = ``dim * value_ratio``.
    """

    def __init__(self, dim: int, n_levels: int, n_heads: int, n_points: int,
                 value_ratio: float = 1.0) -> None:
        super().__init__()
        value_dim = int(dim * value_ratio)
        if value_dim % n_heads:
            raise ValueError(f"value dim {value_dim} is not divisible by {n_heads} heads")
        self.dim, self.n_levels, self.n_heads, self.n_points = dim, n_levels, n_heads, n_points
        self.value_dim = value_dim
        self.sampling_offsets = nn.Linear(dim, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(dim, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(dim, value_dim)
        self.output_proj = nn.Linear(value_dim, dim)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Offsets start on rays in H evenly spaced directions, point i at distance i+1."""
        nn.init.zeros_(self.sampling_offsets.weight)
        thetas = torch.arange(self.n_heads, dtype=torch.float32) * (2.0 * math.pi / self.n_heads)
        grid = torch.stack([thetas.cos(), thetas.sin()], -1)
        grid = grid / grid.abs().max(-1, keepdim=True)[0]
        grid = grid.view(self.n_heads, 1, 1, 2).repeat(1, self.n_levels, self.n_points, 1)
        grid = grid * torch.arange(1, self.n_points + 1, dtype=torch.float32).view(1, 1, -1, 1)
        with torch.no_grad():
            self.sampling_offsets.bias.copy_(grid.view(-1))
        nn.init.zeros_(self.attention_weights.weight)
        nn.init.zeros_(self.attention_weights.bias)
        nn.init.xavier_uniform_(self.value_proj.weight)
        nn.init.zeros_(self.value_proj.bias)
        nn.init.xavier_uniform_(self.output_proj.weight)
        nn.init.zeros_(self.output_proj.bias)

    def forward(self, query: torch.Tensor, ref_points: torch.Tensor, feat: torch.Tensor,
                shapes: SpatialShapes) -> torch.Tensor:
        """Attend from ``query`` tokens to the multi-level ``feat`` tokens.

        Args:
            query: (B, Q, dim)
            ref_points: (1 or B, Q, 1, 2) normalised (x, y) reference of each query.
            feat: (B, S, dim) flattened levels, S = sum(h*w).
            shapes: per-level (h, w) of ``feat``; ``len(shapes) == n_levels``.

        Returns:
            (B, Q, dim)
        """
        if len(shapes) != self.n_levels:
            raise ValueError(f"expected {self.n_levels} levels, got {len(shapes)}")
        out = ms_deform_sample(self.value_proj(feat), ref_points[:, :, 0],
                               self.sampling_offsets(query), self.attention_weights(query),
                               shapes, self.n_heads, self.n_points)
        return self.output_proj(out)
