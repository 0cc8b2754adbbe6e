"""Helpers shared by tests that edit bundles or call the C API through ctypes."""

from __future__ import annotations

import ctypes
import json
import os
from pathlib import Path

from argus_edge import read_bundle, write_bundle


def rewrite_bundle(src: Path, out: Path, edit, version: tuple[int, int] | None = None) -> Path:
    """A copy of bundle ``src`` whose manifest ``edit(manifest)`` changed."""
    with read_bundle(src) as b:
        manifest = json.loads(json.dumps(b.manifest))
        blobs = {n: bytes(b.blob(n)) for n in b.blob_names()}
    edit(manifest)
    version = version or tuple(manifest["format_version"])
    manifest["format_version"] = list(version)
    return write_bundle(out, manifest, blobs, version=version)


class Params(ctypes.Structure):
    """``argus_session_params_t`` (include/argus/argus.h), every field."""

    _fields_ = [("backend", ctypes.c_char_p), ("variant", ctypes.c_char_p),
                ("device", ctypes.c_char_p), ("num_threads", ctypes.c_int32),
                ("num_streams", ctypes.c_int32), ("precision_hint", ctypes.c_char_p),
                ("score_threshold", ctypes.c_float), ("precision", ctypes.c_char_p),
                ("accept_failed_gate", ctypes.c_int32)]


def libargus_c() -> ctypes.CDLL | None:
    """libargus_c.so of ``make test-cpp`` (build/cpp) or ``$ARGUS_LIBARGUS_C``; None if
    neither is built."""
    explicit = os.environ.get("ARGUS_LIBARGUS_C")
    root = Path(__file__).resolve().parents[1]
    for p in ([Path(explicit)] if explicit else []) + [root / "build" / "cpp" / "libargus_c.so"]:
        if p.is_file():
            lib = ctypes.CDLL(str(p))
            lib.argus_session_default_params.restype = Params
            lib.argus_last_error.restype = ctypes.c_char_p
            return lib
    return None


#: skip message of the tests that need :func:`libargus_c`
NO_LIBARGUS_C = ("build libargus_c first (make test-cpp builds build/cpp/libargus_c.so; "
                 "or set ARGUS_LIBARGUS_C)")
