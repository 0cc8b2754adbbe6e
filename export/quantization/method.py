"""What an INT8 artifact is, read back from it: SmoothQuant, quantizer granularity, float layers.

The reports state how each graph was quantized from the artifact that ships, not from the
settings the code meant to pass: an OpenVINO IR written by NNCF records NNCF's parameters
in its ``rt_info`` (``nncf/quantization/...``, SmoothQuant's alphas included) and names
SmoothQuant's scaling multiplies ``.../nncf_smooth_quant``; its activation quantizers are
``FakeQuantize`` ops and its int8 weights ``Constant(i8) → Convert → [Subtract] →
Multiply(scale)`` (or a ``FakeQuantize`` on a constant). A QDQ ONNX graph has
``QuantizeLinear`` on activations and int8 initializers behind ``DequantizeLinear`` for
weights, and no SmoothQuant of its own. SmoothQuant folded into the LayerNorms
(:mod:`.smoothing`) leaves no op behind: ``quantize_openvino`` records it in the IR's
``rt_info`` (``argus/layernorm_smoothing``), :func:`.smoothing.smooth_layernorms` in the
ONNX metadata, which ONNX Runtime's quantizer keeps. A quantizer is per tensor when its
scale / range has one element.
"""

from __future__ import annotations

import ast
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from ._graph import load_model
from .results import QuantizationMethod
from .smoothing import METADATA_KEY

__all__ = ["describe_artifact", "describe_artifacts"]

_ARGUS_SMOOTHING = ("argus", "layernorm_smoothing")  # quantize_openvino's rt_info entry
_ONNX_COMPUTE = {"Conv", "ConvTranspose", "MatMul", "Gemm"}
_OV_COMPUTE = {"MatMul", "Convolution", "GroupConvolution", "ConvolutionBackpropData",
               "GroupConvolutionBackpropData"}
#: ops an activation quantizer may sit behind before it reaches a compute layer
_OV_PASS = {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Convert", "Concat", "Split",
            "VariadicSplit", "StridedSlice", "Gather"}


def describe_artifacts(artifacts: Mapping[str, str | Path]) -> dict[str, QuantizationMethod]:
    """``{graph: method}`` of the artifacts that can be read; one that cannot is left out
    with a warning naming it (a report is still written without its method)."""
    methods = {}
    for graph, path in artifacts.items():
        try:
            methods[graph] = describe_artifact(path)
        except Exception as exc:  # noqa: BLE001 - describing must not lose the report
            warnings.warn(f"could not read how {str(path)!r} is quantized: {exc}", stacklevel=2)
    return methods


def describe_artifact(path: str | Path) -> QuantizationMethod:
    """How an INT8 artifact is quantized: an OpenVINO IR (``.xml``) or a QDQ ONNX graph.

    Raises:
        OSError: the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(str(path))
    if path.suffix == ".xml":
        from .openvino_ptq import to_openvino  # reads IRs with custom nodes (extension)

        return describe_openvino(to_openvino(path))
    return describe_qdq(load_model(path))


# ----------------------------------------------------------------------------- OpenVINO
def _rt(model: Any, *keys: str, root: Sequence[str] = ("nncf", "quantization")) -> str | None:
    path = [*root, *keys]
    return model.get_rt_info(path).astype(str) if model.has_rt_info(path) else None


def _smooth_quant_alpha(advanced: str | None) -> float | None:
    """SmoothQuant's MatMul alpha from NNCF's recorded ``advanced_parameters`` (the repr
    of a dict of literals), ``None`` when absent."""
    if not advanced:
        return None
    try:
        params = ast.literal_eval(advanced)
    except (ValueError, SyntaxError):
        return None
    alphas = params.get("smooth_quant_alphas") or {}
    legacy = params.get("smooth_quant_alpha")  # NNCF's deprecated single alpha wins
    value = legacy if legacy is not None else alphas.get("matmul")
    return None if value is None else float(value)


def _numel(output: Any) -> int:
    return int(np.prod(output.get_partial_shape().to_shape(), dtype=np.int64))


def _producer(value: Any) -> Any:
    return value.get_node()


def _is_constant(node: Any) -> bool:
    while node.get_type_name() == "Convert":
        node = _producer(node.input_value(0))
    return node.get_type_name() == "Constant"


def _quantized_input(node: Any) -> bool:
    """Whether an activation input of ``node`` comes from a FakeQuantize (through
    layout ops) or is an int8 tensor (a FakeQuantize fused into the producer)."""
    for value in node.input_values():
        src = _producer(value)
        if _is_constant(src):
            continue
        while src.get_type_name() in _OV_PASS and src.get_input_size():
            src = _producer(src.input_value(0))
        if src.get_type_name() == "FakeQuantize":
            return True
    return False


def describe_openvino(model: Any) -> QuantizationMethod:
    """:class:`QuantizationMethod` of an ``openvino.Model`` quantized by NNCF."""
    ops = list(model.get_ordered_ops())
    fq = [op for op in ops if op.get_type_name() == "FakeQuantize"]
    acts = [op for op in fq if not _is_constant(_producer(op.input_value(0)))]
    weight_fq = [op for op in fq if _is_constant(_producer(op.input_value(0)))]
    weight_scales = [_numel(op.input_value(1)) for op in weight_fq]
    for op in ops:  # NNCF's compressed weights: Constant(i8/u8) → Convert → ... → Multiply
        if op.get_type_name() == "Constant" and op.get_element_type().get_type_name() in ("i8", "u8"):
            weight_scales.append(_compressed_scale_size(op))
    kinds = {_fake_quantize_kind(op) for op in acts}
    compute = [op for op in ops if op.get_type_name() in _OV_COMPUTE]
    smoothed = sum("nncf_smooth_quant" in op.get_friendly_name() for op in ops
                   if op.get_type_name() == "Multiply")
    alpha = _smooth_quant_alpha(_rt(model, "advanced_parameters"))
    version = model.get_rt_info(["nncf", "version"]).astype(str) \
        if model.has_rt_info(["nncf", "version"]) else "?"
    tool = (f"NNCF {version} (OpenVINO) model_type={_rt(model, 'model_type')} "
            f"preset={_rt(model, 'preset')} fast_bias_correction={_rt(model, 'fast_bias_correction')}")
    return QuantizationMethod(
        tool=tool,
        smooth_quant_alpha=alpha if alpha is not None and alpha >= 0 and smoothed else None,
        smoothed_layers=smoothed, activation_quantizers=len(acts),
        per_channel_activations=sum(_numel(op.input_value(1)) > 1 for op in acts),
        activation_type=_one_kind(kinds), weight_quantizers=len(weight_scales),
        per_channel_weights=sum(n > 1 for n in weight_scales), compute_layers=len(compute),
        float_layers=sum(not _quantized_input(op) for op in compute),
        layernorm_smoothing_alpha=_float(_rt(model, "alpha", root=_ARGUS_SMOOTHING)),
        smoothed_layernorms=int(_float(_rt(model, "layernorms", root=_ARGUS_SMOOTHING)) or 0))


def _float(text: str | None) -> float | None:
    return None if text in (None, "None") else float(text)


def _fake_quantize_kind(op: Any) -> str:
    """``8-bit asymmetric``, ``8-bit symmetric`` or ``8-bit unsigned`` (range from 0; both
    kinds give it) from an activation FakeQuantize's input range."""
    low_node, high_node = _producer(op.input_value(1)), _producer(op.input_value(2))
    bits = f"{int(np.log2(op.get_levels()) + 0.5)}-bit"
    if low_node.get_type_name() != "Constant" or high_node.get_type_name() != "Constant":
        return f"{bits} (ranges not constant)"
    low = np.asarray(low_node.get_data(), np.float64).ravel()
    high = np.asarray(high_node.get_data(), np.float64).ravel()
    half = op.get_levels() // 2
    if not np.any(low):
        return f"{bits} unsigned"
    if np.allclose(low, -high * half / (half - 1), rtol=1e-3):
        return f"{bits} symmetric"
    return f"{bits} asymmetric"


def _one_kind(kinds: set[str]) -> str:
    if not kinds:
        return "none"
    if len(kinds) == 1:
        return next(iter(kinds))
    kinds.discard("8-bit unsigned")  # a range from 0 fits either kind
    return next(iter(kinds)) if len(kinds) == 1 else "mixed: " + ", ".join(sorted(kinds))


def _compressed_scale_size(constant: Any) -> int:
    """Elements of the scale that dequantizes an int8 weight constant (1 if not found)."""
    node = constant
    for _ in range(4):  # Convert → [Subtract] → Multiply
        targets = [t.get_node() for t in node.output(0).get_target_inputs()]
        if not targets:
            return 1
        node = targets[0]
        if node.get_type_name() == "Multiply":
            others = [v for v in node.input_values() if _is_constant(_producer(v))
                      and _producer(v) is not constant]
            return max((_numel(v) for v in others), default=1)
    return 1


# ----------------------------------------------------------------------------- QDQ ONNX
def describe_qdq(model: onnx.ModelProto) -> QuantizationMethod:
    """:class:`QuantizationMethod` of a QDQ ONNX graph (ONNX Runtime ``quantize_static``)."""
    inits = {t.name: t for t in model.graph.initializer}

    def size(name: str) -> int:
        return int(np.prod(inits[name].dims)) if name in inits else 1

    acts = [n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] not in inits]
    weights = [n for n in model.graph.node if n.op_type == "DequantizeLinear"
               and n.input[0] in inits]
    act_dq = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"
              and n.input[0] not in inits}
    kinds = set()
    for n in acts:
        zp = numpy_helper.to_array(inits[n.input[2]]) if len(n.input) > 2 and n.input[2] in inits else None
        signed = zp is not None and zp.dtype == np.int8
        symmetric = signed and not np.any(zp)
        kinds.add(f"8-bit {'signed' if signed else 'unsigned'} "
                  f"{'symmetric' if symmetric else 'asymmetric'}")
    compute = [n for n in model.graph.node if n.op_type in _ONNX_COMPUTE]
    props = {p.key: p.value for p in model.metadata_props}
    folding = json.loads(props[METADATA_KEY]) if METADATA_KEY in props else {}
    return QuantizationMethod(
        tool="ONNX Runtime QDQ (quantize_static)", smooth_quant_alpha=None, smoothed_layers=0,
        activation_quantizers=len(acts),
        per_channel_activations=sum(size(n.input[1]) > 1 for n in acts),
        activation_type=_one_kind(kinds),
        weight_quantizers=len(weights),
        per_channel_weights=sum(size(n.input[1]) > 1 for n in weights),
        compute_layers=len(compute),
        float_layers=sum(not any(i in act_dq for i in n.input) for n in compute),
        layernorm_smoothing_alpha=folding.get("alpha"),
        smoothed_layernorms=int(folding.get("layernorms", 0)))
