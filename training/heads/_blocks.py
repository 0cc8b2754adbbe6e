"""Small conv blocks shared by the dense heads."""

from __future__ import annotations

from torch import nn

from ..models.layers import group_norm


class ConvNormAct(nn.Sequential):
    """Conv (no bias) → GroupNorm → ReLU. GroupNorm rather than BatchNorm: per-task
    batches are small in multitask training, and it exports as a plain op.
    ``norm_groups`` overrides the default of 32 groups."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1,
                 norm_groups: int | None = None) -> None:
        norm = nn.GroupNorm(norm_groups, cout) if norm_groups else group_norm(cout)
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
            norm,
            nn.ReLU(inplace=True),
        )
