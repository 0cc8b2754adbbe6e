"""The tiny bundle, exported once and then copied for as long as nothing it depends on changes.

Exporting the tiny model takes minutes on a 2-core machine (a dynamo ONNX export and an
OpenVINO conversion per graph), and one CI run needs the same bundle three times: pytest's
``tiny_bundle`` fixture and CTest's ``capi.make_bundle`` in the Release and the sanitizer
builds; pytest's ``tiny_custom_bundle`` is asked for by two test files. Each saves the
tiny checkpoint with :func:`save_tiny_checkpoint` and exports it with
:func:`cached_export`, which exports into a cache folder on a miss and copies from it on a
hit.

A bundle's key covers every input of its bytes: the checkpoint file's SHA-256 (weights
and config), the export options, the Python sources of the exporter as imported (``argus_edge``,
``argus_edge.training``, ``argus_edge.export``), the decoder kinds of the compiled core
(the manifest lists their result arrays) and the versions of Python and of the packages
that write graphs. A changed exporter therefore exports again; the manifest's ``created``
time is the only thing a hit does not renew.

The cache folder is ``$ARGUS_TEST_CACHE``, default ``build/test-cache`` of the
repository (``make clean`` removes it); ``ARGUS_TEST_CACHE=off`` exports every time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import struct
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

_PACKAGES = ("torch", "onnx", "onnxscript", "onnxruntime", "openvino", "numpy")
_SOURCES = ("argus_edge", "argus_edge.training", "argus_edge.export")
_KEEP = 6  # files of each kind kept, the most recently used (a bundle is ~20 MB)


def save_tiny_checkpoint(model, out: Path) -> Path:
    """``save_checkpoint(model, out)``, then the bytes of the cached save of equal content.

    safetensors writes the metadata in a different order in each process, and a bundle's
    provenance is the checkpoint file's SHA-256: equal content must give equal bytes for
    a cached bundle to match its checkpoint.

    Returns:
        ``out``.
    """
    from argus_edge.training.checkpoint import save_checkpoint

    save_checkpoint(model, out)
    folder = _folder()
    if folder is None:
        return out
    with _locked(folder):
        cached = folder / f"tiny-{_content_key(out)}.safetensors"
        if cached.is_file():
            os.utime(cached)
            shutil.copyfile(cached, out)
        else:
            shutil.copyfile(out, cached)
            _prune(folder, "tiny-*.safetensors")
    return out


def cached_export(checkpoint: Path, out: Path, options) -> Path:
    """Writes the bundle ``export_bundle(checkpoint, out, options)`` writes.

    Args:
        checkpoint: an Argus checkpoint (``.safetensors``).
        out: where the bundle goes (a copy of the cached file, never the file itself).
        options: an ``ExportOptions``.

    Returns:
        ``out``.
    """
    from argus_edge.export.bundle_export import export_bundle

    folder = _folder()
    if folder is None:
        return export_bundle(checkpoint, out, options)
    with _locked(folder):  # a second exporter of the same bundle waits for the first
        cached = folder / f"tiny-{_bundle_key(checkpoint, options)}.engine"
        if cached.is_file():
            os.utime(cached)
        else:
            export_bundle(checkpoint, cached.with_suffix(".tmp"), options).replace(cached)
            _prune(folder, "tiny-*.engine")
        shutil.copyfile(cached, out)
    return out


def _folder() -> Path | None:
    root = os.environ.get("ARGUS_TEST_CACHE") or str(
        Path(__file__).resolve().parents[1] / "build" / "test-cache")
    if root.lower() == "off":
        return None
    Path(root).mkdir(parents=True, exist_ok=True)
    return Path(root)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _content_key(checkpoint: Path) -> str:
    """The SHA-256 of a safetensors file with its header's keys sorted."""
    data = checkpoint.read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    h = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    h.update(data[8 + size:])
    return h.hexdigest()[:16]


def _bundle_key(checkpoint: Path, options) -> str:
    from argus_edge._hashing import sha256_files
    from argus_edge._preprocess import _import_core

    h = hashlib.sha256(json.dumps({
        "checkpoint": sha256_files([checkpoint]),
        "options": dataclasses.asdict(options),
        "decoder_kinds": _import_core().decoder_kinds(),
        "python": list(sys.version_info[:2]),
        "packages": {p: _version(p) for p in _PACKAGES},
    }, sort_keys=True, default=list).encode())
    for package in _SOURCES:
        folder = Path(importlib.util.find_spec(package).origin).parent
        for path in sorted(folder.rglob("*.py")):
            h.update(f"{package}/{path.relative_to(folder)}\0".encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "none"


def _prune(folder: Path, pattern: str) -> None:
    """Removes all but the ``_KEEP`` most recently used files (the caller holds the lock)."""
    files = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[_KEEP:]:
        old.unlink(missing_ok=True)
