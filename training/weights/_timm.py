"""timm ``vit_*_patch14_reg4_dinov2`` keys → the official DINOv2 layout.

timm keeps the block names of the official model but stores the register tokens as
``reg_token`` and builds register models with ``no_embed_class=True``: its ``pos_embed``
is (1, M*M, D) with no cls entry, because timm's weight filter folded the cls
position embedding into the cls token (timm ``cls_token`` = official ``cls_token`` +
official ``pos_embed[:, 0]``). The official layout is rebuilt with that folded value as
``cls_token`` and a zero cls entry in front of ``pos_embed``. This is exact, not an
approximation: the cls position embedding is only ever added to the cls token, and it is
never resized.

timm drops ``mask_token``; it is restored as zeros. The mask token only replaces masked
patches in DINOv2's masked-image-modelling training and is unused by inference and by
Argus. timm's DINOv2 models without registers keep the cls entry in ``pos_embed``;
those pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from .._state_dict import put_unique
from ._arch import is_square

TIMM_MARKERS = ("reg_token",)


def timm_to_official(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Convert a timm DINOv2 state dict to the official layout.

    Keys this function does not know are passed through unchanged; the caller's key
    check reports them.

    Raises:
        CheckpointError: two keys map to the same official name.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        if key in ("cls_token", "pos_embed"):
            continue
        put_unique(out, "register_tokens" if key == "reg_token" else key, value)
    cls, pos = state_dict.get("cls_token"), state_dict.get("pos_embed")
    if cls is not None:
        out["cls_token"] = cls
    if pos is not None:
        if pos.ndim == 3 and is_square(pos.shape[1]):  # no_embed_class: cls entry folded
            pos = torch.cat([pos.new_zeros(1, 1, pos.shape[2]), pos], dim=1)
        out["pos_embed"] = pos
    if "mask_token" not in out and cls is not None:
        out["mask_token"] = cls.new_zeros(1, cls.shape[-1])
    return out
