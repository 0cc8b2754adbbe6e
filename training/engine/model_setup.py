"""Building the model a training run trains: stage 1 or stage 2, heads from the tasks."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from argus_edge._errors import CheckpointError, InvalidArgumentError

from ..checkpoint import load_checkpoint
from ..models import PRESETS, Argus, build_argus
from .config import TrainConfig


def build_training_model(cfg: TrainConfig, head_configs: dict[str, Any]) -> Argus:
    """The model for ``cfg`` with one head per task.

    Stage 1 builds the preset (with DINOv2 weights if given) or continues from
    ``init_checkpoint``; stage 2 loads ``init_checkpoint``, adds the heads it lacks and
    freezes everything else (ViT, adapter and the existing heads).
    """
    if cfg.init_checkpoint:
        base = load_checkpoint(cfg.init_checkpoint)
        heads = {**base.cfg.heads, **{t: h for t, h in head_configs.items()
                                       if t not in base.cfg.heads}}
        model = Argus(dataclasses.replace(base.cfg, heads=heads))
        missing, unexpected = model.load_state_dict(base.state_dict(), strict=False)
        new_prefixes = tuple(f"heads.{t}." for t in heads if t not in base.cfg.heads)
        if unexpected or any(not k.startswith(new_prefixes) for k in missing):
            raise CheckpointError(f"{cfg.init_checkpoint} does not fit the configured model")
        pretrained_heads = set(base.cfg.heads)
    else:
        if cfg.model not in PRESETS:
            raise InvalidArgumentError(f"unknown model {cfg.model!r}; "
                                       f"choose from {sorted(PRESETS)}")
        preset = dataclasses.replace(PRESETS[cfg.model], heads=dict(head_configs),
                                     input_size=tuple(cfg.input_size))
        model = build_argus(preset, cfg.backbone_weights)
        pretrained_heads = set()
    if cfg.train_vit:
        model.freeze_vit(False)
    if cfg.stage == 2:
        freeze_for_stage2(model, pretrained_heads)
    return model


def freeze_for_stage2(model: Argus, frozen_heads: set[str]) -> None:
    """Stage 2: the backbone (ViT + adapter) and already-trained heads are frozen."""
    model.freeze_vit(True)
    model.adapter.requires_grad_(False)
    for task in frozen_heads:
        model.heads[task].requires_grad_(False)
    if not any(p.requires_grad for p in model.parameters()):
        raise InvalidArgumentError("stage 2 has nothing to train: every configured head "
                                   "is already in the init checkpoint")


def trainable_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]
