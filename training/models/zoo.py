"""Model entrypoints: ``argus_tiny``, ``argus_small``, ``argus_base``, ``argus_large``.

Each takes keyword arguments: ``backbone_weights`` (a DINOv2 checkpoint for the ViT),
``input_size`` ((H, W), multiples of 32) and ``heads`` (task key → head config, either
the dataclass or its dict form; a dict's ``decoder`` entry picks among a task's decoders,
e.g. ``create_model("argus_base", heads={"sem": {"decoder": "fpn", "num_classes": 150}})``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ._presets import PRESETS
from ._registry import register_model
from .argus import Argus
from .configs import ArgusConfig, head_configs


def build_argus(cfg: ArgusConfig, backbone_weights: str | None = None) -> Argus:
    """Build an Argus model from a config, optionally importing DINOv2 weights.

    Args:
        cfg: the configuration.
        backbone_weights: a DINOv2 checkpoint (official ``.pth``, Hugging Face or timm
            state dict, ``.pth`` or ``.safetensors``) for the ViT.

    Returns:
        The model, ViT frozen.
    """
    model = Argus(cfg)
    if backbone_weights is not None:
        from ..weights import load_dinov2_weights
        load_dinov2_weights(model.vit, backbone_weights)
    return model


def _entry(name: str, backbone_weights: str | None, input_size: tuple[int, int] | None,
           heads: Mapping[str, Any] | None) -> Argus:
    cfg = PRESETS[name]
    if input_size is not None:
        cfg = dataclasses.replace(cfg, input_size=tuple(input_size))
    if heads:
        cfg = dataclasses.replace(cfg, heads=head_configs(heads))
    return build_argus(cfg, backbone_weights)


@register_model
def argus_tiny(*, backbone_weights: str | None = None,
               input_size: tuple[int, int] | None = None,
               heads: Mapping[str, Any] | None = None) -> Argus:
    """Tiny Argus for tests and the synthetic demo (ViT 96-d, 4 blocks; no DINOv2 weights)."""
    return _entry("argus_tiny", backbone_weights, input_size, heads)


@register_model
def argus_small(*, backbone_weights: str | None = None,
                input_size: tuple[int, int] | None = None,
                heads: Mapping[str, Any] | None = None) -> Argus:
    """Argus-Small: DINOv2 ViT-S/14-reg4 + adapter."""
    return _entry("argus_small", backbone_weights, input_size, heads)


@register_model
def argus_base(*, backbone_weights: str | None = None,
               input_size: tuple[int, int] | None = None,
               heads: Mapping[str, Any] | None = None) -> Argus:
    """Argus-Base: DINOv2 ViT-B/14-reg4 (86.58M, frozen) + adapter (13.68M)."""
    return _entry("argus_base", backbone_weights, input_size, heads)


@register_model
def argus_large(*, backbone_weights: str | None = None,
                input_size: tuple[int, int] | None = None,
                heads: Mapping[str, Any] | None = None) -> Argus:
    """Argus-Large: DINOv2 ViT-L/14-reg4 + adapter."""
    return _entry("argus_large", backbone_weights, input_size, heads)
