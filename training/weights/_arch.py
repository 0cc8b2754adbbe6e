"""Reading a DINOv2 checkpoint's architecture from its tensors, to reject the wrong size.

Loading ViT-S weights into a ViT-B model should say so, instead of listing a hundred
shape mismatches. The head count is not stored in the weights (the fused qkv has the
same shape for any head count), so it is the one field that cannot be checked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch

from argus_edge._errors import CheckpointError

from ..models.configs import ViTConfig

_BLOCK_INDEX = re.compile(r"^blocks\.(\d+)\.")
_KNOWN_SIZES = {384: "ViT-S/14", 768: "ViT-B/14", 1024: "ViT-L/14", 1536: "ViT-g/14"}


def is_square(n: int) -> bool:
    """True when ``n`` is the cell count of a square grid."""
    return n > 0 and math.isqrt(n) ** 2 == n


def infer_vit_shape(state_dict: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """The architecture fields an official-layout state dict reveals.

    Fields whose tensors are absent are left out (the key check reports those; a
    missing ``register_tokens`` is reported as a missing key, not as 0 registers).

    Returns:
        A subset of ``embed_dim``, ``depth``, ``num_registers``, ``patch_size``,
        ``pos_grid`` (side of the square pos-embed grid) and ``mlp_hidden``.
    """
    shape: dict[str, int] = {}
    dim_source = state_dict.get("cls_token", state_dict.get("norm.weight"))
    if dim_source is not None:
        shape["embed_dim"] = int(dim_source.shape[-1])
    indexes = [int(m.group(1)) for k in state_dict if (m := _BLOCK_INDEX.match(k))]
    if indexes:
        shape["depth"] = max(indexes) + 1
    reg = state_dict.get("register_tokens")
    if reg is not None and reg.ndim == 3:
        shape["num_registers"] = int(reg.shape[1])
    proj = state_dict.get("patch_embed.proj.weight")
    if proj is not None and proj.ndim == 4:
        shape["patch_size"] = int(proj.shape[-1])
    pos = state_dict.get("pos_embed")
    if pos is not None and pos.ndim == 3 and is_square(pos.shape[1] - 1):
        shape["pos_grid"] = math.isqrt(pos.shape[1] - 1)
    fc1 = state_dict.get("blocks.0.mlp.fc1.weight")
    if fc1 is not None:
        shape["mlp_hidden"] = int(fc1.shape[0])
    return shape


def expected_vit_shape(cfg: ViTConfig) -> dict[str, int]:
    """The same fields as :func:`infer_vit_shape`, computed from a config."""
    return {
        "embed_dim": cfg.embed_dim,
        "depth": cfg.depth,
        "num_registers": cfg.num_registers,
        "patch_size": cfg.patch_size,
        "pos_grid": cfg.pretrain_size // cfg.patch_size,
        "mlp_hidden": int(cfg.embed_dim * cfg.mlp_ratio),
    }


def check_architecture(cfg: ViTConfig, state_dict: Mapping[str, torch.Tensor],
                       key_format: str, origin: str) -> None:
    """Raise when the checkpoint is a different ViT size than the model's config.

    Args:
        cfg: the model's ViT config.
        state_dict: the checkpoint, already converted to the official layout.
        key_format: the checkpoint's original key format (for the message).
        origin: where the checkpoint came from (for the message).

    Raises:
        CheckpointError: a field the tensors reveal differs from the config.
    """
    found, wanted = infer_vit_shape(state_dict), expected_vit_shape(cfg)
    diffs = [f"{name} {found[name]} (model: {wanted[name]})"
             for name in wanted if name in found and found[name] != wanted[name]]
    if not diffs:
        return
    raise CheckpointError(
        f"{origin} ({key_format} format) holds {_size_name(found.get('embed_dim'))} "
        f"weights that do not fit the model ({_size_name(cfg.embed_dim)}, depth "
        f"{cfg.depth}): checkpoint has {', '.join(diffs)}. "
        "Pick the model size that matches the checkpoint (ViT-S → argus_small, "
        "ViT-B → argus_base, ViT-L → argus_large).")


def _size_name(embed_dim: int | None) -> str:
    if embed_dim is None:
        return "ViT"
    return _KNOWN_SIZES.get(embed_dim, f"{embed_dim}-wide ViT")
