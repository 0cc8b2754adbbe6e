"""Run one graph of a bundle on an inference engine from Python.

A :class:`GraphRunner` takes named numpy inputs and returns named numpy outputs. Each
backend of the registry (:mod:`argus_edge.backends`) that Python can run has one opener,
registered here under its name with :func:`register_runner`; the engines are optional
dependencies imported on first use, and a missing one raises
:class:`~argus_edge.BackendUnavailableError` naming the package to install — there is no
silent fallback to another backend. The exporter's validation and the quantizer use these
runners; ``argus_edge.Session`` uses them (:func:`python_providers`) for the backends
libargus has no engine of its own for. Torch-free, like the rest of the runtime package.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import backends
from ._errors import BackendUnavailableError, BundleError, InvalidArgumentError

__all__ = ["GraphRunner", "RunnerOptions", "open_blobs", "open_graph", "python_providers",
           "register_runner", "variant_names"]

#: opener(name, blobs, options) -> (input names, output names, run(feeds) -> outputs)
Opener = Callable[[str, Mapping[str, Any], "RunnerOptions"], tuple[list, list, Callable]]
_OPENERS: dict[str, Opener] = {}


def register_runner(backend: str) -> Callable[[Opener], Opener]:
    """Registers the Python opener of ``backend``'s graphs (a name of the backend registry).

    The opener gets the graph name, the variant's blobs by role (bytes-like) and the
    :class:`RunnerOptions`, and returns ``(inputs, outputs, run)``.
    """
    def wrap(opener: Opener) -> Opener:
        _OPENERS[backend] = opener
        return opener
    return wrap


@dataclass(frozen=True)
class RunnerOptions:
    """Engine settings.

    Attributes:
        threads: intra-op threads (0: the engine's default).
        device: OpenVINO device (``CPU``, ``GPU``, ``NPU``).
        precision_hint: OpenVINO ``INFERENCE_PRECISION_HINT`` (``f32`` for exact parity;
            None: the device default, which is bf16 on CPUs with AVX-512 BF16).
        config: extra OpenVINO compile properties.
        extensions: OpenVINO extension libraries to load (the runtime's
            ``ai.argus`` kernels for graphs exported with custom nodes).
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
    custom = bundle.graphs[graph].get("custom_ops") or []
    backend = backends.get(spec["backend"])
    if custom and not (backend.custom_ops and options.extensions):
        raise BackendUnavailableError(
            f"graph {graph!r} uses custom nodes {custom}: it needs the argus-edge kernel "
            f"extension (RunnerOptions(extensions=...)); {backend.name} cannot run it")
    blobs = {role: bundle.blob(name) for role, name in spec["blobs"].items()}
    return open_blobs(backend.name, graph, variant, blobs, options)


def open_blobs(backend: str, graph: str, variant: str, blobs: Mapping[str, Any],
               options: RunnerOptions | None = None) -> GraphRunner:
    """A runner of one graph variant given its blobs by role (``{"model": bytes}``).

    Raises:
        BackendUnavailableError: Python has no runner for ``backend``, or its package is
            not installed.
    """
    opener = _OPENERS.get(backend)
    if opener is None:
        raise BackendUnavailableError(f"graph {graph!r} variant {variant!r} is for backend "
                                      f"{backend!r}, which the Python runners do not provide")
    inputs, outputs, run = opener(graph, blobs, options or RunnerOptions())
    return GraphRunner(graph, variant, backend, inputs, outputs, run)


def _engine(backend: str):
    package = backends.get(backend).python_package
    try:
        return importlib.import_module(package)
    except ImportError as e:
        raise BackendUnavailableError(
            f"backend {backend!r} needs the {package!r} package "
            f"(pip install {package}): {e}") from e


class _HostBackend:
    """libargus's Backend protocol over the Python runners of one backend."""

    def __init__(self, backend: str, options: Mapping[str, Any]) -> None:
        self.backend = backend
        self._options = RunnerOptions(threads=int(options.get("threads") or 0),
                                      device=str(options.get("device") or "CPU"))
        self._graphs: dict[str, GraphRunner] = {}

    def load_graph(self, graph: str, variant: str, blobs: Mapping[str, Any]) -> None:
        self._graphs[graph] = open_blobs(self.backend, graph, variant, blobs, self._options)

    def run(self, graph: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self._graphs[graph].run(inputs)


def python_providers() -> dict[str, Any]:
    """The backends Python runs for libargus's Session: for each backend of the registry
    that libargus did not build in and Python has a runner for, a factory of its
    :class:`_HostBackend`, or why it cannot (its package is not installed)."""
    out: dict[str, Any] = {}
    for b in backends.all_backends():
        if b.built_in or b.name not in _OPENERS:
            continue
        if importlib.util.find_spec(b.python_package) is None:
            out[b.name] = (f"the {b.python_package} package is not installed "
                           f"(pip install {b.python_package})")
        else:
            out[b.name] = (lambda name: lambda options: _HostBackend(name, options))(b.name)
    return out


@register_runner("onnxruntime")
def _open_onnxruntime(graph: str, blobs: Mapping[str, Any], options: RunnerOptions):
    ort = _engine("onnxruntime")
    so = ort.SessionOptions()
    if options.threads:
        so.intra_op_num_threads = options.threads
    so.log_severity_level = 3
    sess = ort.InferenceSession(bytes(blobs["model"]), so, providers=["CPUExecutionProvider"])
    outputs = [o.name for o in sess.get_outputs()]

    def run(feeds):
        return dict(zip(outputs, sess.run(outputs, feeds)))

    return [i.name for i in sess.get_inputs()], outputs, run


@register_runner("openvino")
def _open_openvino(graph: str, blobs: Mapping[str, Any], options: RunnerOptions):
    ov = _engine("openvino")
    core = ov.Core()
    for ext in options.extensions:
        core.add_extension(ext)
    xml = bytes(blobs["xml"])
    weights = np.frombuffer(blobs["bin"], dtype=np.uint8).copy()
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

    return inputs, outputs, run
