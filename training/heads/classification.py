"""``cls``: attentional pooler over the multiscale tokens + linear classifier."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._registry import register_head
from .base import Features, TaskHead


@dataclass(frozen=True)
class ClsHeadConfig:
    """Attributes:
        num_classes: number of classes.
        class_names: optional names, one per class.
        num_queries: learned queries (their outputs are averaged).
        num_heads: heads of the cross-attention.
        levels: which of the four maps (0: stride 4 … 3: stride 32) are pooled over.
        label_smoothing: cross-entropy label smoothing.
    """

    num_classes: int = 1000
    class_names: tuple[str, ...] = ()
    num_queries: int = 1
    num_heads: int = 8
    levels: tuple[int, ...] = (1, 2, 3)
    label_smoothing: float = 0.0


@register_head("cls", ClsHeadConfig)
class AttentionalPoolerHead(TaskHead):
    """Learned queries attend to the flattened tokens of several levels (with a level
    embedding), then a linear layer gives the logits."""

    decoder_kind = "classification"

    def runtime_entry(self) -> dict[str, Any]:
        return {"postprocess": {"topk": min(5, self.cfg.num_classes)}}

    def __init__(self, cfg: ClsHeadConfig, in_channels: int) -> None:
        super().__init__()
        if cfg.class_names and len(cfg.class_names) != cfg.num_classes:
            raise ValueError("class_names must have num_classes entries")
        if in_channels % cfg.num_heads:
            raise ValueError(f"cls head: {cfg.num_heads} attention heads do not divide "
                             f"{in_channels} channels")
        heads = cfg.num_heads
        self.cfg, self.in_channels = cfg, in_channels
        self.queries = nn.Parameter(torch.randn(1, cfg.num_queries, in_channels) * 0.02)
        self.level_embed = nn.Parameter(torch.zeros(len(cfg.levels), in_channels))
        self.norm_kv = nn.LayerNorm(in_channels)
        self.attn = nn.MultiheadAttention(in_channels, heads, batch_first=True)
        self.norm_out = nn.LayerNorm(in_channels)
        self.fc = nn.Linear(in_channels, cfg.num_classes)
        nn.init.trunc_normal_(self.level_embed, std=0.02)
        nn.init.zeros_(self.fc.bias)
        nn.init.trunc_normal_(self.fc.weight, std=0.01)

    def forward(self, feats: Features) -> dict[str, torch.Tensor]:
        tokens = torch.cat([feats[lvl].flatten(2).transpose(1, 2) + self.level_embed[i]
                            for i, lvl in enumerate(self.cfg.levels)], dim=1)
        kv = self.norm_kv(tokens)
        q = self.queries.expand(tokens.shape[0], -1, -1)
        pooled, _ = self.attn(q, kv, kv, need_weights=False)
        return {"logits": self.fc(self.norm_out(pooled).mean(1))}

    def loss(self, outputs: dict[str, torch.Tensor],
             targets: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Cross-entropy. ``targets["labels"]``: (B,) int64."""
        ce = F.cross_entropy(outputs["logits"].float(), targets["labels"],
                             label_smoothing=self.cfg.label_smoothing)
        return {"loss": ce, "loss_ce": ce.detach()}

    def predict(self, outputs: dict[str, torch.Tensor], topk: int = 5, **_: Any):
        """Top-k classes per image: list of dicts with ``labels`` and ``scores``."""
        probs = outputs["logits"].float().softmax(-1)
        k = min(topk, probs.shape[-1])
        scores, labels = probs.topk(k, dim=-1)
        return [{"labels": lab.cpu().numpy(), "scores": sc.cpu().numpy(),
                 "probs": pr.cpu().numpy()} for lab, sc, pr in zip(labels, scores, probs)]
