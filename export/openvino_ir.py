"""ONNX → OpenVINO IR, and a parity runner that keeps OpenVINO in f32.

OpenVINO runs f32 models in bf16 by default on CPUs with AVX-512 BF16 (or AMX), which is
far outside a 1e-4 parity tolerance: :func:`compile_ir` always passes an explicit
``INFERENCE_PRECISION_HINT`` (``f32`` by default) and an empty ``CACHE_DIR`` so that no
result depends on caches under ``$HOME``.

Graphs with ``ai.argus`` custom nodes (``MSDeformSample``, or the legacy
``ScaledDeformAttn``) need the OpenVINO extension
library of libargus (``extensions=[...]``); the standard-op graphs need nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from argus_edge._errors import BackendUnavailableError

__all__ = ["compile_ir", "run_ir", "to_openvino"]


def _openvino():
    try:
        import openvino
    except ImportError as e:  # pragma: no cover - openvino is an export dependency
        raise BackendUnavailableError(
            "the openvino package is not installed: pip install 'argus-edge[export]'") from e
    return openvino


def to_openvino(onnx_path: str | Path, xml_path: str | Path, *, compress_to_fp16: bool = False,
                extensions: Sequence[str | Path] = ()) -> tuple[Path, Path]:
    """Convert an ONNX graph to OpenVINO IR (``.xml`` + ``.bin``).

    Args:
        onnx_path: the ONNX graph.
        xml_path: the IR to write; the weights go next to it with the suffix ``.bin``.
        compress_to_fp16: store float weights as FP16 (half the size; OpenVINO
            decompresses them at load). Off by default, unlike ``openvino.save_model``.
        extensions: OpenVINO extension libraries mapping custom ONNX nodes.

    Returns:
        ``(xml, bin)`` paths.

    Raises:
        BackendUnavailableError: openvino is not installed.
    """
    ov = _openvino()
    xml_path = Path(xml_path)
    xml_path.parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {}
    if extensions:
        kwargs["extension"] = [str(e) for e in extensions]
    model = ov.convert_model(str(onnx_path), **kwargs)
    ov.save_model(model, str(xml_path), compress_to_fp16=compress_to_fp16)
    return xml_path, xml_path.with_suffix(".bin")


def compile_ir(xml_path: str | Path, *, device: str = "CPU", precision: str = "f32",
               num_threads: int | None = None, extensions: Sequence[str | Path] = ()):
    """Compile an IR (or ONNX) file with an explicit, cache-free configuration.

    Args:
        xml_path: ``.xml`` IR (or an ``.onnx`` graph).
        device: OpenVINO device name.
        precision: ``INFERENCE_PRECISION_HINT``: ``"f32"`` for parity checks, ``"bf16"``
            or ``"f16"`` for speed.
        num_threads: ``INFERENCE_NUM_THREADS``; None lets OpenVINO choose.
        extensions: OpenVINO extension libraries to add to the core first.

    Returns:
        The ``openvino.CompiledModel``.

    Raises:
        BackendUnavailableError: openvino is not installed.
    """
    ov = _openvino()
    core = ov.Core()
    for ext in extensions:
        core.add_extension(str(ext))
    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": precision, "CACHE_DIR": ""}
    if num_threads is not None:
        config["INFERENCE_NUM_THREADS"] = int(num_threads)
    return core.compile_model(core.read_model(str(xml_path)), device, config)


def run_ir(compiled, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run a compiled model once.

    Args:
        compiled: from :func:`compile_ir`.
        inputs: input name → array.

    Returns:
        Output name → array (copies, safe to keep after the next call).
    """
    request = compiled.create_infer_request()
    result = request.infer({name: np.ascontiguousarray(a) for name, a in inputs.items()})
    return {out.get_any_name(): np.array(result[out]) for out in compiled.outputs}
