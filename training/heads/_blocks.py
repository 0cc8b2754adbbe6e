"""Small conv blocks shared by the dense heads."""

from __future__ import annotations

from torch import nn

from ..models.layers import group_norm


class ConvNormAct(nn.Sequential):
    """Conv (no bias) → GroupNorm → ReLU. GroupNorm rather than BatchNorm: per-task
    batches are small in multitask training, and it exports as a plain op."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False),
            group_norm(cout),
            nn.ReLU(inplace=True),
        )
