"""Frozen foundation backbones."""

from .dinov2 import DinoV2

__all__ = ["DinoV2"]
