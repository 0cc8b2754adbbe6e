"""DINOv2 ViT with register tokens.

Parameter names are those of the official DINOv2 hub checkpoints, so
``dinov2_vitb14_reg4_pretrain.pth`` loads without renaming. Token order is
``[cls, reg×R, patches]``; registers get no position embedding.
"""

from __future__ import annotations

import torch
from torch import nn

from ..configs import ViTConfig
from ..layers import Block, PatchEmbed, resize_patch_pos_embed


class DinoV2(nn.Module):
    """DINOv2 vision transformer (``dinov2_vit*14_reg4``).

    Args:
        cfg: the architecture.
    """

    def __init__(self, cfg: ViTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.embed_dim
        self.patch_size = cfg.patch_size
        self.num_prefix_tokens = 1 + cfg.num_registers
        self.patch_embed = PatchEmbed(cfg.patch_size, 3, d)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        grid = cfg.pretrain_size // cfg.patch_size
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, d))
        self.register_tokens = (nn.Parameter(torch.zeros(1, cfg.num_registers, d))
                                if cfg.num_registers else None)
        # Unused at inference; kept so official checkpoints load with no key left over.
        self.mask_token = nn.Parameter(torch.zeros(1, d))
        self.blocks = nn.ModuleList(
            Block(d, cfg.num_heads, cfg.mlp_ratio, cfg.ln_eps, cfg.layerscale_init)
            for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(d, eps=cfg.ln_eps)
        self._fixed_grid: tuple[int, int] | None = None
        self.register_buffer("_fixed_pos", torch.empty(0), persistent=False)
        self.register_load_state_dict_post_hook(_refresh_fixed_pos)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Random init in DINOv2's style (used when no pretrained weights are loaded)."""
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        if self.register_tokens is not None:
            nn.init.normal_(self.register_tokens, std=1e-6)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def fix_input_size(self, height: int, width: int) -> None:
        """Resize the position embedding once for a fixed input (export mode).

        The antialiased bicubic resize is then a constant of the graph instead of an op
        exporters cannot carry. Call again with new sizes or after loading weights.
        """
        grid = self._grid(height, width)
        with torch.no_grad():
            self._fixed_pos = self._pos_embed_for(grid).detach().clone()
        self._fixed_grid = grid

    @property
    def fixed_grid(self) -> tuple[int, int] | None:
        """The patch grid fixed by :meth:`fix_input_size`, or None when dynamic."""
        return self._fixed_grid

    def release_input_size(self) -> None:
        """Go back to resizing the position embedding for every input."""
        self._fixed_grid = None
        self._fixed_pos = torch.empty(0, device=self.pos_embed.device)

    def _grid(self, height: int, width: int) -> tuple[int, int]:
        p = self.patch_size
        if height % p or width % p:
            raise ValueError(f"input {height}x{width} is not a multiple of patch size {p}")
        return height // p, width // p

    def _pos_embed_for(self, grid: tuple[int, int]) -> torch.Tensor:
        cls_pos, patch_pos = self.pos_embed[:, :1], self.pos_embed[:, 1:]
        resized = resize_patch_pos_embed(patch_pos, grid, antialias=self.cfg.interpolate_antialias,
                                         offset=self.cfg.interpolate_offset)
        return torch.cat([cls_pos, resized], dim=1)

    def pos_embed_for(self, height: int, width: int) -> torch.Tensor:
        """(1, 1 + h*w, D) position embedding for an input of this size."""
        grid = self._grid(height, width)
        if self._fixed_grid is not None:
            if grid != self._fixed_grid:
                raise ValueError(f"model was fixed to a {self._fixed_grid} patch grid, "
                                 f"got an input with grid {grid}")
            return self._fixed_pos
        return self._pos_embed_for(grid)

    def prepare_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Image (B, 3, H, W) → tokens (B, 1 + R + h*w, D) with position embedding."""
        b, _, h, w = x.shape
        tokens = self.patch_embed(x)
        tokens = torch.cat([self.cls_token.expand(b, -1, -1), tokens], dim=1)
        tokens = tokens + self.pos_embed_for(h, w).to(tokens.dtype)
        if self.register_tokens is not None:
            tokens = torch.cat([tokens[:, :1], self.register_tokens.expand(b, -1, -1),
                                tokens[:, 1:]], dim=1)
        return tokens

    def _run_blocks(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.prepare_tokens(x)
        for blk in self.blocks:
            tokens = blk(tokens)
        return tokens

    def forward_features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Run the whole ViT; names follow DINOv2's ``forward_features``."""
        tokens = self._run_blocks(x)
        normed = self.norm(tokens)
        r = self.num_prefix_tokens
        return {
            "x_norm_clstoken": normed[:, 0],
            "x_norm_regtokens": normed[:, 1:r],
            "x_norm_patchtokens": normed[:, r:],
            "x_prenorm": tokens,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden state after the final norm, (B, 1 + R + h*w, D)."""
        return self.norm(self._run_blocks(x))


def _refresh_fixed_pos(module: DinoV2, incompatible_keys) -> None:
    """New weights make a pos-embed precomputed by ``fix_input_size`` stale: redo it."""
    grid = module.fixed_grid
    if grid is not None:
        module.fix_input_size(grid[0] * module.patch_size, grid[1] * module.patch_size)
