"""Argus models: the DINOv2 backbone, the adapter and the registry of named sizes."""

from . import zoo as _zoo  # noqa: F401  (registers the entrypoints)
from ._presets import PRESETS
from ._registry import create_model, list_models, register_model
from .argus import Argus
from .backbones import DinoV2
from .configs import AdapterConfig, ArgusConfig, ViTConfig
from .zoo import argus_base, argus_large, argus_small, argus_tiny, build_argus

__all__ = [
    "PRESETS", "AdapterConfig", "Argus", "ArgusConfig", "DinoV2", "ViTConfig",
    "argus_base", "argus_large", "argus_small", "argus_tiny", "build_argus",
    "create_model", "list_models", "register_model",
]
