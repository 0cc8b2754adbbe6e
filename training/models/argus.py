"""Argus: frozen DINOv2 ViT + trainable adapter → four multi-scale feature maps."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..heads import build_head
from .adapter import ViTAdapter
from .backbones import DinoV2
from .configs import ArgusConfig, check_input_size
from .layers import reference_points


class Argus(nn.Module):
    """The Argus backbone.

    The adapter sees the image at full size (sides multiples of 32); the ViT sees it
    rescaled by 14/16 so that its patch grid is the adapter's stride-16 grid.

    Args:
        cfg: the model configuration.
    """

    def __init__(self, cfg: ArgusConfig) -> None:
        super().__init__()
        _check_indexes(cfg)
        self.cfg = cfg
        self.vit = DinoV2(cfg.vit)
        self.adapter = ViTAdapter(cfg.adapter, cfg.vit.embed_dim, cfg.vit.num_heads)
        self.heads = nn.ModuleDict({task: build_head(task, hcfg, cfg.vit.embed_dim)
                                    for task, hcfg in cfg.heads.items()})
        self.vit_frozen = False
        self.freeze_vit(True)

    # ------------------------------------------------------------------ training state
    def freeze_vit(self, frozen: bool = True) -> None:
        """Freeze (default) or unfreeze the ViT; a frozen ViT also stays in eval mode."""
        self.vit_frozen = frozen
        self.vit.requires_grad_(not frozen)
        if frozen:
            self.vit.eval()

    def train(self, mode: bool = True) -> Argus:
        super().train(mode)
        if self.vit_frozen:
            self.vit.eval()
        return self

    def fix_input_size(self, height: int, width: int) -> None:
        """Export mode: precompute the ViT position embedding for one input size."""
        self.vit.fix_input_size(*self.cfg.vit_input_size(height, width))

    # ------------------------------------------------------------------ forward
    def vit_input(self, images: torch.Tensor) -> torch.Tensor:
        """The 14/16 rescale: bilinear with antialiasing, the same resize as the C++ core's
        ``argus_edge._core.resize_bilinear``."""
        size = self.cfg.vit_input_size(*images.shape[-2:])
        return F.interpolate(images, size=size, mode="bilinear", align_corners=False,
                             antialias=True)

    def forward_features(self, images: torch.Tensor,
                         vit_images: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Four maps of ``embed_dim`` channels at strides 4, 8, 16 and 32.

        Args:
            images: (B, 3, H, W) normalised images, H and W multiples of 32.
            vit_images: the same images already rescaled by 14/16 (as the runtime's
                preprocessing delivers them); computed here when omitted.

        Returns:
            ``[f4, f8, f16, f32]``, each (B, D, H/s, W/s).
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"expected images of shape (B, 3, H, W), got {tuple(images.shape)}")
        b, _, h, w = images.shape
        check_input_size(h, w)
        if vit_images is None:
            vit_images = self.vit_input(images)
        elif tuple(vit_images.shape[-2:]) != self.cfg.vit_input_size(h, w):
            raise ValueError(f"vit_images must be {self.cfg.vit_input_size(h, w)}, "
                             f"got {tuple(vit_images.shape[-2:])}")
        ad, d = self.adapter, self.cfg.vit.embed_dim
        grid = (h // 16, w // 16)
        c_shapes = [(h // 8, w // 8), grid, (h // 32, w // 32)]
        c1, c2, c3, c4 = ad.spm(images)
        c = torch.cat([c2 + ad.level_embed[0], c3 + ad.level_embed[1],
                       c4 + ad.level_embed[2]], dim=1)
        tokens = self.vit.prepare_tokens(vit_images)
        n_prefix = self.vit.num_prefix_tokens
        ref_vit = reference_points([grid], images.device)
        ref_c = reference_points(c_shapes, images.device)
        vit_maps = []
        for inter, (first, last) in zip(ad.interactions, self.cfg.adapter.interaction_indexes):
            tokens, c = inter(tokens, c, self.vit.blocks[first:last + 1], n_prefix, grid,
                              c_shapes, ref_vit, ref_c)
            vit_maps.append(tokens[:, n_prefix:].transpose(1, 2).reshape(b, d, *grid))
        maps = [lvl.transpose(1, 2).reshape(b, d, *shape)
                for lvl, shape in zip(c.split([hh * ww for hh, ww in c_shapes], dim=1),
                                      c_shapes)]
        maps.insert(0, ad.up(maps[0]) + c1)
        if self.cfg.adapter.add_vit_features:
            maps = [m + resize_like(v, m.shape[-2:]) for m, v in zip(maps, vit_maps)]
        return [norm(m) for norm, m in zip(ad.output_norms(), maps)]

    @property
    def tasks(self) -> list[str]:
        """Task keys of the heads this model carries."""
        return list(self.heads)

    def forward_heads(self, feats: list[torch.Tensor],
                      tasks: list[str] | None = None) -> dict[str, dict[str, torch.Tensor]]:
        """Run the requested heads (default: all) on computed features."""
        tasks = self.tasks if tasks is None else list(tasks)
        unknown = [t for t in tasks if t not in self.heads]
        if unknown:
            raise KeyError(f"model has no head for {unknown}; it has {self.tasks}")
        return {t: self.heads[t](feats) for t in tasks}

    def forward(self, images: torch.Tensor, tasks: list[str] | None = None,
                vit_images: torch.Tensor | None = None) -> dict[str, dict[str, torch.Tensor]]:
        """Backbone once, then each requested head: ``{task: {output: tensor}}``."""
        return self.forward_heads(self.forward_features(images, vit_images), tasks)

    # ------------------------------------------------------------------ introspection
    def num_parameters(self) -> dict[str, int]:
        """Parameter counts: ``vit``, ``adapter``, ``total`` and ``trainable``."""
        count = lambda ps: sum(p.numel() for p in ps)  # noqa: E731
        return {
            "vit": count(self.vit.parameters()),
            "adapter": count(self.adapter.parameters()),
            "heads": count(self.heads.parameters()),
            "total": count(self.parameters()),
            "trainable": count(p for p in self.parameters() if p.requires_grad),
        }


def resize_like(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize used to add the ViT's maps to the adapter's."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def _check_indexes(cfg: ArgusConfig) -> None:
    """Interactions must cover the ViT's blocks in order, each block exactly once; there
    are four of them (one ViT map is added to each of the four output maps)."""
    if len(cfg.adapter.interaction_indexes) != 4:
        raise ValueError(f"the adapter needs 4 interactions, got "
                         f"{len(cfg.adapter.interaction_indexes)}: {cfg.adapter.interaction_indexes}")
    expected = 0
    for first, last in cfg.adapter.interaction_indexes:
        if first != expected or last < first:
            raise ValueError(f"interaction_indexes {cfg.adapter.interaction_indexes} must "
                             f"cover blocks 0..{cfg.vit.depth - 1} contiguously")
        expected = last + 1
    if expected != cfg.vit.depth:
        raise ValueError(f"interaction_indexes end at block {expected - 1}, "
                         f"the ViT has {cfg.vit.depth} blocks")
