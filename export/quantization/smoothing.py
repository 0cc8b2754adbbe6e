"""SmoothQuant folded into the LayerNorms: outlier channels moved into the weights, exactly.

A ViT's outlier channels reach its MatMuls through LayerNorms (``norm1`` → ``qkv``,
``norm2`` → ``fc1``; :mod:`.outliers`). For such a pair, SmoothQuant's per-channel scale
``s_c = max|X_c|^α / max|W[c, :]|^(1-α)`` can be folded into the LayerNorm: its gain and
bias are divided by ``s`` and row ``c`` of every reading MatMul's weight multiplied by
``s``. The graph computes what it computed (``(x / s) (s W) = x W``), has no extra op,
and its LayerNorm outputs have flat per-channel ranges that a per-tensor INT8 scale holds.

Why not NNCF's SmoothQuant (``quantize_openvino(smooth_quant=...)``): it clips its scales
to [their 10 % quantile, 100], so a 1000× outlier channel stays ~10× after smoothing; it
smooths every MatMul, also those whose inputs have no outliers (``proj``, ``fc2``), which
cost accuracy on argus_small's ViT even without outliers (docs/quantization.md, "Outlier
channels"); and it exists only for the OpenVINO path. The folded graph is a plain FP32
ONNX graph: every backend (NNCF, ONNX Runtime QDQ, TensorRT QDQ) quantizes it.

Only LayerNorms whose gain and bias are initializers and whose output is read by MatMuls
with an initializer weight of shape (D, N), and by nothing else, are folded.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from argus_edge._errors import InvalidArgumentError

from ._graph import load_model
from ._runners import fp32_runner
from .calibration import Feeds

__all__ = ["METADATA_KEY", "SmoothedLayerNorm", "layernorm_matmul_pairs", "smooth_layernorms"]

#: the model metadata entry recording the folding: JSON ``{"alpha": a, "layernorms": n}``
METADATA_KEY = "argus.layernorm_smoothing"
_MIN = 1e-5  # statistics below this are clipped (a dead channel would make s infinite)


@dataclass(frozen=True)
class SmoothedLayerNorm:
    """One folded LayerNorm.

    Attributes:
        node: the LayerNormalization node.
        matmuls: the MatMul nodes reading it (their weights were rescaled).
        outlier_ratio: max / median per-channel max |activation| before folding.
        smoothed_ratio: the same after folding.
    """

    node: str
    matmuls: tuple[str, ...]
    outlier_ratio: float
    smoothed_ratio: float


def layernorm_matmul_pairs(model: onnx.ModelProto) -> list[tuple[onnx.NodeProto, list[onnx.NodeProto]]]:
    """LayerNorms that can be folded, each with the MatMuls reading it (module docstring)."""
    inits = {t.name: t for t in model.graph.initializer}
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in model.graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    outputs = {v.name for v in model.graph.output}
    pairs = []
    for node in model.graph.node:
        if node.op_type != "LayerNormalization" or len(node.input) < 3:
            continue
        if not all(name in inits for name in node.input[1:3]) or node.output[0] in outputs:
            continue
        width = int(np.prod(inits[node.input[1]].dims))
        users = readers.get(node.output[0], [])
        ok = users and all(
            u.op_type == "MatMul" and u.input[0] == node.output[0] and u.input[1] in inits
            and list(inits[u.input[1]].dims)[:1] == [width] and len(inits[u.input[1]].dims) == 2
            for u in users)
        if ok:
            pairs.append((node, users))
    return pairs


def _channel_max(model: onnx.ModelProto, names: Sequence[str], feeds: Feeds) -> dict[str, np.ndarray]:
    """max |x| per last-axis channel of the tensors ``names`` over ``feeds`` (FP32)."""
    probe = copy.deepcopy(model)
    known = {v.name for v in probe.graph.output}
    probe.graph.output.extend(onnx.helper.make_tensor_value_info(n, onnx.TensorProto.FLOAT, None)
                              for n in names if n not in known)
    runner = fp32_runner(probe)  # ONNX Runtime; OpenVINO f32 for a graph with custom nodes
    stats: dict[str, np.ndarray] = {}
    for feed in feeds:
        outs = runner.run(feed)
        for name in names:
            value = np.abs(outs[name]).reshape(-1, outs[name].shape[-1]).max(axis=0)
            stats[name] = value if name not in stats else np.maximum(stats[name], value)
    return stats


def _ratio(values: np.ndarray) -> float:
    return float(values.max() / max(float(np.median(values)), _MIN))


def smooth_layernorms(model, calibration_inputs: Feeds, *, alpha: float = 0.5
                      ) -> tuple[onnx.ModelProto, list[SmoothedLayerNorm]]:
    """Folds SmoothQuant into every foldable LayerNorm → MatMul pair (module docstring).

    Args:
        model: the FP32 ONNX graph (path or ``ModelProto``; not modified).
        calibration_inputs: feeds the activation maxima are measured on.
        alpha: SmoothQuant's migration strength in [0, 1]: 0 leaves the activations, 1
            moves all of their per-channel range into the weights. 0.5 (SmoothQuant's
            paper) splits it evenly between activations and weights.

    Returns:
        ``(smoothed copy, what was folded)``; the copy gets new initializers for every
        folded gain, bias and weight (the exporter shares equal initializers, e.g. the
        zero biases of every LayerNorm) and records the folding in its metadata
        (:data:`METADATA_KEY`).

    Raises:
        InvalidArgumentError: ``alpha`` outside [0, 1] or an empty calibration set.
    """
    if not 0.0 <= alpha <= 1.0:
        raise InvalidArgumentError(f"alpha must be in [0, 1], got {alpha}")
    if len(calibration_inputs) == 0:
        raise InvalidArgumentError("the calibration set is empty")
    model = load_model(model)  # a copy
    pairs = layernorm_matmul_pairs(model)
    if not pairs:
        return model, []
    act = _channel_max(model, [ln.output[0] for ln, _ in pairs], calibration_inputs)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    folded = []
    for ln, users in pairs:
        a = np.maximum(act[ln.output[0]], _MIN)
        w = np.maximum(np.max([np.abs(inits[u.input[1]]).max(axis=1) for u in users], axis=0), _MIN)
        s = (a ** alpha / w ** (1.0 - alpha)).astype(np.float32)
        _replace(model, ln, 1, inits[ln.input[1]] / s)
        _replace(model, ln, 2, inits[ln.input[2]] / s)
        for u in users:
            _replace(model, u, 1, inits[u.input[1]] * s[:, None])
        folded.append(SmoothedLayerNorm(ln.name, tuple(u.name for u in users), _ratio(a),
                                        _ratio(a / s)))
    record = {"alpha": float(alpha), "layernorms": len(folded)}
    onnx.helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props},
                                        METADATA_KEY: json.dumps(record)})
    used = {name for node in model.graph.node for name in node.input}
    kept = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model, folded


def _replace(model: onnx.ModelProto, node: onnx.NodeProto, index: int, value: np.ndarray) -> None:
    """Points ``node.input[index]`` at a new initializer holding ``value``; its name keeps
    the old one (the float-kept rules match parameter names, :mod:`.sensitive`)."""
    name = f"{node.input[index]}/smoothed/{node.name}"
    model.graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), name))
    node.input[index] = name
