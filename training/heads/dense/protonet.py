"""YOLACT-style mask prototypes (Bolya et al., "YOLACT: Real-time Instance
Segmentation", ICCV 2019): K image-wide prototypes at stride 4, combined per instance
by K coefficients predicted at every point."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._blocks import ConvNormAct


class ProtoNet(nn.Module):
    """Prototypes from the stride-4 map fused with the upsampled stride-8 map.

    Args:
        in_channels: channels of the backbone maps.
        channels: width of the net.
        num_convs: 3×3 conv layers after the fusion.
        num_protos: number of prototypes K.
    """

    def __init__(self, in_channels: int, channels: int, num_convs: int, num_protos: int) -> None:
        super().__init__()
        self.lateral4 = ConvNormAct(in_channels, channels, 1)
        self.lateral8 = ConvNormAct(in_channels, channels, 1)
        self.convs = nn.Sequential(*[ConvNormAct(channels, channels, 3) for _ in range(num_convs)])
        self.out = nn.Conv2d(channels, num_protos, 1)

    def forward(self, f4: torch.Tensor, f8: torch.Tensor) -> torch.Tensor:
        """(B, K, H/4, W/4) non-negative prototypes (ReLU, as YOLACT)."""
        x = self.lateral4(f4) + F.interpolate(self.lateral8(f8), size=f4.shape[-2:],
                                              mode="bilinear", align_corners=False)
        return F.relu(self.out(self.convs(x)))


def assemble_mask_logits(coeffs: torch.Tensor, protos: torch.Tensor) -> torch.Tensor:
    """Linear combination of prototypes: (P, K) coefficients × (K, h, w) → (P, h, w) logits.

    The instance mask is ``sigmoid`` of this, cropped to the instance's box.
    """
    k, h, w = protos.shape
    return (coeffs @ protos.reshape(k, h * w)).reshape(-1, h, w)
