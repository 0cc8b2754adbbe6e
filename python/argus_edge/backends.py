"""The backend registry: every inference engine argus-edge knows, and what each can do.

The table is libargus's (``csrc/backends/descriptors/``, one file per backend): the
Session's backend choice, the C API, the exporters, the quantizer, the benchmark and the
command line all read it, so a backend's name is written in one place. Python adds what
only Python has: graph runners (:mod:`argus_edge.runners`) for the backends whose graphs
it can run itself, which is how ``argus_edge.Session`` runs ONNX Runtime variants that
libargus has no engine for.

    >>> [b.name for b in argus_edge.backends.all_backends()]
    ['openvino', 'onnxruntime', 'tensorrt']
    >>> argus_edge.backends.get("onnxruntime").variant_prefix
    'onnx'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ._errors import InvalidArgumentError

__all__ = ["Backend", "all_backends", "by_variant_prefix", "get", "names", "variant_name",
           "parse_variant"]


@dataclass(frozen=True)
class Backend:
    """One backend of the registry.

    Attributes:
        name: its name in bundles' variants and in every API (``"openvino"``).
        display_name: for people (``"OpenVINO"``).
        build_option: the CMake option that builds it into libargus.
        variant_prefix: exporters name its variants ``"<prefix>-<precision>"``.
        python_package: the package Python runs its graphs with (``""``: none).
        custom_ops: runs graphs with ``ai.argus`` custom nodes (through the extension).
        precision_hints: takes an inference precision (exact ``f32``, or ``bf16``).
        devices: the devices it runs on (empty: any its engine knows).
        built_in: compiled into this build of libargus.
        unavailable_reason: why libargus cannot create it (``""`` when it can).
    """

    name: str
    display_name: str
    build_option: str
    variant_prefix: str
    python_package: str
    custom_ops: bool
    precision_hints: bool
    devices: tuple[str, ...]
    built_in: bool
    unavailable_reason: str


@functools.lru_cache(maxsize=1)
def _table() -> tuple[Backend, ...]:
    from ._preprocess import _import_core
    return tuple(Backend(**{**entry, "devices": tuple(entry["devices"])})
                 for entry in _import_core().backends())


def all_backends() -> tuple[Backend, ...]:
    """Every backend, in the order ``backend="auto"`` tries them."""
    return _table()


def names() -> tuple[str, ...]:
    """Backend names, in ``auto`` order."""
    return tuple(b.name for b in _table())


def get(name: str) -> Backend:
    """The backend ``name``.

    Raises:
        InvalidArgumentError: no backend has that name.
    """
    return _find("name", name, "backend")


def by_variant_prefix(prefix: str) -> Backend:
    """The backend whose variants are named ``"<prefix>-..."`` (``"onnx"`` → onnxruntime).

    Raises:
        InvalidArgumentError: no backend uses that prefix.
    """
    return _find("variant_prefix", prefix, "variant prefix")


def _find(field: str, value: str, what: str) -> Backend:
    for b in _table():
        if getattr(b, field) == value:
            return b
    known = tuple(getattr(b, field) for b in _table())
    raise InvalidArgumentError(f"unknown {what} {value!r}; expected one of {known}")


def variant_name(backend: str, precision: str) -> str:
    """The conventional name of ``backend``'s variant at ``precision`` (``onnx-fp32``)."""
    return f"{get(backend).variant_prefix}-{precision}"


def parse_variant(variant: str) -> tuple[Backend, str]:
    """``"openvino-fp16"`` → (the openvino backend, ``"fp16"``).

    Raises:
        InvalidArgumentError: not ``<prefix>-<precision>`` of a known backend.
    """
    prefix, sep, precision = variant.partition("-")
    if not sep or not precision:
        raise InvalidArgumentError(f"variant {variant!r} is not <backend prefix>-<precision>")
    return by_variant_prefix(prefix), precision
