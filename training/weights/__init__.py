"""Pretrained weights: importing DINOv2 checkpoints (official, Hugging Face, timm)."""

from .dinov2 import (KEY_FORMATS, convert_dinov2_state_dict, detect_key_format,
                     load_dinov2_weights)

__all__ = ["KEY_FORMATS", "convert_dinov2_state_dict", "detect_key_format",
           "load_dinov2_weights"]
