"""The trainable adapter between the frozen ViT and the task decoders."""

from .adapter import ViTAdapter
from .interaction import ConvFFN, Extractor, InteractionBlock, Injector, token_scale
from .spatial_prior import SpatialPriorModule

__all__ = ["ConvFFN", "Extractor", "InteractionBlock", "Injector", "SpatialPriorModule",
           "ViTAdapter", "token_scale"]
