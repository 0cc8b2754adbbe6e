"""Running graphs on ONNX Runtime / OpenVINO, one graph or a named set of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import onnx

from argus_edge._errors import BackendUnavailableError

from ._graph import load_model


class Runner(Protocol):
    """Runs one graph: feed in, ``{output name: array}`` out."""

    input_names: list[str]
    output_names: list[str]

    def run(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]: ...


class OrtRunner:
    """One graph on ONNX Runtime's CPU execution provider.

    Args:
        model: ONNX file or ``ModelProto`` (QDQ graphs run as INT8 kernels).
    """

    def __init__(self, model: str | Path | onnx.ModelProto) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        # no busy-waiting threads: quantization shares the CPU with other work
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
        self._session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self._session.get_inputs()]
        self.output_names = [o.name for o in self._session.get_outputs()]

    def run(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs the graph on the inputs it takes (extra feed entries are ignored)."""
        outs = self._session.run(None, {k: feed[k] for k in self.input_names})
        return dict(zip(self.output_names, outs))


class OvRunner:
    """One graph on OpenVINO's CPU plugin.

    Args:
        model: an ``openvino.Model`` or an IR / ONNX path.
        precision: ``INFERENCE_PRECISION_HINT``; ``f32`` by default because OpenVINO
            would otherwise run the float parts in bf16 on CPUs that have it, which
            would be counted as quantization error.
        extensions: OpenVINO extension libraries the graph's custom nodes need (libargus's
            for ``ai.argus`` nodes).
    """

    def __init__(self, model: Any, precision: str = "f32", extensions: Sequence[str] = ()) -> None:
        try:
            import openvino as ov
        except ImportError as exc:  # pragma: no cover - openvino is an export dependency
            raise BackendUnavailableError(f"openvino is not installed: {exc}") from exc
        core = ov.Core()
        for extension in extensions:
            core.add_extension(str(extension))
        source = core.read_model(str(model)) if isinstance(model, (str, Path)) else model
        self._compiled = core.compile_model(source, "CPU", {"INFERENCE_PRECISION_HINT": precision})
        self.input_names = [p.get_any_name() for p in self._compiled.inputs]
        self.output_names = [p.get_any_name() for p in self._compiled.outputs]

    def run(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs the graph on the inputs it takes (extra feed entries are ignored)."""
        result = self._compiled({k: feed[k] for k in self.input_names})
        return {name: np.asarray(result[i]) for i, name in enumerate(self.output_names)}


def fp32_runner(model: str | Path | onnx.ModelProto) -> Runner:
    """The FP32 reference runner of an ONNX graph: ONNX Runtime for a standard-op graph;
    OpenVINO in f32 with libargus's extension for a graph with custom nodes (ONNX Runtime
    has no kernel for the ``ai.argus`` nodes; the extension runs libargus's).
    """
    from .openvino_ptq import openvino_extensions, to_openvino

    proto = model if isinstance(model, onnx.ModelProto) else load_model(model)
    extensions = openvino_extensions(proto)
    if not extensions:
        return OrtRunner(model)
    return OvRunner(to_openvino(proto), "f32", extensions)


@dataclass
class GraphSetRunner:
    """The graphs of one model on one backend: what a task evaluator gets.

    Attributes:
        backend: ``fp32`` (the ONNX Runtime FP32 reference), ``openvino``,
            ``onnxruntime`` or ``tensorrt`` (QDQ graph simulated on ONNX Runtime CPU).
        precision: ``fp32`` or ``int8``.
        runners: ``{graph name: runner}``.
    """

    backend: str
    precision: str
    runners: dict[str, Runner] = field(default_factory=dict)

    @property
    def graphs(self) -> list[str]:
        """Names of the graphs this runner can run."""
        return list(self.runners)

    def run(self, graph: str, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs ``graph`` on ``feed``; returns ``{output name: array}``."""
        return self.runners[graph].run(feed)


def error_stats(reference: list[np.ndarray], candidate: list[np.ndarray]) -> dict[str, float]:
    """Cosine similarity, max and mean absolute error of two lists of same-shape arrays.

    The arrays are concatenated (float64) before the cosine, so the result is the
    cosine over the whole validation set. Two all-zero tensors have cosine 1.
    """
    ref = np.concatenate([np.asarray(a, np.float64).ravel() for a in reference])
    cand = np.concatenate([np.asarray(a, np.float64).ravel() for a in candidate])
    diff = np.abs(ref - cand)
    norms = float(np.linalg.norm(ref) * np.linalg.norm(cand))
    if norms == 0.0:
        cosine = 1.0 if not diff.any() else 0.0
    else:
        cosine = float(np.dot(ref, cand) / norms)
    return {"cosine": cosine, "max_abs": float(diff.max(initial=0.0)),
            "mean_abs": float(diff.mean()) if diff.size else 0.0}


def collect_outputs(runner: Runner, feeds) -> dict[str, list[np.ndarray]]:
    """Runs every feed; returns ``{output name: [array per feed]}``."""
    collected: dict[str, list[np.ndarray]] = {name: [] for name in runner.output_names}
    for feed in feeds:
        for name, value in runner.run(feed).items():
            collected[name].append(value)
    return collected
