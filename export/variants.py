"""Graph variants: how one exported FP32 ONNX graph becomes each backend's blobs.

A variant is named ``<variant prefix>-<precision>`` after its backend in the registry
(:mod:`argus_edge.backends`: ``onnx-fp32`` is ONNX Runtime's, ``openvino-fp16``
OpenVINO's). Each backend the exporter can write registers one writer here under its
registry name with the precisions it produces; :data:`variant_names` and the bundle
exporter read this table, nothing else lists variants. (INT8 variants come from the
quantizer, :mod:`argus_edge.export.quantization.int8_backends`.)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from argus_edge import backends
from argus_edge._errors import InvalidArgumentError
from argus_edge._extensions import openvino_extension_path

__all__ = ["default_variants", "register_variant_writer", "variant_names", "write_variant"]

#: writer(onnx path, graph name, precision, work folder, graph entry) -> (blobs by role,
#: {blob name: file})
Writer = Callable[[Path, str, str, Path, dict], tuple[dict[str, str], dict[str, Path]]]
_WRITERS: dict[str, tuple[tuple[str, ...], Writer]] = {}
#: registry name -> the precisions a bundle gets when the caller names no variants
_DEFAULTS: dict[str, tuple[str, ...]] = {}


def register_variant_writer(backend: str, precisions: tuple[str, ...],
                            default: tuple[str, ...] = ()) -> Callable[[Writer], Writer]:
    """Registers the writer of ``backend``'s variants (a registry name) at ``precisions``.

    Args:
        backend: a name of :mod:`argus_edge.backends`.
        precisions: the precisions the writer produces.
        default: those of ``precisions`` that :func:`default_variants` includes.
    """
    def wrap(writer: Writer) -> Writer:
        _WRITERS[backend] = (precisions, writer)
        _DEFAULTS[backend] = default
        return writer
    return wrap


def variant_names() -> tuple[str, ...]:
    """Every variant the exporter writes, backends in registry order."""
    return tuple(f"{b.variant_prefix}-{p}" for b in backends.all_backends()
                 if b.name in _WRITERS for p in _WRITERS[b.name][0])


def default_variants() -> tuple[str, ...]:
    """The variants a bundle gets when the caller names none, backends in registry order."""
    return tuple(f"{b.variant_prefix}-{p}" for b in backends.all_backends()
                 for p in _DEFAULTS.get(b.name, ()))


def write_variant(variant: str, entry: dict[str, Any], onnx_path: Path, name: str,
                  work: Path) -> dict[str, Path]:
    """Adds ``variant`` of one graph to its manifest entry; returns the blobs to store.

    Raises:
        InvalidArgumentError: not one of :func:`variant_names`.
    """
    if variant not in variant_names():
        raise InvalidArgumentError(f"unknown backend variant {variant!r}; choose from "
                                   f"{variant_names()}")
    backend, precision = backends.parse_variant(variant)
    roles, files = _WRITERS[backend.name][1](onnx_path, name, precision, work, entry)
    entry["variants"][variant] = {"backend": backend.name, "precision": precision,
                                  "blobs": roles}
    return files


@register_variant_writer("onnxruntime", ("fp32",), default=("fp32",))
def _onnx(onnx_path: Path, name: str, precision: str, work: Path, entry: dict):
    blob = f"{name}.{precision}.onnx"
    return {"model": blob}, {blob: onnx_path}


@register_variant_writer("openvino", ("fp32", "fp16"), default=("fp32",))
def _openvino_ir(onnx_path: Path, name: str, precision: str, work: Path, entry: dict):
    from .openvino_ir import to_openvino

    # ai.argus custom nodes convert (and later load) through libargus's extension.
    extensions = [openvino_extension_path()] if entry.get("custom_ops") else []
    xml, bin_ = to_openvino(onnx_path, work / f"{name}.{precision}.xml",
                            compress_to_fp16=precision == "fp16", extensions=extensions)
    xml, bin_ = Path(xml), Path(bin_)
    return {"xml": xml.name, "bin": bin_.name}, {xml.name: xml, bin_.name: bin_}
