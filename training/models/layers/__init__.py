"""Building blocks shared by the backbone, the adapter and the heads."""

from .ms_deform_attn import MSDeformAttn, ms_deform_attn_core, ms_deform_sample, reference_points
from .norm import group_norm
from .patch_embed import PatchEmbed
from .pos_embed import resize_patch_pos_embed
from .vit_block import Attention, Block, LayerScale, Mlp

__all__ = [
    "Attention", "Block", "LayerScale", "MSDeformAttn", "Mlp", "PatchEmbed", "group_norm",
    "ms_deform_attn_core", "ms_deform_sample", "reference_points", "resize_patch_pos_embed",
]
