"""The demo's bundles: the packaged weights exported to FP32 and quantized to INT8, cached.

The cache folder is named after the weights' SHA-256 and the SDK version, so new weights
or a new SDK never reuse stale bundles. Building needs the ``[export]`` extra (torch, onnx,
nncf); it is imported only when a bundle is missing.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .. import ArgusError, CheckpointError, __version__
from ._console import log, megabytes
from .constants import CALIBRATION_SEED, NUM_CALIBRATION, WEIGHTS_NAME

__all__ = ["cache_folder", "ensure_fp32", "ensure_int8", "packaged_weights"]


def packaged_weights() -> Path:
    """The weights file shipped in ``argus_edge/models``.

    Returns:
        Its path.

    Raises:
        CheckpointError: the file is not installed.
    """
    from importlib import resources

    path = Path(str(resources.files("argus_edge") / "models" / WEIGHTS_NAME))
    if not path.is_file():
        raise CheckpointError(f"the packaged weights {path} are missing (a broken install?)")
    return path


def cache_folder(cache: str | os.PathLike | None, weights: Path, sha256: str) -> Path:
    """The folder of the bundles built from ``weights``.

    Args:
        cache: the cache root; None: ``$ARGUS_EDGE_CACHE``, else ``~/.cache/argus-edge``.
        weights: the weights file (its stem names the folder).
        sha256: the weights' SHA-256 (hex).

    Returns:
        ``<cache>/<weights stem>-<sha256[:16]>-v<sdk version>``: new weights or a new SDK
        never reuse stale bundles.
    """
    default = Path.home() / ".cache" / "argus-edge"
    root = Path(cache or os.environ.get("ARGUS_EDGE_CACHE") or default)
    return root.expanduser() / f"{weights.stem}-{sha256[:16]}-v{__version__}"


@contextlib.contextmanager
def _quiet_libraries(*preload: str) -> Iterator[None]:
    """The exporter's and NNCF's warnings and info logs off: the progress lines stay legible
    (errors still show). ``preload``: modules to import first, as NNCF sets its logger's
    level when imported."""
    import logging
    import warnings

    for module in preload:
        importlib.import_module(module)
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript", "nncf")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


def ensure_fp32(weights: Path, folder: Path, rebuild: bool) -> Path:
    """The cached FP32 bundle (ONNX + OpenVINO variants), exported if missing.

    Args:
        weights: the weights file.
        folder: the cache folder (:func:`cache_folder`).
        rebuild: export even if the bundle is cached.

    Returns:
        The bundle's path.

    Raises:
        ModuleNotFoundError: torch or onnx is not installed.
    """
    path = folder / f"{weights.stem}.fp32.engine"
    if path.is_file() and not rebuild:
        return path
    log(f"exporting {weights.name} to an FP32 bundle (once per weights; a minute or more)")
    from ..export import ExportOptions, export_bundle

    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    with _quiet_libraries():
        export_bundle(weights, path, ExportOptions(variants=("onnx-fp32", "openvino-fp32")))
    log(f"  {path} ({megabytes(path)}) in {time.perf_counter() - start:.0f} s")
    return path


def _check_quantizer(backend: str) -> tuple[str, ...]:
    """The Python packages ``backend``'s INT8 quantizer uses (its registry entry), after
    checking that they and the ONNX tooling the quantizer imports are installed."""
    def need(modules):
        for module in modules:
            if importlib.util.find_spec(module) is None:
                raise ModuleNotFoundError(f"INT8 quantization needs {module!r} (the [export] "
                                          "extra); or run the demo with --no-int8", name=module)

    need(("onnx", "onnxruntime"))  # before importing the quantizers, which need them
    from ..export.quantization import int8_backends
    packages = int8_backends.get(backend).packages
    need(packages)
    return packages


def ensure_int8(fp32: Path, folder: Path, backend: str, rebuild: bool) -> Path:
    """The cached INT8 bundle for ``backend``, quantized if missing.

    A failed accuracy gate (quantize exit code 4) still leaves a bundle here (the demo asks
    for it, ``--allow-failed-gate``, to show what INT8 cost): it is returned, the demo runs
    it with ``accept_failed_gate`` and the summary reports the gate (the manifest's
    ``provenance.calibration``).

    Args:
        fp32: the FP32 bundle (:func:`ensure_fp32`).
        folder: the cache folder (:func:`cache_folder`).
        backend: the backend the INT8 bundle is calibrated for.
        rebuild: quantize even if the bundle is cached.

    Returns:
        The bundle's path.

    Raises:
        ModuleNotFoundError: nncf / onnx / onnxruntime are not installed.
        ArgusError: quantization failed (its error is on stderr).
    """
    out = folder / f"int8-{backend}"
    found = sorted(out.glob("*.engine"))
    if found and not rebuild:
        return found[0]
    packages = _check_quantizer(backend)
    shutil.rmtree(out, ignore_errors=True)
    log(f"quantizing to INT8 for {backend} on {NUM_CALIBRATION} generated scenes "
        "(once per weights; several minutes)")
    from ..export import quantize
    from ..training.data import generate_synthetic_dataset

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=folder, prefix="calibration-") as tmp:
        generate_synthetic_dataset(tmp, num_train=NUM_CALIBRATION, num_val=0,
                                   seed=CALIBRATION_SEED, num_cls_train=0, num_cls_val=0)
        argv = ["--bundle", str(fp32), "--calib-dir", str(Path(tmp) / "images" / "train"),
                "--num-calib", str(NUM_CALIBRATION), "--backend", backend,
                "--out", str(out), "--quiet", "--allow-failed-gate"]
        # stdout: the summary; the quantizer's packages imported first (NNCF sets its log level)
        with contextlib.redirect_stdout(sys.stderr), _quiet_libraries(*packages):
            code = quantize.main(argv)
    found = sorted(out.glob("*.engine"))
    if code not in (0, 4) or not found:
        raise ArgusError(f"INT8 quantization failed (export/quantize.py exit code {code}; "
                         "see above); --no-int8 runs FP32 only")
    log(f"  {found[0]} ({megabytes(found[0])}) in {time.perf_counter() - start:.0f} s"
        + ("" if code == 0 else f"; the accuracy gate FAILED, see {out / 'report.md'}"))
    return found[0]
