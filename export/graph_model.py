"""Exported graphs behind the PyTorch model's call signature, for the task evaluators.

The training code's evaluators call ``model(images, tasks=[task])[task]`` and decode with
``model.heads[task].predict``. :class:`GraphModel` answers the first call by running the
task's backbone graph and head graph on an engine (ONNX Runtime or OpenVINO, FP32 or
INT8), and lends PyTorch heads for the reference decoding, so exported graphs are scored
by exactly the code that scores the checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from argus_edge.bundle import Bundle
from argus_edge.runners import GraphRunner, RunnerOptions, open_graph

from ..training.heads import build_head
from ..training.models import ArgusConfig

RunGraph = Callable[[str, Mapping[str, np.ndarray]], Mapping[str, np.ndarray]]


class GraphModel:
    """Callable like :class:`~argus_edge.training.models.Argus` for inference.

    Args:
        run_graph: ``run_graph(graph name, feeds) -> outputs``.
        tasks: the bundle manifest's ``tasks`` (graph and backbone names, input sizes).
        config: the model config (head configs for decoding; the 14/16 rescale).
    """

    def __init__(self, run_graph: RunGraph, tasks: Mapping[str, Any], config: ArgusConfig) -> None:
        self.run_graph, self.tasks, self.cfg = run_graph, tasks, config
        # decoding needs only the heads' configs; their (random) weights are never used
        self.heads = nn.ModuleDict({t: build_head(t, config.heads[t], config.vit.embed_dim)
                                    for t in tasks})

    @classmethod
    def from_bundle(cls, bundle: Bundle, variant: str | Mapping[str, str],
                    options: RunnerOptions | None = None) -> GraphModel:
        """The graphs of one variant (or ``{"backbone": v1, "head": v2}``) of a bundle."""
        roles = {"backbone": variant, "head": variant} if isinstance(variant, str) else variant
        runners: dict[str, GraphRunner] = {}

        def run(graph, feeds):
            if graph not in runners:
                runners[graph] = open_graph(bundle, graph, roles[bundle.graphs[graph]["role"]],
                                            options)
            return runners[graph].run(feeds)

        return cls(run, bundle.tasks, ArgusConfig.from_dict(bundle.manifest["model"]["config"]))

    def eval(self) -> GraphModel:
        return self

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, tasks: list[str]) -> dict[str, dict[str, torch.Tensor]]:
        """The backbone graph once per input size, then each task's head graph."""
        size = list(images.shape[-2:])
        vit = F.interpolate(images.float(), size=self.cfg.vit_input_size(*size),
                            mode="bilinear", align_corners=False, antialias=True)
        feats: dict[str, Mapping[str, np.ndarray]] = {}
        out = {}
        for task in tasks:
            entry = self.tasks[task]
            if list(entry["input_size"]) != size:
                raise ValueError(f"{task}: the graph takes {entry['input_size']}, the "
                                 f"evaluator gave {size}")
            backbone = entry["backbone"]
            if backbone not in feats:
                feats[backbone] = self.run_graph(backbone, {"images": images.float().numpy(),
                                                            "vit_images": vit.numpy()})
            raw = self.run_graph(entry["graph"], {k: feats[backbone][k]
                                                  for k in ("f4", "f8", "f16", "f32")})
            out[task] = {k: torch.from_numpy(np.asarray(v)) for k, v in raw.items()}
        return out
