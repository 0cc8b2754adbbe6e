"""INT8 post-training quantization for OpenVINO with NNCF.

``nncf.quantize(model_type=TRANSFORMER)`` on the OpenVINO model converted from the FP32
ONNX graph: SmoothQuant folded into the LayerNorm → MatMul pairs first
(:mod:`.smoothing`; NNCF's own SmoothQuant off by default), min-max statistics on the
calibration feeds, fast bias correction, FakeQuantize on activations (per tensor, see
below) and int8 weights per output channel.

Activations are quantized **per tensor**, never per channel. NNCF's CPU configuration
allows per-channel activation quantizers on a depthwise convolution's input, and NNCF
moves that quantizer up through the ConvFFN's token → map ``Split``/``Reshape``/
``Transpose`` onto the ``fc1`` output, (B, N, C), where its channel axis (always axis 1)
is the *token* axis: ranges of shape (1, N, 1), one per token position of the
calibration size. Measured on the trained argus_tiny backbone (128×128, 8 calibration
and 8 other images, vs FP32 OpenVINO): NNCF's model is right when its FakeQuantizes are
emulated exactly (f4..f32 cosine 0.998–0.999), but the CPU plugin mis-executes the
SmoothQuant-ed ``fc1`` → per-token FakeQuantize of the extractors (cosine 0.65–0.80;
0.998 with SmoothQuant off, which takes away the trigger but keeps the per-token
ranges). With per-tensor activations: 0.9986–0.9995, SmoothQuant on, and the depthwise
convs run in u8 (a per-token range cannot become a per-channel dequantization after the
reshape, so they ran in f32). ``docs/quantization.md`` has the bisection.

Float-kept layers are chosen on the ONNX graph (where the parameter names live, see
:mod:`.sensitive`) and mapped to OpenVINO operations by name: OpenVINO's ONNX frontend
names an operation after the ONNX node it comes from (``node_MatMul_51``, or
``node_conv2d/WithoutBiases`` for a Conv split from its bias). Float-kept op types map to
OpenVINO types: LayerNormalization and InstanceNormalization (GroupNorm) become ``MVN``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import onnx

from argus_edge._errors import BackendUnavailableError, InvalidArgumentError
from argus_edge._extensions import openvino_extension_path

from ._graph import custom_ops, load_model
from .calibration import Feeds
from .cpu_float import cpu_float_ops
from .sensitive import SensitivePolicy, default_float_nodes
from .smoothing import smooth_layernorms

__all__ = ["OPENVINO_TYPES", "map_to_openvino", "openvino_extensions", "quantize_openvino",
           "save_ir", "to_openvino"]

#: the domain of libargus's custom nodes (``export/deform_op.py``'s ``DOMAIN``)
ARGUS_DOMAIN = "ai.argus"

#: ONNX op type → the OpenVINO op types it becomes (for float-kept op types).
OPENVINO_TYPES: dict[str, tuple[str, ...]] = {
    "LayerNormalization": ("MVN",),
    "InstanceNormalization": ("MVN",),
    "GroupNormalization": ("GroupNormalization", "MVN"),
    "Softmax": ("Softmax", "SoftMax"),
    "GridSample": ("GridSample",),
}
_PRESETS = ("performance", "mixed")


def _ov():
    try:
        import openvino as ov
    except ImportError as exc:  # pragma: no cover - openvino is an export dependency
        raise BackendUnavailableError(f"OpenVINO quantization needs openvino: {exc}") from exc
    return ov


def openvino_extensions(model: onnx.ModelProto) -> list[str]:
    """The OpenVINO extension libraries ``model``'s custom nodes need: libargus's for
    ``ai.argus`` nodes (their kernels), none for a standard-op graph.

    Raises:
        BackendUnavailableError: the graph has custom nodes and libargus's OpenVINO
            extension is not built (the message says how to build it), or a custom node
            is not an ``ai.argus`` one.
    """
    ops = custom_ops(model)
    if not ops:
        return []
    foreign = [op for op in ops if not op.startswith(f"{ARGUS_DOMAIN}::")]
    if foreign:
        raise BackendUnavailableError(f"no OpenVINO extension implements {foreign}")
    return [str(openvino_extension_path())]


def to_openvino(model: Any) -> Any:
    """An ``openvino.Model`` from an ONNX path, an ONNX ``ModelProto`` or an IR path.

    An ``openvino.Model`` is returned as is. ONNX graphs with ``ai.argus`` custom nodes
    convert through libargus's OpenVINO extension (:func:`openvino_extensions`), as the
    exporter's IR writer does; an IR with them needs the extension loaded to be read.
    """
    ov = _ov()
    if isinstance(model, ov.Model):
        return model
    if isinstance(model, (str, Path)) and Path(model).suffix != ".xml":
        model = load_model(model)  # raises InvalidArgumentError for a missing file
    if isinstance(model, onnx.ModelProto):
        extension = openvino_extensions(model)
        with tempfile.TemporaryDirectory(prefix="argus_ov_") as tmp:
            path = Path(tmp) / "model.onnx"
            big = model.ByteSize() > 1_800_000_000  # protobuf's 2 GiB limit, with margin
            onnx.save(model, str(path), save_as_external_data=big, location="model.onnx.data")
            return ov.convert_model(str(path), share_weights=False, extension=extension or None)
    path = Path(model)
    if not path.is_file():
        raise InvalidArgumentError(f"model {str(path)!r} does not exist")
    core = ov.Core()
    try:
        core.add_extension(str(openvino_extension_path()))  # harmless for a standard-op IR
    except BackendUnavailableError:
        pass  # an IR with custom nodes then fails to read, saying which op is unknown
    return core.read_model(str(path))


def map_to_openvino(ov_model: Any, names: Iterable[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Maps ONNX node names (or OpenVINO names) to the OpenVINO operations they became.

    An operation matches a name when its friendly name equals it or starts with
    ``name + "/"``.

    Returns:
        ``(found, missing)``: ``{name: [OpenVINO op names]}`` and the names with no
        operation (fused away, e.g. attention MatMuls into ScaledDotProductAttention).
    """
    ops = [op.get_friendly_name() for op in ov_model.get_ordered_ops()
           if op.get_type_name() not in ("Constant", "Parameter", "Result")]
    found: dict[str, list[str]] = {}
    missing: list[str] = []
    for name in dict.fromkeys(names):
        hits = [op for op in ops if op == name or op.startswith(name + "/")]
        if hits:
            found[name] = hits
        else:
            missing.append(name)
    return found, missing


def _float_plan(model: Any, ignored: Sequence[str], policy: SensitivePolicy | None):
    """(OpenVINO model, OpenVINO op names to ignore, OpenVINO op types to ignore)."""
    names, types = list(ignored), []
    if isinstance(model, onnx.ModelProto) or (
            isinstance(model, (str, Path)) and Path(model).suffix == ".onnx"):
        model = load_model(model)  # names unnamed nodes the same way the ORT path does
        if policy is not None:
            by_type = {n.name for n in model.graph.node if n.op_type in policy.op_types}
            names += [n for n in default_float_nodes(model, policy) if n not in by_type]
            for op_type in policy.op_types:
                types += OPENVINO_TYPES.get(op_type, (op_type,))
    ov_model = to_openvino(model)
    found, _ = map_to_openvino(ov_model, names)
    ov_names = sorted({op for ops in found.values() for op in ops})
    return ov_model, ov_names, sorted(set(types))


def quantize_openvino(
    onnx_or_ov_model: Any,
    calibration_inputs: Feeds,
    *,
    ignored: Sequence[str] = (),
    ignored_types: Sequence[str] = (),
    policy: SensitivePolicy | None = SensitivePolicy(),
    preset: str | None = None,
    subset_size: int = 300,
    fast_bias_correction: bool = True,
    per_channel_activations: bool = False,
    smooth_quant: bool | float = False,
    per_channel_weights: bool = True,
    layernorm_smoothing: float | None = 0.5,
    cpu_float: bool = True,
) -> Any:
    """Quantizes a model to INT8 with NNCF (``model_type=TRANSFORMER``).

    Args:
        onnx_or_ov_model: an ONNX path or ``ModelProto`` (the float-kept policy applies),
            or an ``openvino.Model`` / IR path (only ``ignored`` and ``ignored_types``
            apply: OpenVINO drops the parameter names the policy matches on).
        calibration_inputs: feeds (``{input name: array}``).
        ignored: ONNX node names or OpenVINO op names kept in float; names with no
            OpenVINO operation are skipped.
        ignored_types: OpenVINO op types kept in float (e.g. ``"MVN"``).
        policy: the default float-kept rules; ``None`` keeps only ``ignored``.
        preset: ``performance`` (symmetric) or ``mixed`` (asymmetric activations);
            ``None`` lets NNCF choose (mixed for transformers).
        subset_size: number of calibration feeds used (at most the set's length).
        fast_bias_correction: NNCF's fast bias correction.
        per_channel_activations: let NNCF choose per-channel activation quantizers where
            its CPU configuration allows them (depthwise convolutions). Off by default:
            on token tensors NNCF makes them per token, which the CPU plugin can
            mis-execute (see the module docstring); for experiments only.
        smooth_quant: NNCF's SmoothQuant on every MatMul: ``True`` with NNCF's transformer
            alpha (0.95), a float in [0, 1] for that alpha, ``False`` (default) off.
            Off because ``layernorm_smoothing`` does its job where the outliers are, and
            on every MatMul it cost accuracy (argus_small's ViT, no outliers: cosine
            0.998 → 0.976; docs/quantization.md, "Outlier channels").
        per_channel_weights: int8 weight scales per output channel (default) or one per
            tensor (``False``: for experiments only).
        layernorm_smoothing: SmoothQuant folded into the LayerNorm → MatMul pairs of an
            ONNX graph first, with this alpha (:func:`.smoothing.smooth_layernorms`):
            exact, no extra op, no cap on the scales; ``None``: not folded. It holds the
            ViT's outlier channels, which NNCF's SmoothQuant (scales capped at 100) does
            not. The model's ``rt_info`` records it (``argus/layernorm_smoothing``).
        cpu_float: also keep float the layers OpenVINO's CPU plugin does not run faster
            in INT8 (:func:`.cpu_float.cpu_float_ops`: attention MatMuls of two
            activations, ConvTranspose); ``rt_info`` ``argus/cpu_float/<reason>`` counts
            them.

    Returns:
        The quantized ``openvino.Model`` (save it with :func:`save_ir`). NNCF records its
        parameters, SmoothQuant's alphas included, in the model's ``rt_info``
        (``nncf/quantization``), which the IR keeps.

    Raises:
        InvalidArgumentError: empty calibration set, unknown preset or an alpha outside
            [0, 1].
        BackendUnavailableError: NNCF or OpenVINO is not installed.
    """
    try:
        import nncf
        from nncf.quantization.advanced_parameters import (
            AdvancedSmoothQuantParameters,
            QuantizationParameters,
        )
    except ImportError as exc:  # pragma: no cover - nncf is an export dependency
        raise BackendUnavailableError(f"OpenVINO quantization needs nncf: {exc}") from exc
    if len(calibration_inputs) == 0:
        raise InvalidArgumentError("the calibration set is empty")
    if preset is not None and preset not in _PRESETS:
        raise InvalidArgumentError(f"preset must be one of {_PRESETS} or None, got {preset!r}")
    if smooth_quant is True:
        alphas = AdvancedSmoothQuantParameters()  # NNCF's: MatMul 0.95, Convolution off
    elif smooth_quant is False:
        alphas = AdvancedSmoothQuantParameters(convolution=-1, matmul=-1)
    elif 0.0 <= float(smooth_quant) <= 1.0:
        alphas = AdvancedSmoothQuantParameters(matmul=float(smooth_quant))
    else:
        raise InvalidArgumentError(f"smooth_quant must be a bool or an alpha in [0, 1], "
                                   f"got {smooth_quant!r}")
    folded = []
    onnx_input = isinstance(onnx_or_ov_model, onnx.ModelProto) or (
        isinstance(onnx_or_ov_model, (str, Path)) and Path(onnx_or_ov_model).suffix == ".onnx")
    if layernorm_smoothing is not None and onnx_input:
        onnx_or_ov_model, folded = smooth_layernorms(onnx_or_ov_model, calibration_inputs,
                                                     alpha=layernorm_smoothing)
    ov_model, names, types = _float_plan(onnx_or_ov_model, ignored, policy)
    speed = cpu_float_ops(ov_model) if cpu_float else {}
    names = sorted(set(names).union(*speed.values()))
    input_names = [p.get_any_name() for p in ov_model.inputs]
    dataset = nncf.Dataset(calibration_inputs, lambda feed: {k: feed[k] for k in input_names})
    # per_channel=None leaves it to NNCF's hardware config; False forces per tensor (see
    # the module docstring for the measurements behind this default).
    activations = QuantizationParameters(per_channel=None if per_channel_activations else False)
    quantized = nncf.quantize(
        ov_model, dataset,
        preset=None if preset is None else getattr(nncf.QuantizationPreset, preset.upper()),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=max(1, min(subset_size, len(calibration_inputs))),
        fast_bias_correction=fast_bias_correction,
        ignored_scope=nncf.IgnoredScope(names=names, types=sorted(set(types) | set(ignored_types)),
                                        validate=False),
        advanced_parameters=nncf.AdvancedQuantizationParameters(
            activations_quantization_params=activations, smooth_quant_alphas=alphas,
            weights_quantization_params=(None if per_channel_weights
                                         else QuantizationParameters(per_channel=False))),
    )
    for reason, ops in speed.items():
        quantized.set_rt_info(str(len(ops)), ["argus", "cpu_float", reason])
    if folded:
        quantized.set_rt_info(str(layernorm_smoothing), ["argus", "layernorm_smoothing", "alpha"])
        quantized.set_rt_info(str(len(folded)), ["argus", "layernorm_smoothing", "layernorms"])
    return quantized


def save_ir(model: Any, xml_path: str | Path) -> Path:
    """Writes an ``openvino.Model`` as IR (``.xml`` + ``.bin``), weights not compressed."""
    xml_path = Path(xml_path)
    xml_path.parent.mkdir(parents=True, exist_ok=True)
    _ov().save_model(model, str(xml_path), compress_to_fp16=False)
    return xml_path

