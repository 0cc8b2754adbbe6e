"""The adapter's spatial prior module: a small conv stem giving strides 4/8/16/32."""

from __future__ import annotations

import torch
from torch import nn

from ..layers import group_norm


def _conv_gn_relu(cin: int, cout: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), group_norm(cout),
            nn.ReLU(inplace=True)]


class SpatialPriorModule(nn.Module):
    """Conv stem with GroupNorm (where ViT-Adapter has BatchNorm) and 1×1 projections.

    Returns ``c1`` as a (B, D, H/4, W/4) map and ``c2, c3, c4`` as flattened tokens
    (B, h*w, D) at strides 8, 16 and 32.
    """

    def __init__(self, inplanes: int, dim: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            *_conv_gn_relu(3, inplanes, 2),
            *_conv_gn_relu(inplanes, inplanes, 1),
            *_conv_gn_relu(inplanes, inplanes, 1),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.conv2 = nn.Sequential(*_conv_gn_relu(inplanes, 2 * inplanes, 2))
        self.conv3 = nn.Sequential(*_conv_gn_relu(2 * inplanes, 4 * inplanes, 2))
        self.conv4 = nn.Sequential(*_conv_gn_relu(4 * inplanes, 4 * inplanes, 2))
        self.fc1 = nn.Conv2d(inplanes, dim, 1)
        self.fc2 = nn.Conv2d(2 * inplanes, dim, 1)
        self.fc3 = nn.Conv2d(4 * inplanes, dim, 1)
        self.fc4 = nn.Conv2d(4 * inplanes, dim, 1)

    def forward(self, x: torch.Tensor):
        c1 = self.stem(x)
        c2 = self.conv2(c1)
        c3 = self.conv3(c2)
        c4 = self.conv4(c3)
        tokens = [fc(c).flatten(2).transpose(1, 2)
                  for fc, c in ((self.fc2, c2), (self.fc3, c3), (self.fc4, c4))]
        return self.fc1(c1), *tokens
