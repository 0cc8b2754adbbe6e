"""DPT neck (Ranftl et al., 2021): reassemble the four maps, fuse them top-down.

Shared by the ``pose`` and ``depth`` heads. DPT reassembles ViT tokens into maps at
strides 4, 8, 16 and 32; the adapter already delivers those four maps, so reassembling is
only the projection to ``features`` channels. Fusion follows DPT: each block adds a
residual conv unit (RCU) of the lateral map to the incoming path, applies a second RCU,
upsamples ×2 bilinearly and projects with a 1×1 conv.

One deliberate difference: DPT's last fusion block also upsamples (to stride 2) and its
depth head upsamples once more to full resolution. Here the neck ends at stride 4, which
is exactly the pose heatmap resolution (64×48 for a 256×192 crop); dense heads that need
full resolution upsample their small output in ``predict`` and in the loss. The convs
after the last fusion therefore run on 4× fewer pixels, which is most of the cost at
edge input sizes.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..models.layers import group_norm


class ResidualConvUnit(nn.Module):
    """Pre-activation residual unit: ``x + conv(relu(conv(relu(x))))``, 3×3 convs.

    No normalisation, as in DPT's depth model (``use_bn=False``).

    Args:
        channels: input and output channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.relu(x))
        return x + self.conv2(F.relu(out))


class FusionBlock(nn.Module):
    """DPT feature fusion: ``project(up(rcu_out(path + rcu_skip(lateral))))``.

    Args:
        channels: channels of the path and the lateral map.
        has_lateral: False for the first (stride-32) block, which only refines the path;
            it then owns no unused skip unit (unused parameters upset DDP).
    """

    def __init__(self, channels: int, has_lateral: bool = True) -> None:
        super().__init__()
        self.rcu_skip = ResidualConvUnit(channels) if has_lateral else None
        self.rcu_out = ResidualConvUnit(channels)
        self.project = nn.Conv2d(channels, channels, 1)

    def forward(self, path: torch.Tensor, lateral: torch.Tensor | None = None,
                size: Sequence[int] | None = None) -> torch.Tensor:
        """Fuse ``lateral`` into ``path``; resize to ``size`` (None: keep the size)."""
        if lateral is not None:
            if self.rcu_skip is None:
                raise ValueError("this fusion block was built without a lateral input")
            path = path + self.rcu_skip(lateral)
        path = self.rcu_out(path)
        if size is not None:
            # Upsample to the next lateral's size rather than by a factor: it is ×2 for
            # sides that are multiples of 32, and stays exact (and static for export)
            # when they are not.
            path = F.interpolate(path, size=tuple(size), mode="bilinear", align_corners=False)
        return self.project(path)


class DPTNeck(nn.Module):
    """Reassemble + top-down fusion of ``[f4, f8, f16, f32]`` into one stride-4 map.

    Args:
        in_channels: channels of the four input maps.
        features: DPT width (256 in the paper).

    Shapes:
        input: four maps (B, in_channels, H/s, W/s), s = 4, 8, 16, 32.
        output: (B, features, H/4, W/4).
    """

    def __init__(self, in_channels: int, features: int = 256) -> None:
        super().__init__()
        self.in_channels, self.features = in_channels, features
        # Reassemble: 1×1 projection + GroupNorm per level. The adapter maps are already
        # at the right strides, so DPT's resampling convolutions have nothing to do.
        self.reassemble = nn.ModuleList(
            nn.Sequential(nn.Conv2d(in_channels, features, 1, bias=False), group_norm(features))
            for _ in range(4))
        # fusion[0] acts on stride 32, fusion[3] on stride 4.
        self.fusion = nn.ModuleList(FusionBlock(features, has_lateral=i > 0) for i in range(4))

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        if len(feats) != 4:
            raise ValueError(f"DPTNeck expects 4 maps (strides 4..32), got {len(feats)}")
        maps = [proj(f) for proj, f in zip(self.reassemble, feats)]
        path = self.fusion[0](maps[3], size=maps[2].shape[-2:])
        for i, level in ((1, 2), (2, 1)):
            path = self.fusion[i](path, maps[level], size=maps[level - 1].shape[-2:])
        return self.fusion[3](path, maps[0])
