"""Model entrypoints: ``argus_tiny``, ``argus_small``, ``argus_base``, ``argus_large``."""

from __future__ import annotations

import dataclasses

from ._presets import PRESETS
from ._registry import register_model
from .argus import Argus
from .configs import ArgusConfig


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


def _entry(name: str, backbone_weights: str | None,
           input_size: tuple[int, int] | None) -> Argus:
    cfg = PRESETS[name]
    if input_size is not None:
        cfg = dataclasses.replace(cfg, input_size=tuple(input_size))
    return build_argus(cfg, backbone_weights)


@register_model
def argus_tiny(*, backbone_weights: str | None = None,
               input_size: tuple[int, int] | None = None) -> Argus:
    """Tiny Argus for tests and the synthetic demo (ViT 96-d, 4 blocks; no DINOv2 weights)."""
    return _entry("argus_tiny", backbone_weights, input_size)


@register_model
def argus_small(*, backbone_weights: str | None = None,
                input_size: tuple[int, int] | None = None) -> Argus:
    """Argus-Small: DINOv2 ViT-S/14-reg4 + adapter."""
    return _entry("argus_small", backbone_weights, input_size)


@register_model
def argus_base(*, backbone_weights: str | None = None,
               input_size: tuple[int, int] | None = None) -> Argus:
    """Argus-Base: DINOv2 ViT-B/14-reg4 (86.58M, frozen) + adapter (13.68M)."""
    return _entry("argus_base", backbone_weights, input_size)


@register_model
def argus_large(*, backbone_weights: str | None = None,
                input_size: tuple[int, int] | None = None) -> Argus:
    """Argus-Large: DINOv2 ViT-L/14-reg4 + adapter."""
    return _entry("argus_large", backbone_weights, input_size)
