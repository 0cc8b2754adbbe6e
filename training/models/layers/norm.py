"""Normalisation helpers."""

from __future__ import annotations

import math

from torch import nn


def group_norm(channels: int, max_groups: int = 32) -> nn.GroupNorm:
    """GroupNorm with 32 groups, or the largest divisor of ``channels`` below that.

    Argus uses GroupNorm wherever ViT-Adapter has BatchNorm: it does not depend on the
    batch, so training with small per-task batches and exporting are both unaffected.
    """
    return nn.GroupNorm(math.gcd(channels, max_groups), channels)
