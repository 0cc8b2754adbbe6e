"""AdamW with decay-free norms/biases and a warmup + cosine learning-rate schedule."""

from __future__ import annotations

import math

import torch
from torch import nn


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Trainable parameters split into decayed (weights of ≥2 dims) and not decayed
    (biases, norms, embeddings, LayerScale/gamma vectors)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim <= 1 or name.endswith(("level_embed", "queries", "pos_embed",
                                                    "cls_token", "register_tokens"))
         else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(model: nn.Module, lr: float, weight_decay: float,
                    betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.AdamW:
    """AdamW over the model's trainable parameters."""
    groups = param_groups(model, weight_decay)
    if not any(g["params"] for g in groups):
        raise ValueError("the model has no trainable parameters")
    return torch.optim.AdamW(groups, lr=lr, betas=betas)


def warmup_cosine(step: int, total_steps: int, warmup_steps: int,
                  min_ratio: float = 0.01) -> float:
    """LR multiplier: linear warmup from ~0 to 1, then cosine decay to ``min_ratio``."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    t = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def set_lr(optimizer: torch.optim.Optimizer, base_lr: float, multiplier: float) -> float:
    """Set every group's lr to ``base_lr * multiplier``; returns the lr."""
    lr = base_lr * multiplier
    for g in optimizer.param_groups:
        g["lr"] = lr
    return lr
