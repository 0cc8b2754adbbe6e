"""The INT8 registry: one quantizer per backend, registered under the backend's name.

An :class:`Int8Backend` turns one FP32 ONNX graph into its backend's INT8 artifact and a
runner that evaluates it, says which compute layers its graph has no operation for (the
gate cannot restore those), what the report notes about it, and how its artifacts are
stored in an INT8 bundle. The pipeline (:mod:`.pipeline`), ``export/quantize.py
--backend``, the INT8 bundles (:mod:`argus_edge.export.int8_bundle`) and the benchmark
read this table; nothing else lists INT8 backends. Names are the backend registry's
(:mod:`argus_edge.backends`), and so is the order.

Registered here (the bundle variant names are those of existing bundles and docs):

- ``openvino``: NNCF on the OpenVINO model (:mod:`.openvino_ptq`), evaluated on OpenVINO
  CPU; variant ``openvino-int8``.
- ``onnxruntime``: QDQ ONNX, :data:`~.onnxruntime_ptq.U8S8`; variant ``onnxruntime-int8``.
- ``tensorrt``: QDQ ONNX, :data:`~.onnxruntime_ptq.S8S8_SYMMETRIC`, evaluated on ONNX
  Runtime CPU (same Q/DQ arithmetic); variant ``tensorrt-qdq``; quantized only when asked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import onnx

from argus_edge import backends
from argus_edge._errors import InvalidArgumentError

from ._graph import GraphIndex
from ._runners import OrtRunner, OvRunner, Runner
from .calibration import Feeds
from .onnxruntime_ptq import S8S8_SYMMETRIC, U8S8, QdqFlavour, quantize_onnxruntime
from .openvino_ptq import (
    map_to_openvino,
    openvino_extensions,
    quantize_openvino,
    save_ir,
    to_openvino,
)
from .sensitive import SensitivePolicy

__all__ = ["Int8Backend", "Int8Job", "NncfBackend", "QdqBackend", "all_backends",
           "default_names", "get", "names", "qdq_flavours", "register_int8_backend"]


@dataclass(frozen=True)
class Int8Job:
    """One graph to quantize for one backend.

    Attributes:
        graph: the graph's name; the artifact is named after it.
        model: the FP32 graph.
        feeds: the calibration feeds.
        out_dir: the folder the artifact is written to.
        keep_float: node names kept in float on top of the policy's (the gate's restores).
        policy: the default float-kept rules.
        calibration_cache: activation-range cache file shared with the sensitivity
            ranking (QDQ quantizers reuse it), or None.
        precision_hint: inference precision of the evaluation runner on engines that
            take one (``f32``: float parts exact, not bf16).
    """

    graph: str
    model: onnx.ModelProto
    feeds: Feeds
    out_dir: Path
    keep_float: Sequence[str] = ()
    policy: SensitivePolicy = field(default_factory=SensitivePolicy)
    calibration_cache: Path | None = None
    precision_hint: str = "f32"


class Int8Backend(Protocol):
    """One backend's INT8 quantizer.

    Attributes:
        name: the backend registry's name; also the bundle variant's ``backend``.
        variant: the INT8 bundle variant its artifacts are stored as.
        precision: the variant's precision.
        qdq: the QDQ flavour its artifacts are written in (None: not a QDQ graph).
        default: quantized when no backend is asked for.
        packages: the Python packages the quantizer and its evaluation use.
        custom_ops: whether it quantizes graphs with ``ai.argus`` custom nodes (around
            them: the nodes' kernels stay float, their inputs and every standard layer
            are quantized) and its INT8 graphs keep the nodes.
    """

    name: str
    variant: str
    precision: str
    qdq: QdqFlavour | None
    default: bool
    packages: tuple[str, ...]
    custom_ops: bool

    def quantize(self, job: Int8Job) -> tuple[Runner, Path]:
        """Writes the INT8 artifact into ``job.out_dir``; returns (a runner of it, its path)."""

    def unmappable(self, models: Mapping[str, onnx.ModelProto]) -> dict[str, set[str]]:
        """``{graph: compute layers its INT8 graph has no operation of their own for}``."""

    def notes(self, unmappable: Mapping[str, set[str]], precision_hint: str) -> list[str]:
        """What the report says about this backend's evaluation."""

    def variant_entry(self, graph: str, artifact: Path) -> tuple[dict[str, Any], dict[str, Path]]:
        """The bundle variant of one quantized graph and its blobs (``{blob name: file}``)."""


@dataclass(frozen=True)
class QdqBackend:
    """A QDQ ONNX graph (:func:`~.onnxruntime_ptq.quantize_onnxruntime`), evaluated on
    ONNX Runtime CPU.

    Attributes:
        blob_tag: the bundle blob is ``<graph>.<blob_tag>.onnx``.
        note: the report's note on the evaluation ("" for none).
        variant_note: the bundle variant's ``note`` ("" for none).
        (the others: :class:`Int8Backend`)
    """

    name: str
    variant: str
    qdq: QdqFlavour
    blob_tag: str
    note: str = ""
    variant_note: str = ""
    default: bool = True
    precision: str = "int8"
    packages: tuple[str, ...] = ("onnxruntime",)
    custom_ops: bool = False  # ONNX Runtime has no ai.argus kernels; TensorRT, no plugin

    def quantize(self, job: Int8Job) -> tuple[Runner, Path]:
        path = quantize_onnxruntime(job.model, job.out_dir / f"{job.graph}.onnx", job.feeds,
                                    exclude_nodes=job.keep_float, flavour=self.qdq,
                                    policy=job.policy, calibration_cache=job.calibration_cache)
        return OrtRunner(path), path

    def unmappable(self, models: Mapping[str, onnx.ModelProto]) -> dict[str, set[str]]:
        return {g: set() for g in models}  # every ONNX node stays a node of the QDQ graph

    def notes(self, unmappable: Mapping[str, set[str]], precision_hint: str) -> list[str]:
        return [self.note] if self.note else []

    def variant_entry(self, graph: str, artifact: Path) -> tuple[dict[str, Any], dict[str, Path]]:
        blob = f"{graph}.{self.blob_tag}.onnx"
        entry: dict[str, Any] = {"backend": self.name, "precision": self.precision,
                                 "blobs": {"model": blob}}
        if self.variant_note:
            entry["note"] = self.variant_note
        return entry, {blob: artifact}


@dataclass(frozen=True)
class NncfBackend:
    """An OpenVINO IR quantized by NNCF (:func:`~.openvino_ptq.quantize_openvino`),
    evaluated on OpenVINO CPU at the job's precision hint.

    A graph with ``ai.argus`` custom nodes (the deformable attention's sampling core)
    converts and runs through libargus's OpenVINO extension: NNCF collects its statistics
    with the node's kernel running and puts FakeQuantize on the standard layers around the
    nodes, so the INT8 IR keeps the kernel (``docs/quantization.md``).

    Attributes: see :class:`Int8Backend`.
    """

    name: str
    variant: str
    default: bool = True
    precision: str = "int8"
    qdq: QdqFlavour | None = None
    packages: tuple[str, ...] = ("openvino", "nncf")
    custom_ops: bool = True  # NNCF quantizes around nodes libargus's extension provides

    def quantize(self, job: Int8Job) -> tuple[Runner, Path]:
        quantized = quantize_openvino(job.model, job.feeds, ignored=list(job.keep_float),
                                      policy=job.policy)
        path = save_ir(quantized, job.out_dir / f"{job.graph}.xml")
        return OvRunner(quantized, job.precision_hint, openvino_extensions(job.model)), path

    def unmappable(self, models: Mapping[str, onnx.ModelProto]) -> dict[str, set[str]]:
        missing = {}
        for graph, model in models.items():
            layers = [n.name for n in GraphIndex(model).compute_nodes()]
            missing[graph] = set(map_to_openvino(to_openvino(model), layers)[1])
        return missing

    def notes(self, unmappable: Mapping[str, set[str]], precision_hint: str) -> list[str]:
        notes = [f"OpenVINO evaluated with INFERENCE_PRECISION_HINT={precision_hint}."]
        for graph, layers in unmappable.items():
            if layers:
                notes.append(f"{graph}: {len(layers)} ONNX layers have no OpenVINO operation of "
                             f"their own (fused, e.g. into ScaledDotProductAttention); NNCF "
                             f"decides for them: {', '.join(sorted(layers)[:6])}")
        return notes

    def variant_entry(self, graph: str, artifact: Path) -> tuple[dict[str, Any], dict[str, Path]]:
        xml, bin_ = f"{graph}.int8.xml", f"{graph}.int8.bin"
        entry = {"backend": self.name, "precision": self.precision,
                 "blobs": {"xml": xml, "bin": bin_}}
        return entry, {xml: artifact, bin_: artifact.with_suffix(".bin")}


_REGISTRY: dict[str, Int8Backend] = {}


def register_int8_backend(backend: Int8Backend) -> Int8Backend:
    """Adds ``backend``'s quantizer to the registry under its name.

    Raises:
        InvalidArgumentError: the name is not one of :func:`argus_edge.backends.names`,
            or that backend has a quantizer already.
    """
    backends.get(backend.name)
    if backend.name in _REGISTRY:
        raise InvalidArgumentError(f"backend {backend.name!r} has an INT8 quantizer already")
    _REGISTRY[backend.name] = backend
    return backend


def all_backends() -> tuple[Int8Backend, ...]:
    """Every INT8 backend, in the backend registry's order."""
    return tuple(_REGISTRY[n] for n in backends.names() if n in _REGISTRY)


def names() -> tuple[str, ...]:
    """INT8 backend names, in the backend registry's order."""
    return tuple(b.name for b in all_backends())


def default_names() -> tuple[str, ...]:
    """The INT8 backends quantized when none is asked for."""
    return tuple(b.name for b in all_backends() if b.default)


def get(name: str) -> Int8Backend:
    """The INT8 backend ``name``.

    Raises:
        InvalidArgumentError: no INT8 quantizer for that backend.
    """
    if name not in _REGISTRY:
        raise InvalidArgumentError(f"no INT8 quantizer for backend {name!r}; "
                                   f"expected one of {names()}")
    return _REGISTRY[name]


def qdq_flavours() -> dict[str, QdqFlavour]:
    """``{backend: its QDQ flavour}`` of the INT8 backends that write QDQ graphs."""
    return {b.name: b.qdq for b in all_backends() if b.qdq is not None}


register_int8_backend(NncfBackend("openvino", variant="openvino-int8"))
register_int8_backend(QdqBackend("onnxruntime", variant="onnxruntime-int8", qdq=U8S8,
                                 blob_tag="int8"))
register_int8_backend(QdqBackend(
    "tensorrt", variant="tensorrt-qdq", qdq=S8S8_SYMMETRIC, blob_tag="qdq", default=False,
    note="TensorRT is not available here: the explicit-quantization QDQ graph was evaluated "
         "on ONNX Runtime CPU, which runs the same Q/DQ arithmetic.",
    variant_note="explicit-quantization QDQ ONNX: build the plan on the target"))
