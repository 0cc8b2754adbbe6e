"""INT8 post-training quantization to QDQ ONNX with ONNX Runtime's ``quantize_static``.

Two flavours (:class:`QdqFlavour`) of the same QDQ graph:

* :data:`U8S8`: asymmetric uint8 activations and symmetric int8 per-channel weights,
  ONNX Runtime's recommendation for x86 CPUs with VNNI (the ONNX Runtime backend's).
* :data:`S8S8_SYMMETRIC`: the explicit-quantization graph TensorRT 10 builds from.
  Symmetric int8 activations and weights (every zero point is 0), per-channel weights on
  the output channel axis, one dedicated Q/DQ pair per consumer.

Each INT8 backend that writes QDQ graphs names its flavour in the INT8 registry
(:mod:`.int8_backends`), so a flavour can also be given by that backend's name.

In both, only the inputs of compute layers (Conv, ConvTranspose, MatMul, Gemm) are
quantized, and every other op reads float tensors: LayerNormalization, Softmax, GridSample
and the layers of the float-kept set (:mod:`.sensitive`) never see a Q/DQ pair.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import logging
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx

from argus_edge._errors import InvalidArgumentError

from ._graph import COMPUTE_OPS, GraphIndex, load_model
from .calibration import Feeds
from .sensitive import SensitivePolicy, default_float_nodes

__all__ = ["S8S8_SYMMETRIC", "U8S8", "QdqFlavour", "quantize_onnxruntime",
           "restore_float_inputs"]


@dataclass(frozen=True, eq=False)
class QdqFlavour:
    """How a QDQ graph quantizes (weights are symmetric int8 in every flavour).

    Attributes:
        name: for reports and errors.
        activations: the ``onnxruntime.quantization.QuantType`` of the activations.
        extra_options: ``quantize_static``'s ``extra_options``.
    """

    name: str
    activations: str
    extra_options: Mapping[str, Any]


#: Asymmetric uint8 activations, symmetric int8 per-channel weights (ONNX Runtime on x86).
U8S8 = QdqFlavour("U8S8", "QUInt8", {"ActivationSymmetric": False, "WeightSymmetric": True})
#: Symmetric int8 activations and weights, one Q/DQ pair per consumer, MatMul weights per
#: output channel (TensorRT 10's explicit quantization).
S8S8_SYMMETRIC = QdqFlavour("S8S8 symmetric", "QInt8", {
    "ActivationSymmetric": True,
    "WeightSymmetric": True,
    "DedicatedQDQPair": True,
    "QDQOpTypePerChannelSupportToAxis": {"MatMul": 1},
})
_CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
_EXTERNAL_DATA_BYTES = 1_800_000_000  # protobuf's 2 GiB limit, with margin


class _Reader:
    """``CalibrationDataReader`` over a sequence of feeds (only the graph's inputs)."""

    def __init__(self, feeds: Feeds, input_names: Sequence[str]) -> None:
        self._feeds, self._names, self._next = feeds, list(input_names), 0

    def get_next(self) -> dict | None:
        if self._next >= len(self._feeds):
            return None
        feed = self._feeds[self._next]
        self._next += 1
        return {k: feed[k] for k in self._names}

    def __len__(self) -> int:
        return len(self._feeds)

    def rewind(self) -> None:
        self._next = 0


class _NoPreprocessNag(logging.Filter):
    """Drops ORT's 'please consider pre-processing' warning, repeated on every call."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-process" not in record.getMessage()


def _qdq_flavour(flavour: QdqFlavour | str) -> QdqFlavour:
    """``flavour``, or the flavour of the INT8 backend named ``flavour``.

    Raises:
        InvalidArgumentError: no INT8 backend of that name writes QDQ graphs.
    """
    if isinstance(flavour, QdqFlavour):
        return flavour
    from .int8_backends import qdq_flavours  # the registry imports this module

    flavours = qdq_flavours()
    if flavour not in flavours:
        raise InvalidArgumentError(f"flavour must be one of {tuple(flavours)}, got {flavour!r}")
    return flavours[flavour]


def quantize_onnxruntime(
    onnx_path: str | Path | onnx.ModelProto,
    out_path: str | Path,
    calibration_inputs: Feeds,
    *,
    exclude_nodes: Iterable[str] = (),
    per_channel: bool = True,
    flavour: QdqFlavour | str = U8S8,
    policy: SensitivePolicy | None = SensitivePolicy(),
    calibrate_method: str = "minmax",
    calibration_cache: str | Path | None = None,
) -> Path:
    """Quantizes a graph to a QDQ ONNX model.

    Args:
        onnx_path: the FP32 graph (file or ``ModelProto``).
        out_path: where to write the QDQ model.
        calibration_inputs: feeds (``{input name: array}``) to calibrate on.
        exclude_nodes: node names kept in float, on top of the policy's.
        per_channel: per-output-channel weight scales.
        flavour: a :class:`QdqFlavour`, or the name of an INT8 backend writing QDQ
            graphs (``onnxruntime``: :data:`U8S8`; ``tensorrt``: :data:`S8S8_SYMMETRIC`).
        policy: the default float-kept rules; ``None`` keeps only ``exclude_nodes``.
        calibrate_method: ``minmax``, ``entropy`` or ``percentile``.
        calibration_cache: a JSON file of activation ranges: read if it exists (no
            calibration run), written otherwise. Reuse it only for the same graph and
            calibration set.

    Returns:
        ``out_path``.

    Raises:
        InvalidArgumentError: unknown flavour or calibration method, empty calibration
            set, or unknown node names in ``exclude_nodes``.
    """
    from onnxruntime.quantization import QuantFormat, quantize_static

    flavour = _qdq_flavour(flavour)
    model = load_model(onnx_path)
    index = GraphIndex(model)
    keep = _float_set(index, calibrate_method, calibration_inputs, exclude_nodes, policy)
    kwargs = _static_options(flavour, calibrate_method, calibration_cache)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet_ort(), tempfile.TemporaryDirectory(prefix="argus_qdq_") as tmp:
        raw = Path(tmp) / "qdq.onnx"
        quantize_static(
            model, str(raw), _Reader(calibration_inputs, index.inputs),
            quant_format=QuantFormat.QDQ, op_types_to_quantize=list(COMPUTE_OPS),
            per_channel=per_channel, nodes_to_exclude=sorted(keep),
            use_external_data_format=model.ByteSize() > _EXTERNAL_DATA_BYTES, **kwargs)
        qdq = onnx.load(str(raw))
    quantized = {n.name for n in index.compute_nodes()} - keep
    restore_float_inputs(qdq, quantized)
    _save(qdq, out_path)
    return out_path


def _float_set(index: GraphIndex, calibrate_method: str, feeds: Feeds,
               exclude_nodes: Iterable[str], policy: SensitivePolicy | None) -> set[str]:
    """Checks the arguments; returns the names of the nodes kept in float."""
    if calibrate_method not in _CALIBRATION_METHODS:
        raise InvalidArgumentError(
            f"calibrate_method must be one of {_CALIBRATION_METHODS}, got {calibrate_method!r}")
    if len(feeds) == 0:
        raise InvalidArgumentError("the calibration set is empty")
    keep = set(exclude_nodes)
    if unknown := sorted(keep - set(index.nodes)):
        raise InvalidArgumentError(f"exclude_nodes names nodes not in the graph: {unknown[:5]}")
    if policy is not None:
        keep |= set(default_float_nodes(index, policy))
    return keep


def _static_options(flavour: QdqFlavour, calibrate_method: str,
                    cache: str | Path | None) -> dict:
    """``quantize_static`` keyword arguments of a flavour."""
    from onnxruntime.quantization import CalibrationMethod, QuantType

    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[calibrate_method]
    kwargs = {"activation_type": getattr(QuantType, flavour.activations),
              "weight_type": QuantType.QInt8, "calibrate_method": method,
              "extra_options": copy.deepcopy(dict(flavour.extra_options))}
    if cache is not None and _supports("calibration_cache_path"):
        kwargs["calibration_cache_path"] = str(cache)
    return kwargs


def _supports(argument: str) -> bool:
    from onnxruntime.quantization import quantize_static

    return argument in inspect.signature(quantize_static).parameters


@contextlib.contextmanager
def _quiet_ort():
    nag = _NoPreprocessNag()
    root = logging.getLogger()
    root.addFilter(nag)
    try:
        yield
    finally:
        root.removeFilter(nag)


def _save(model: onnx.ModelProto, path: Path) -> None:
    if model.ByteSize() > _EXTERNAL_DATA_BYTES:
        onnx.save(model, str(path), save_as_external_data=True,
                  location=path.name + ".data", all_tensors_to_one_file=True)
    else:
        onnx.save(model, str(path))


def restore_float_inputs(model: onnx.ModelProto, quantized_nodes: set[str]) -> int:
    """Rewires every node that is not a quantized compute layer to read float tensors.

    ``quantize_static`` replaces a quantized tensor for *all* its consumers (and, when it
    is a graph output, the output itself) by the DequantizeLinear output, so a
    LayerNormalization or GridSample sharing an input with a quantized MatMul would read
    rounded values. This undoes that, in place, and drops Q/DQ pairs nobody reads.

    Args:
        model: a QDQ model from ``quantize_static``.
        quantized_nodes: names of the nodes meant to read quantized inputs.

    Returns:
        The number of inputs rewired.
    """
    index = GraphIndex(model)
    outputs = set(index.outputs)
    rewired = 0
    for dq in [n for n in model.graph.node if n.op_type == "DequantizeLinear"]:
        q = index.producer.get(dq.input[0])
        if q is None or q.op_type != "QuantizeLinear" or q.input[0] in index.initializers:
            continue
        source = q.input[0]
        if dq.output[0] in outputs:  # ORT renamed the producer's output to keep the name
            rewired += _give_output_back(index, q, dq, quantized_nodes)
            source = q.input[0]
        for consumer in index.consumers.get(dq.output[0], []):
            if consumer.name in quantized_nodes or consumer.op_type in ("QuantizeLinear",):
                continue
            for i, name in enumerate(consumer.input):
                if name == dq.output[0]:
                    consumer.input[i] = source
                    rewired += 1
    _drop_dead_qdq(model)
    return rewired


def _give_output_back(index: GraphIndex, q, dq, quantized_nodes: set[str]) -> int:
    output, renamed = dq.output[0], q.input[0]
    producer = index.producer.get(renamed)
    if producer is None:
        return 0
    for i, name in enumerate(producer.output):
        if name == renamed:
            producer.output[i] = output
    for node in index.consumers.get(renamed, []):
        for i, name in enumerate(node.input):
            if name == renamed:
                node.input[i] = output
    dq.output[0] = output + "_dequantized"
    for node in index.consumers.get(output, []):
        if node.name in quantized_nodes:
            for i, name in enumerate(node.input):
                if name == output:
                    node.input[i] = dq.output[0]
    return 1


def _drop_dead_qdq(model: onnx.ModelProto) -> None:
    graph = model.graph
    while True:
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")
                and not any(o in used for o in n.output)]
        if not dead:
            return
        for node in dead:
            graph.node.remove(node)
