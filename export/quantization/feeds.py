"""Feeds for a set of ONNX graph files: shapes read from the graphs, heads fed by FP32."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx

from argus_edge._errors import InvalidArgumentError

from ._runners import Runner, fp32_runner
from .calibration import CalibrationImage, LazyFeeds, graph_feeds

__all__ = ["feeds_for_graphs", "graph_signature"]


def graph_signature(path: str | Path) -> tuple[dict[str, list], dict[str, list]]:
    """``({input name: shape}, {output name: shape})`` of an ONNX graph; dynamic dims are
    strings."""
    if not Path(path).is_file():
        raise InvalidArgumentError(f"ONNX graph {str(path)!r} does not exist")
    model = onnx.load(str(path), load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}

    def shape(value: onnx.ValueInfoProto) -> list:
        return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                for d in value.type.tensor_type.shape.dim]

    inputs = {v.name: shape(v) for v in model.graph.input if v.name not in initializers}
    return inputs, {v.name: shape(v) for v in model.graph.output}


def feeds_for_graphs(
    graphs: Mapping[str, str | Path],
    images: Sequence[CalibrationImage | np.ndarray],
    *,
    input_size: tuple[int, int] | None = None,
    policy: str = "letterbox",
) -> dict[str, LazyFeeds]:
    """One feed per image for every graph of a set.

    Image graphs get the preprocessed image (``images``) and its 14/16 rescale
    (``vit_images``); head graphs get the outputs of the FP32 image graph (ONNX Runtime;
    OpenVINO f32 for a graph with custom nodes, see :func:`._runners.fp32_runner`) on the
    same image, computed lazily.

    Args:
        graphs: ``{graph name: FP32 ONNX path}``.
        images: calibration (or validation) images.
        input_size: (H, W) of ``images`` for graphs with dynamic spatial dims; ``vit_images``
            is then ``(H * 14 // 16, W * 14 // 16)``. Static graphs must agree with it.
        policy: preprocessing resize policy.

    Returns:
        ``{graph: feeds}``.

    Raises:
        InvalidArgumentError: ``input_size`` disagrees with a static graph, or a graph's
            inputs cannot be produced.
    """
    signatures = {g: graph_signature(p) for g, p in graphs.items()}
    shapes = {g: _with_size(g, inputs, input_size) for g, (inputs, _) in signatures.items()}
    sessions: dict[str, Runner] = {}

    def run_fp32(graph: str, feed):
        if graph not in sessions:
            sessions[graph] = fp32_runner(graphs[graph])
        return sessions[graph].run(feed)

    return graph_feeds(shapes, images, run_fp32, {g: outs for g, (_, outs) in signatures.items()},
                       policy=policy)


def _with_size(graph: str, inputs: dict[str, list], size: tuple[int, int] | None) -> dict:
    if size is None:
        return inputs
    wanted = {"images": tuple(size), "vit_images": (size[0] * 14 // 16, size[1] * 14 // 16)}
    out = dict(inputs)
    for name, hw in wanted.items():
        if name not in inputs:
            continue
        shape = list(inputs[name])
        static = [d for d in shape[2:] if isinstance(d, int) and d > 0]
        if len(static) == 2 and tuple(static) != hw:
            raise InvalidArgumentError(
                f"graph {graph!r}: input {name!r} is fixed at {tuple(static)}, not {hw}")
        out[name] = [shape[0], 3, *hw]
    return out
