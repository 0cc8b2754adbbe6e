"""Importing pretrained DINOv2 (with registers) weights into :class:`DinoV2`.

Three key layouts are understood and converted to the official one, whose names
:class:`DinoV2` uses:

* ``"official"``: the ``torch.hub`` checkpoints (``dinov2_vitb14_reg4_pretrain.pth``);
* ``"hf"``: Hugging Face ``Dinov2WithRegistersModel`` (``facebook/dinov2-with-registers-*``);
* ``"timm"``: timm ``vit_*_patch14_reg4_dinov2.lvd142m``.

Files are read without executing code (see ``_io``). Any missing, unknown or misshapen
key is an error: nothing is loaded partially.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import torch

from argus_edge._errors import CheckpointError, InvalidArgumentError

from .._state_dict import diff_state_dict, format_keys
from ..models.configs import ViTConfig
from ._arch import check_architecture
from ._hf import HF_MARKERS, hf_to_official
from ._io import WeightSource, read_state_dict, strip_prefixes
from ._official import official_to_official
from ._timm import TIMM_MARKERS, timm_to_official

if TYPE_CHECKING:
    from ..models.backbones import DinoV2

KEY_FORMATS = ("official", "hf", "timm")
_CONVERTERS: dict[str, Callable[[Mapping[str, torch.Tensor]], dict[str, torch.Tensor]]] = {
    "official": official_to_official,
    "hf": hf_to_official,
    "timm": timm_to_official,
}


def detect_key_format(state_dict: Mapping[str, torch.Tensor]) -> str:
    """Tell the key layout of a DINOv2 state dict (wrapper prefixes already removed).

    Hugging Face keys live under ``embeddings.``/``encoder.layer.``; timm has
    ``reg_token`` and no ``mask_token``; official hub checkpoints carry ``mask_token``.

    Returns:
        ``"official"``, ``"hf"`` or ``"timm"``.

    Raises:
        CheckpointError: the keys look like none of them.
    """
    keys = list(state_dict)
    if any(k.startswith(HF_MARKERS) for k in keys):
        return "hf"
    if any(k in TIMM_MARKERS for k in keys):
        return "timm"
    if "mask_token" in state_dict:
        return "official"
    if "cls_token" in state_dict or any(k.startswith("blocks.") for k in keys):
        return "timm"  # timm's DINOv2 without registers: official names minus mask_token
    raise CheckpointError("cannot tell the key format of the checkpoint (official, hf or "
                          f"timm DINOv2); its keys start with: {format_keys(keys)}")


def convert_dinov2_state_dict(state_dict: Mapping[str, torch.Tensor],
                              key_format: str = "auto") -> dict[str, torch.Tensor]:
    """Convert a DINOv2 state dict to the official key layout used by :class:`DinoV2`.

    Args:
        state_dict: the checkpoint's tensors; wrapper prefixes carried by every key
            (``module.``, ``backbone.``, ``dinov2_with_registers.``, ...) are removed.
        key_format: ``"auto"`` (detect), ``"official"``, ``"hf"`` or ``"timm"``.

    Returns:
        A new dict with official-layout keys. Unknown keys are passed through, so that
        the caller's key check can report them.

    Raises:
        InvalidArgumentError: ``key_format`` is not one of the above.
        CheckpointError: the format cannot be detected, or keys conflict.
    """
    return _convert(strip_prefixes(dict(state_dict)), key_format)[0]


def load_dinov2_weights(vit: DinoV2, source: WeightSource, *,
                        key_format: str = "auto") -> None:
    """Load pretrained DINOv2 weights into ``vit`` in place.

    Args:
        vit: the model; its config must be the checkpoint's size.
        source: a ``.pth``/``.bin``/``.safetensors`` file, a Hugging Face snapshot
            folder, or an in-memory state dict.
        key_format: ``"auto"`` (detect), ``"official"``, ``"hf"`` or ``"timm"``.

    Raises:
        FileNotFoundError: ``source`` is a path that does not exist.
        InvalidArgumentError: ``key_format`` is not one of the above, or ``vit`` is not
            a DinoV2 module.
        CheckpointError: unreadable file, pickled non-tensor objects, a checkpoint of
            another ViT size, or any missing, unknown or misshapen key. The model is
            left unchanged.
    """
    if not isinstance(getattr(vit, "cfg", None), ViTConfig):
        raise InvalidArgumentError("load_dinov2_weights needs the DinoV2 module "
                                   f"(e.g. model.vit), got a {type(vit).__name__}")
    raw, origin = read_state_dict(source)
    state, fmt = _convert(strip_prefixes(raw), key_format)
    check_architecture(vit.cfg, state, fmt, origin)
    diff = diff_state_dict(vit.state_dict(), state)
    if not diff.ok:
        raise CheckpointError(f"{origin} ({fmt} format) does not match the DINOv2 model; "
                              f"keys in the official layout: {diff.describe()}")
    with torch.no_grad():
        vit.load_state_dict(state, strict=True)  # its post-hook refreshes a fixed pos-embed


def _convert(state: dict[str, torch.Tensor],
             key_format: str) -> tuple[dict[str, torch.Tensor], str]:
    if key_format != "auto" and key_format not in KEY_FORMATS:
        raise InvalidArgumentError(f"key_format must be 'auto' or one of {KEY_FORMATS}, "
                                   f"got {key_format!r}")
    fmt = detect_key_format(state) if key_format == "auto" else key_format
    return _CONVERTERS[fmt](state), fmt
