"""Loss normalisers that do not depend on how a batch is split over processes."""

from __future__ import annotations

import torch
import torch.distributed as dist


def global_mean(value: float | torch.Tensor, device: torch.device) -> torch.Tensor:
    """``value`` averaged over the data-parallel ranks (itself when not distributed).

    Args:
        value: a per-rank count (e.g. the number of positives).
        device: where the result lives.

    Returns:
        A float32 scalar tensor, at least 1 (it is used as a divisor).
    """
    t = torch.as_tensor(value, dtype=torch.float32, device=device).detach().clone()
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(t)
        t = t / dist.get_world_size()
    return t.clamp(min=1.0)
