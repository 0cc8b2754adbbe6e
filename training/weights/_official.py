"""The official DINOv2 layout (``torch.hub`` ``dinov2_vit*14_reg4`` checkpoints).

The hub checkpoints already use the names of :class:`DinoV2`. Checkpoints saved by the
DINOv2 training code with ``block_chunks > 0`` nest the blocks one level deeper,
``blocks.<chunk>.<index>.``, where ``<index>`` is the global block index (each chunk is
padded with identities in front); those are flattened back to ``blocks.<index>.``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from .._state_dict import put_unique

_CHUNKED_BLOCK = re.compile(r"^blocks\.\d+\.(\d+)\.")


def official_to_official(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Normalise an official-layout state dict (un-chunk ``blocks.<c>.<i>.`` keys).

    Keys this function does not know are passed through; the caller's key check
    reports them.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        put_unique(out, _CHUNKED_BLOCK.sub(r"blocks.\1.", key), value)
    return out
