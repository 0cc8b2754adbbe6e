"""Hugging Face ``Dinov2WithRegistersModel`` keys → the official DINOv2 layout.

Two generations of names exist. Files on the Hub (and transformers < 5) split attention
into ``attention.attention.{query,key,value}`` and ``attention.output.dense``;
transformers ≥ 5 names the same modules ``attention.{q,k,v}_proj`` and
``attention.o_proj`` in memory (and renames on load). Both are accepted. q, k and v are
concatenated in that order into the official fused ``attn.qkv``. The model prefix
(``dinov2_with_registers.``) is removed before this step by ``strip_prefixes``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from argus_edge._errors import CheckpointError

from .._state_dict import put_unique

_EMBEDDINGS = {
    "embeddings.cls_token": "cls_token",
    "embeddings.mask_token": "mask_token",
    "embeddings.register_tokens": "register_tokens",
    "embeddings.position_embeddings": "pos_embed",
    "embeddings.patch_embeddings.projection.weight": "patch_embed.proj.weight",
    "embeddings.patch_embeddings.projection.bias": "patch_embed.proj.bias",
    "layernorm.weight": "norm.weight",
    "layernorm.bias": "norm.bias",
}
_LAYER_KEY = re.compile(r"^encoder\.layer\.(\d+)\.(.+)\.(weight|bias|lambda1)$")
_LAYER_MODULES = {
    "norm1": "norm1",
    "attention.output.dense": "attn.proj",
    "attention.o_proj": "attn.proj",
    "layer_scale1": "ls1",
    "norm2": "norm2",
    "mlp.fc1": "mlp.fc1",
    "mlp.fc2": "mlp.fc2",
    "layer_scale2": "ls2",
}
_QKV_PARTS = {
    "attention.attention.query": 0, "attention.attention.key": 1,
    "attention.attention.value": 2,
    "attention.q_proj": 0, "attention.k_proj": 1, "attention.v_proj": 2,
}
_PARAM_NAMES = {"weight": "weight", "bias": "bias", "lambda1": "gamma"}
HF_MARKERS = ("embeddings.", "encoder.layer.", "layernorm.")


def hf_to_official(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename Hugging Face DINOv2-with-registers keys to the official layout.

    Keys this function does not know are passed through unchanged; the caller's key
    check reports them.

    Raises:
        CheckpointError: a layer has only some of query/key/value, or two keys map to
            the same official name.
    """
    out: dict[str, torch.Tensor] = {}
    qkv: dict[tuple[int, str], list[torch.Tensor | None]] = {}
    for key, value in state_dict.items():
        if key in _EMBEDDINGS:
            put_unique(out, _EMBEDDINGS[key], value)
            continue
        m = _LAYER_KEY.match(key)
        module = m.group(2) if m else None
        if module in _LAYER_MODULES:
            name = f"blocks.{m.group(1)}.{_LAYER_MODULES[module]}.{_PARAM_NAMES[m.group(3)]}"
            put_unique(out, name, value)
        elif module in _QKV_PARTS and m.group(3) != "lambda1":
            parts = qkv.setdefault((int(m.group(1)), m.group(3)), [None, None, None])
            if parts[_QKV_PARTS[module]] is not None:
                raise CheckpointError(f"layer {m.group(1)} has its attention "
                                      f"{module.rsplit('.', 1)[-1]} {m.group(3)} twice")
            parts[_QKV_PARTS[module]] = value
        else:
            put_unique(out, key, value)
    for (layer, param), parts in sorted(qkv.items()):
        if any(p is None for p in parts):
            have = [n for n, p in zip(("query", "key", "value"), parts) if p is not None]
            raise CheckpointError(f"layer {layer} of the Hugging Face checkpoint has only "
                                  f"{'/'.join(have)} of the attention query/key/value {param}")
        put_unique(out, f"blocks.{layer}.attn.qkv.{param}", torch.cat(parts, dim=0))
    return out
