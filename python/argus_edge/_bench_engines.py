"""The engines ``argus-edge bench`` times and the tasks it can time, as plain data.

Torch-free, so that the command's arguments (:mod:`._cli_bench`) offer exactly what the
benchmark (``argus_edge.export.bench``, which needs torch) runs. Each graph engine names
its backend in the backend registry (:mod:`argus_edge.backends`); the benchmark makes its
graphs with that backend's exporter or INT8 quantizer and loads them with that backend.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ENGINES", "IMAGE_TASKS", "Engine", "engine"]

#: tasks whose heads run on the full image (pose runs on person crops: not benchmarked)
IMAGE_TASKS = ("det", "inst", "sem", "cls", "depth")


@dataclass(frozen=True)
class Engine:
    """One inference engine at one precision.

    Attributes:
        key: the name used on the command line (``ort-int8``).
        label: engine name for tables.
        precision: weights / compute precision for tables.
        runtime: how a timed process runs it: ``torch`` (the PyTorch module), ``graphs``
            (the backbone and head graphs on ``backend``) or ``session`` (an
            ``argus_edge.Session`` on ``backend``).
        backend: the backend registry's name (None for PyTorch).
        graph_precision: the precision of the graphs it runs: ``fp32`` (exported) or
            ``int8`` (the backend's INT8 quantizer; for the Session, an INT8 bundle made
            by the quantization pipeline, gate included); None for PyTorch.
        hint: inference precision hint, for backends that take one (None: the device
            default); a Session gets it as ``precision="bf16"``.
        performance: ``throughput`` for a Session with several requests in flight (timed
            as images/s over a stream of frames); None: latency, one image at a time.
    """

    key: str
    label: str
    precision: str
    runtime: str
    backend: str | None = None
    graph_precision: str | None = None
    hint: str | None = None
    performance: str | None = None

    @property
    def session_precision(self) -> str | None:
        """The ``precision`` a Session engine is opened with (None for other runtimes)."""
        if self.runtime != "session":
            return None
        return "bf16" if self.hint == "bf16" else self.graph_precision

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        return {**asdict(self), "session_precision": self.session_precision}


ENGINES: tuple[Engine, ...] = (
    Engine("torch", "PyTorch eager", "FP32", "torch"),
    Engine("ort-fp32", "ONNX Runtime", "FP32", "graphs", "onnxruntime", "fp32"),
    Engine("ort-int8", "ONNX Runtime", "INT8 (QDQ)", "graphs", "onnxruntime", "int8"),
    Engine("ov-f32", "OpenVINO", "FP32 (f32)", "graphs", "openvino", "fp32", "f32"),
    Engine("ov-bf16", "OpenVINO", "FP32 IR, bf16 compute", "graphs", "openvino", "fp32", "bf16"),
    Engine("ov-int8", "OpenVINO", "INT8 (NNCF)", "graphs", "openvino", "int8"),
    Engine("session", "argus-edge Session", "FP32 IR + deform kernel", "session", "openvino",
           "fp32", "f32"),
    Engine("session-bf16", "argus-edge Session", "FP32 IR, bf16 compute + deform kernel",
           "session", "openvino", "fp32", "bf16"),
    Engine("session-int8", "argus-edge Session", "INT8 (NNCF) + deform kernel", "session",
           "openvino", "int8"),
    Engine("session-tput", "argus-edge Session, throughput", "FP32 IR + deform kernel",
           "session", "openvino", "fp32", "f32", performance="throughput"),
)


def engine(key: str) -> Engine:
    """The :class:`Engine` named ``key``.

    Raises:
        KeyError: no such engine.
    """
    for e in ENGINES:
        if e.key == key:
            return e
    raise KeyError(f"unknown engine {key!r}; choose from {[e.key for e in ENGINES]}")
