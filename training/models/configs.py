"""Frozen, typed configuration of the Argus model.

Configs are plain dataclasses so they serialise to JSON (checkpoint metadata, bundles)
and rebuild exactly with :func:`ArgusConfig.from_dict`. The named presets live in
``_presets.py``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from argus_edge._preprocess import IMAGENET_MEAN, IMAGENET_STD  # pixel units, RGB


@dataclass(frozen=True)
class ViTConfig:
    """The frozen DINOv2 ViT.

    Attributes:
        embed_dim: token channels.
        depth: number of transformer blocks.
        num_heads: attention heads.
        mlp_ratio: MLP hidden = embed_dim * mlp_ratio.
        patch_size: patch side in pixels.
        num_registers: register tokens after the cls token.
        pretrain_size: image side the position embedding was trained for (518 → 37×37).
        ln_eps: LayerNorm epsilon.
        layerscale_init: initial LayerScale value (random init only).
        interpolate_antialias: antialiased bicubic pos-embed resize (register models: True;
            the original register-free DINOv2: False).
        interpolate_offset: scale-factor offset of that resize (register models: 0.0;
            register-free DINOv2: 0.1).
    """

    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 12
    mlp_ratio: float = 4.0
    patch_size: int = 14
    num_registers: int = 4
    pretrain_size: int = 518
    ln_eps: float = 1e-6
    layerscale_init: float = 1e-5
    interpolate_antialias: bool = True
    interpolate_offset: float = 0.0

    def __post_init__(self) -> None:
        _check_range("embed_dim", self.embed_dim, 1, 8192)
        _check_range("depth", self.depth, 1, 256)
        _check_range("num_heads", self.num_heads, 1, 256)
        _check_range("patch_size", self.patch_size, 1, 64)
        _check_range("num_registers", self.num_registers, 0, 64)
        _check_range("pretrain_size", self.pretrain_size, self.patch_size, 4096)
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim {self.embed_dim} is not divisible by "
                             f"num_heads {self.num_heads}")
        if not 0 < self.mlp_ratio <= 64:
            raise ValueError(f"mlp_ratio must be in (0, 64], got {self.mlp_ratio}")


@dataclass(frozen=True)
class AdapterConfig:
    """The trainable ViT-Adapter with Argus's changes (GroupNorm, token scaling).

    Attributes:
        conv_inplanes: stem channels of the spatial prior module (64 → 128 → 256 → 256).
        deform_heads: heads of the deformable attention (0: the ViT's head count).
        n_points: sampling points per head and level.
        value_ratio: value channels of the deformable attention relative to embed_dim.
        cffn_ratio: hidden channels of the extractor's ConvFFN relative to embed_dim.
        interaction_indexes: inclusive [first, last] ViT block of each interaction.
        extra_extractors: extractors added after the last interaction.
        token_scaling: scale ViT tokens by sqrt(d)/mean‖x‖ around each interaction.
        add_vit_features: add the resized ViT features to the four output maps.
        gamma_init: initial value of the injector's output scale.
    """

    conv_inplanes: int = 64
    deform_heads: int = 0
    n_points: int = 4
    value_ratio: float = 0.5
    cffn_ratio: float = 0.25
    interaction_indexes: tuple[tuple[int, int], ...] = ((0, 2), (3, 5), (6, 8), (9, 11))
    extra_extractors: int = 2
    token_scaling: bool = True
    add_vit_features: bool = True
    gamma_init: float = 0.0

    def __post_init__(self) -> None:
        _check_range("conv_inplanes", self.conv_inplanes, 1, 4096)
        _check_range("n_points", self.n_points, 1, 64)
        _check_range("extra_extractors", self.extra_extractors, 0, 16)
        _check_range("deform_heads", self.deform_heads, 0, 256)
        if not self.interaction_indexes:
            raise ValueError("interaction_indexes must name at least one interaction")
        if not (0 < self.value_ratio <= 4 and 0 < self.cffn_ratio <= 16):
            raise ValueError("value_ratio and cffn_ratio must be positive and moderate")


@dataclass(frozen=True)
class ArgusConfig:
    """A whole Argus model.

    Attributes:
        name: preset name (``argus_base``, ...).
        vit: the backbone.
        adapter: the adapter.
        input_size: default (height, width) of the adapter input; multiples of 32.
        mean: normalisation mean in pixel units (RGB).
        std: normalisation std in pixel units (RGB).
        heads: task key → that head's config dataclass (see ``argus_edge.training.heads``).
    """

    name: str = "argus_base"
    vit: ViTConfig = field(default_factory=ViTConfig)
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    input_size: tuple[int, int] = (512, 512)
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    heads: dict[str, Any] = field(default_factory=dict)

    @property
    def adapter_stride(self) -> int:
        """Stride of the adapter map the ViT patch grid aligns with."""
        return 16

    @property
    def vit_scale(self) -> float:
        """The ViT sees the image rescaled by patch/16 (14/16: 512 → 448)."""
        return self.vit.patch_size / self.adapter_stride

    def vit_input_size(self, height: int, width: int) -> tuple[int, int]:
        """Size of the ViT input for an adapter input of ``height`` × ``width``."""
        check_input_size(height, width)
        s = self.adapter_stride
        return height // s * self.vit.patch_size, width // s * self.vit.patch_size

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ArgusConfig:
        """Rebuild from :meth:`to_dict` output; unknown keys are an error."""
        d = dict(d)
        vit = ViTConfig(**d.pop("vit", {}))
        a = dict(d.pop("adapter", {}))
        if "interaction_indexes" in a:
            a["interaction_indexes"] = tuple(tuple(int(i) for i in p)
                                             for p in a["interaction_indexes"])
        adapter = AdapterConfig(**a)
        for key in ("input_size", "mean", "std"):
            if key in d:
                d[key] = tuple(d[key])
        d["heads"] = head_configs(d.pop("heads", {}))
        return cls(vit=vit, adapter=adapter, **d)


def head_configs(heads: Mapping[str, Any]) -> dict[str, Any]:
    """Task key → head config, from config dataclasses or their dict form (a dict's
    ``decoder`` entry picks among the task's decoders; none: the default one).

    Raises:
        KeyError: a task without a registered head.
        ValueError: an unknown ``decoder`` in a dict.
        TypeError: a dict with fields its config class does not have.
    """
    if not heads:
        return {}
    from ..heads import head_config_from_dict
    return {task: head_config_from_dict(task, h) if isinstance(h, Mapping) else h
            for task, h in heads.items()}


def _check_range(name: str, value: int, low: int, high: int) -> None:
    """Config sanity: a checkpoint header must not be able to request absurd models."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {value!r}")


def check_input_size(height: int, width: int) -> None:
    """The adapter needs sides divisible by 32 (its coarsest map has stride 32)."""
    if height <= 0 or width <= 0 or height % 32 or width % 32:
        raise ValueError(f"Argus input sides must be positive multiples of 32, got {height}x{width}")
