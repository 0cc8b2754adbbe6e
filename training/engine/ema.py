"""Exponential moving average of the trainable weights."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEma:
    """EMA copy of a model; only trainable parameters are averaged. Frozen parameters
    (e.g. the DINOv2 ViT) share the model's storage, so the EMA costs no memory for them;
    buffers are copied from the model at every update.

    The decay warms up as ``min(decay, (1 + n) / (10 + n))`` so early averages are not
    dominated by the random init.

    Args:
        model: the model being trained.
        decay: the final decay.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        self.decay = decay
        self.updates = 0
        self._names = [n for n, p in model.named_parameters() if p.requires_grad]
        self.module = copy.deepcopy(model).eval()
        src = dict(model.named_parameters())
        for n, p in self.module.named_parameters():
            if not src[n].requires_grad:
                p.data = src[n].data  # shared, not copied
        self.module.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Blend the current weights in."""
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        src = dict(model.named_parameters())
        dst = dict(self.module.named_parameters())
        for n in self._names:
            dst[n].lerp_(src[n].detach().to(dst[n].dtype), 1.0 - d)
        for (_, b_dst), (_, b_src) in zip(self.module.named_buffers(), model.named_buffers()):
            b_dst.copy_(b_src)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The averaged trainable tensors (what differs from the model)."""
        params = dict(self.module.named_parameters())
        return {n: params[n].detach() for n in self._names}

    def load_state_dict(self, state: dict[str, torch.Tensor], updates: int) -> None:
        """Restore averaged tensors saved by :meth:`state_dict`."""
        params = dict(self.module.named_parameters())
        missing = set(self._names) - set(state)
        if missing:
            raise KeyError(f"EMA state lacks {sorted(missing)[:5]}")
        with torch.no_grad():
            for n in self._names:
                params[n].copy_(state[n])
        self.updates = updates
