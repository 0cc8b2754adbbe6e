"""Mixed precision: bf16 autocast on CPU, fp16 + GradScaler on CUDA."""

from __future__ import annotations

import contextlib

import torch


def autocast(device: torch.device, enabled: bool):
    """The autocast context for ``device`` (a no-op context when disabled)."""
    if not enabled:
        return contextlib.nullcontext()
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, enabled: bool) -> torch.amp.GradScaler:
    """A GradScaler, active only for fp16 on CUDA (bf16 needs none)."""
    return torch.amp.GradScaler(device.type, enabled=enabled and device.type == "cuda")
