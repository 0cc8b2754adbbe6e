"""Data parallelism without the DDP wrapper.

Multi-input multitask training runs one forward per task before a single backward, which
DDP's reducer does not support cleanly; averaging gradients explicitly after backward is
simple, exact, and works with gloo (CPU) and NCCL (GPU) alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import torch
import torch.distributed as dist


def init_from_env(device: torch.device) -> tuple[int, int]:
    """Join the process group torchrun describes in the environment, if any.

    Returns:
        (rank, world_size); (0, 1) when not launched by torchrun.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size()


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_mean(t: torch.Tensor) -> torch.Tensor:
    """Mean of ``t`` over ranks (returns ``t`` unchanged when not distributed)."""
    if not is_distributed():
        return t
    t = t.clone()
    dist.all_reduce(t)
    return t / dist.get_world_size()


def average_gradients(params: Iterable[torch.nn.Parameter]) -> None:
    """Average ``.grad`` over ranks in one flat buffer; missing grads count as zero."""
    if not is_distributed():
        return
    params = [p for p in params if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
        offset += n


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
