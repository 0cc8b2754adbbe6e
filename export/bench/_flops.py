"""GFLOPs of the backbone and of each head, counted on the PyTorch model.

``torch.utils.flop_counter.FlopCounterMode`` counts matrix products and convolutions
(2 FLOPs per multiply-add: ``mm``, ``bmm``, ``addmm``, convolutions, scaled dot-product
attention); element-wise ops, normalisation, softmax, resizes and ``grid_sample`` are not
counted, so the figure is a lower bound of the work and achieved GFLOP/s too. The count
runs on a twin of the model on the ``meta`` device: shapes only, no arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.flop_counter import FlopCounterMode

from ...training.models import Argus
from ._matrix import TaskSet

__all__ = ["count_gflops", "task_set_gflops"]


@torch.no_grad()
def count_gflops(model: Argus, size: int, tasks: Sequence[str]) -> dict[str, float]:
    """``{"backbone": GFLOPs, task: GFLOPs, ...}`` for one image of ``size``×``size``."""
    with torch.device("meta"):
        twin = Argus(model.cfg).eval()
    # the counter's module tracker hooks autograd on inputs that require grad, which
    # fails under no_grad on parameters fed straight to a module (the cls head's query)
    twin.requires_grad_(False)
    images = torch.zeros(1, 3, size, size, device="meta")
    vit_images = twin.vit_input(images)
    with FlopCounterMode(display=False) as counter:
        feats = twin.forward_features(images, vit_images)
    gflops = {"backbone": counter.get_total_flops() / 1e9}
    for t in tasks:
        with FlopCounterMode(display=False) as counter:
            twin.heads[t](feats)
        gflops[t] = counter.get_total_flops() / 1e9
    return gflops


def task_set_gflops(gflops: dict[str, float], task_set: TaskSet) -> float:
    """GFLOPs of one iteration of ``task_set``: its backbone runs plus its heads."""
    return task_set.backbones * gflops["backbone"] + sum(gflops[t] for t in task_set.tasks)
