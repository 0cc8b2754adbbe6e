"""The named model sizes. Numbers follow DINOv2 and ViT-Adapter (DESIGN.md §2)."""

from __future__ import annotations

from .configs import AdapterConfig, ArgusConfig, ViTConfig

PRESETS: dict[str, ArgusConfig] = {
    # For tests and the synthetic demo: no DINOv2 weights exist at this size, so its ViT
    # is randomly initialised (and may be trained, unlike the real sizes).
    "argus_tiny": ArgusConfig(
        name="argus_tiny",
        vit=ViTConfig(embed_dim=96, depth=4, num_heads=3, pretrain_size=224),
        adapter=AdapterConfig(conv_inplanes=16,
                              interaction_indexes=((0, 0), (1, 1), (2, 2), (3, 3))),
        input_size=(256, 256),
    ),
    "argus_small": ArgusConfig(
        name="argus_small",
        vit=ViTConfig(embed_dim=384, depth=12, num_heads=6),
    ),
    "argus_base": ArgusConfig(name="argus_base"),
    "argus_large": ArgusConfig(
        name="argus_large",
        vit=ViTConfig(embed_dim=1024, depth=24, num_heads=16),
        adapter=AdapterConfig(interaction_indexes=((0, 5), (6, 11), (12, 17), (18, 23))),
    ),
}
