"""Run one graph of a bundle on an inference engine (ONNX Runtime or OpenVINO).

A :class:`GraphRunner` takes named numpy inputs and returns named numpy outputs. The
engines are optional dependencies imported on first use; a missing one raises
:class:`~argus_edge.BackendUnavailableError` naming the package to install — there is no
silent fallback to another backend. Torch-free, like the rest of the runtime package.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._errors import BackendUnavailableError, BundleError, InvalidArgumentError

__all__ = ["GraphRunner", "RunnerOptions", "open_graph", "variant_names"]

_PACKAGES = {"onnxruntime": "onnxruntime", "openvino": "openvino"}


@dataclass(frozen=True)
class RunnerOptions:
    """Engine settings.

    Attributes:
        threads: intra-op threads (0: the engine's default).
        device: OpenVINO device (``CPU``, ``GPU``, ``NPU``).
        precision_hint: OpenVINO ``INFERENCE_PRECISION_HINT`` (``f32`` for exact parity;
            None: the device default, which is bf16 on CPUs with AVX-512 BF16).
        config: extra OpenVINO compile properties.
        extensions: OpenVINO extension libraries to load (the runtime's fused
            ``ai.argus::ScaledDeformAttn`` kernel for graphs exported with custom nodes).
    """

    threads: int = 0
    device: str = "CPU"
    precision_hint: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    extensions: tuple[str, ...] = ()


class GraphRunner:
    """One compiled graph. Call :meth:`run` with ``{input name: array}``."""

    def __init__(self, name: str, variant: str, backend: str, inputs: list[str],
                 outputs: list[str], run_fn) -> None:
        self.name, self.variant, self.backend = name, variant, backend
        self.inputs, self.outputs = inputs, outputs
        self._run = run_fn

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs the graph.

        Args:
            feeds: every graph input by name; float32 arrays.

        Returns:
            Every output by name, as numpy arrays.

        Raises:
            InvalidArgumentError: a missing or unexpected input.
        """
        missing = [n for n in self.inputs if n not in feeds]
        extra = [n for n in feeds if n not in self.inputs]
        if missing or extra:
            raise InvalidArgumentError(f"graph {self.name}: inputs {self.inputs}; "
                                       f"missing {missing}, unexpected {extra}")
        feeds = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in feeds.items()}
        return self._run(feeds)

    def __repr__(self) -> str:
        return f"GraphRunner({self.name!r}, {self.variant!r}, backend={self.backend!r})"


def variant_names(bundle, graph: str) -> list[str]:
    """The variants (``onnx-fp32``, ``openvino-int8``, ...) stored for ``graph``."""
    try:
        return list(bundle.graphs[graph]["variants"])
    except KeyError:
        raise BundleError(f"bundle has no graph {graph!r}; it has {sorted(bundle.graphs)}") from None


def open_graph(bundle, graph: str, variant: str,
               options: RunnerOptions | None = None) -> GraphRunner:
    """Compile one variant of one graph of an open :class:`~argus_edge.Bundle`.

    Raises:
        BundleError: no such graph or variant.
        BackendUnavailableError: the variant's engine is not installed.
    """
    options = options or RunnerOptions()
    variants = bundle.graphs.get(graph, {}).get("variants", {})
    if variant not in variants:
        raise BundleError(f"graph {graph!r} has no variant {variant!r}; "
                          f"it has {sorted(variants)}")
    spec = variants[variant]
    backend = spec["backend"]
    custom = bundle.graphs[graph].get("custom_ops") or []
    if custom and not (backend == "openvino" and options.extensions):
        raise BackendUnavailableError(
            f"graph {graph!r} uses custom nodes {custom}: it needs the argus-edge kernel "
            f"extension (OpenVINO: RunnerOptions(extensions=...)); {backend} cannot run it")
    if backend == "onnxruntime":
        return _open_onnxruntime(bundle, graph, variant, spec, options)
    if backend == "openvino":
        return _open_openvino(bundle, graph, variant, spec, options)
    raise BackendUnavailableError(f"graph {graph!r} variant {variant!r} is for backend "
                                  f"{backend!r}, which the Python runners do not provide")


def _engine(backend: str):
    try:
        return importlib.import_module(_PACKAGES[backend])
    except ImportError as e:
        raise BackendUnavailableError(
            f"backend {backend!r} needs the {_PACKAGES[backend]!r} package "
            f"(pip install {_PACKAGES[backend]}): {e}") from e


def _open_onnxruntime(bundle, graph, variant, spec, options) -> GraphRunner:
    ort = _engine("onnxruntime")
    so = ort.SessionOptions()
    if options.threads:
        so.intra_op_num_threads = options.threads
    so.log_severity_level = 3
    data = bytes(bundle.blob(spec["blobs"]["model"]))
    sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in sess.get_outputs()]

    def run(feeds):
        return dict(zip(outputs, sess.run(outputs, feeds)))

    return GraphRunner(graph, variant, "onnxruntime", [i.name for i in sess.get_inputs()],
                       outputs, run)


def _open_openvino(bundle, graph, variant, spec, options) -> GraphRunner:
    ov = _engine("openvino")
    core = ov.Core()
    for ext in options.extensions:
        core.add_extension(ext)
    xml = bytes(bundle.blob(spec["blobs"]["xml"]))
    weights = np.frombuffer(bundle.blob(spec["blobs"]["bin"]), dtype=np.uint8).copy()
    model = core.read_model(model=xml, weights=ov.Tensor(weights))
    config: dict[str, Any] = dict(options.config)
    if options.precision_hint:
        config["INFERENCE_PRECISION_HINT"] = options.precision_hint
    if options.threads:
        config["INFERENCE_NUM_THREADS"] = options.threads
    compiled = core.compile_model(model, options.device, config)
    inputs = [p.get_any_name() for p in compiled.inputs]
    outputs = [p.get_any_name() for p in compiled.outputs]
    request = compiled.create_infer_request()

    def run(feeds):
        res = request.infer(feeds)
        return {name: np.array(res[port]) for name, port in zip(outputs, compiled.outputs)}

    return GraphRunner(graph, variant, "openvino", inputs, outputs, run)
