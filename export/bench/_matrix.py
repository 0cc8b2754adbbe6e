"""What the benchmark measures: the engines and the task sets, as plain data.

Torch-free: the worker process (:mod:`._worker`) reads these back from JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["ENGINES", "IMAGE_TASKS", "Engine", "TaskSet", "engine", "task_sets"]

#: tasks whose graphs run on the full image (pose runs on person crops: not benchmarked)
IMAGE_TASKS = ("det", "inst", "sem", "cls", "depth")


@dataclass(frozen=True)
class Engine:
    """One inference engine at one precision.

    Attributes:
        key: the name used on the command line (``ort-int8``).
        label: engine name for tables.
        precision: weights / compute precision for tables.
        runtime: ``torch``, ``onnxruntime``, ``openvino`` or ``session``.
        graphs: the graph files it runs (``onnx-fp32``, ``onnx-int8``, ``ir-fp32``,
            ``ir-int8``; ``bundle`` for the Session, None for PyTorch).
        hint: OpenVINO ``INFERENCE_PRECISION_HINT`` (None: the device default).
    """

    key: str
    label: str
    precision: str
    runtime: str
    graphs: str | None = None
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        return asdict(self)


ENGINES: tuple[Engine, ...] = (
    Engine("torch", "PyTorch eager", "FP32", "torch"),
    Engine("ort-fp32", "ONNX Runtime", "FP32", "onnxruntime", "onnx-fp32"),
    Engine("ort-int8", "ONNX Runtime", "INT8 (QDQ)", "onnxruntime", "onnx-int8"),
    Engine("ov-f32", "OpenVINO", "FP32 (f32)", "openvino", "ir-fp32", "f32"),
    Engine("ov-bf16", "OpenVINO", "FP32 IR, bf16 compute", "openvino", "ir-fp32", "bf16"),
    Engine("ov-int8", "OpenVINO", "INT8 (NNCF)", "openvino", "ir-int8"),
    Engine("session", "argus-edge Session", "FP32 IR + fused deform", "session", "bundle"),
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


@dataclass(frozen=True)
class TaskSet:
    """Tasks run on one image, and how.

    Attributes:
        tasks: task keys, in run order.
        mode: ``single`` (one task: backbone, then its head), ``shared`` (backbone once,
            then every head) or ``separate`` (one full model per task, each loaded on its
            own: backbone and head per task, nothing shared).
    """

    tasks: tuple[str, ...]
    mode: str

    @property
    def name(self) -> str:
        """Row label: ``det``, ``det+sem+cls (backbone once)``, ``... (3 separate models)``."""
        joined = "+".join(self.tasks)
        if self.mode == "shared":
            return f"{joined} (backbone once)"
        if self.mode == "separate":
            return f"{joined} ({len(self.tasks)} separate models)"
        return joined

    @property
    def backbones(self) -> int:
        """Backbone runs per image."""
        return len(self.tasks) if self.mode == "separate" else 1

    def describe(self, runtime: str) -> str:
        """What one timed iteration runs, in words."""
        heads = ", ".join(self.tasks)
        if runtime == "session":
            call = "Session.run(uint8 image, tasks={})"
            if self.mode == "separate":
                return (f"{len(self.tasks)} Sessions on single-task bundles, "
                        + call.format("[task]") + " each")
            return call.format(list(self.tasks)) + ": preprocessing + graphs + postprocessing"
        if self.mode == "separate":
            return f"{len(self.tasks)} model instances, each backbone → its head ({heads})"
        if self.mode == "shared":
            return f"backbone once → heads {heads}"
        return f"backbone → {heads} head"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        return {"name": self.name, "tasks": list(self.tasks), "mode": self.mode,
                "backbones": self.backbones}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskSet:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(d["tasks"]), d["mode"])


def task_sets(tasks: Sequence[str]) -> list[TaskSet]:
    """Each task alone, then (for two or more) all of them sharing the backbone and all of
    them as separate models."""
    sets = [TaskSet((t,), "single") for t in tasks]
    if len(tasks) > 1:
        sets += [TaskSet(tuple(tasks), "shared"), TaskSet(tuple(tasks), "separate")]
    return sets
