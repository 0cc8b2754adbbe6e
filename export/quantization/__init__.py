"""INT8 post-training quantization of the Argus graphs, with an accuracy gate.

The workflow (``docs/quantization.md``): calibration images → feeds per graph
(:mod:`.calibration`) → per-layer sensitivity (:mod:`.sensitivity`) → INT8 per backend,
each backend's quantizer from the INT8 registry (:mod:`.int8_backends`: NNCF for OpenVINO,
ONNX Runtime QDQ for ONNX Runtime and TensorRT) with the default float-kept set
(:mod:`.sensitive`) → FP32 vs INT8 comparison and task metric drops
(:mod:`.report`) → the gate restores the most sensitive layers to float until it passes
(:mod:`.gate`) → JSON / Markdown reports. :func:`quantize_graphs` runs all of it.
"""

from . import int8_backends
from .calibration import (
    IMAGE_EXTENSIONS,
    CalibrationImage,
    LazyFeeds,
    find_images,
    graph_feeds,
    image_feeds,
    load_calibration_images,
)
from .feeds import feeds_for_graphs, graph_signature
from .gate import Gate, Verdict, check_gate, layers_to_restore, parse_max_drop
from .int8_backends import Int8Backend, Int8Job, register_int8_backend
from .onnxruntime_ptq import (
    S8S8_SYMMETRIC,
    U8S8,
    QdqFlavour,
    quantize_onnxruntime,
    restore_float_inputs,
)
from .openvino_ptq import map_to_openvino, quantize_openvino, save_ir, to_openvino
from .pipeline import quantize_graphs
from .report import (
    LOWER_IS_BETTER,
    Evaluate,
    GraphSetRunner,
    compare_outputs,
    metric_direction,
    metric_drops,
    write_reports,
)
from .results import (
    BackendResult,
    FloatLayer,
    MetricDrop,
    OutputComparison,
    QuantizationResult,
    RoundRecord,
)
from .sensitive import (
    DEFAULT_FLOAT_OP_TYPES,
    DEFAULT_HEAD_PATTERNS,
    DEFAULT_PARAMETER_PATTERNS,
    SensitivePolicy,
    default_float_nodes,
    final_layers,
    parameter_names,
)
from .sensitivity import LayerSensitivity, layer_sensitivity, plot_sensitivity

__all__ = [
    "BACKENDS",
    "DEFAULT_FLOAT_OP_TYPES",
    "DEFAULT_HEAD_PATTERNS",
    "DEFAULT_PARAMETER_PATTERNS",
    "FLAVOURS",
    "IMAGE_EXTENSIONS",
    "LOWER_IS_BETTER",
    "S8S8_SYMMETRIC",
    "U8S8",
    "BackendResult",
    "CalibrationImage",
    "Evaluate",
    "FloatLayer",
    "Gate",
    "GraphSetRunner",
    "Int8Backend",
    "Int8Job",
    "LayerSensitivity",
    "LazyFeeds",
    "MetricDrop",
    "OutputComparison",
    "QdqFlavour",
    "QuantizationResult",
    "RoundRecord",
    "SensitivePolicy",
    "Verdict",
    "check_gate",
    "compare_outputs",
    "default_float_nodes",
    "feeds_for_graphs",
    "final_layers",
    "find_images",
    "graph_feeds",
    "graph_signature",
    "image_feeds",
    "int8_backends",
    "layer_sensitivity",
    "layers_to_restore",
    "load_calibration_images",
    "map_to_openvino",
    "metric_direction",
    "metric_drops",
    "parameter_names",
    "parse_max_drop",
    "plot_sensitivity",
    "quantize_graphs",
    "quantize_onnxruntime",
    "quantize_openvino",
    "register_int8_backend",
    "restore_float_inputs",
    "save_ir",
    "to_openvino",
    "write_reports",
]


def __getattr__(name: str):
    """``BACKENDS`` (INT8 backend names) and ``FLAVOURS`` (the names of the QDQ ones),
    read from the INT8 registry on each access."""
    derived = {"BACKENDS": int8_backends.names,
               "FLAVOURS": lambda: tuple(int8_backends.qdq_flavours())}
    if name in derived:
        return derived[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
