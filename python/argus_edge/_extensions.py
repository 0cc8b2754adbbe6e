"""Locating the compiled libraries that plug argus-edge's custom ops into other runtimes.

The OpenVINO extension (``libargus_openvino_ext.so``: the ``ai.argus::MSDeformSample``
and legacy ``ai.argus::ScaledDeformAttn`` operations and their ONNX frontend mappings) is built by CMake with
``-DARGUS_WITH_OPENVINO=ON`` against the installed ``openvino`` wheel; a wheel of
argus-edge built with that option carries it next to ``argus_edge._core``. Load it with
``openvino.Core().add_extension(str(openvino_extension_path()))`` before reading a graph
exported with ``deform="custom"``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from ._errors import BackendUnavailableError

__all__ = ["OPENVINO_EXTENSION_ENV", "openvino_extension_name", "openvino_extension_path"]

#: environment variable that names the extension file explicitly (CI, custom builds)
OPENVINO_EXTENSION_ENV = "ARGUS_OPENVINO_EXTENSION"


def openvino_extension_name() -> str:
    """File name of the OpenVINO extension library on this platform."""
    if sys.platform == "win32":
        return "argus_openvino_ext.dll"
    if sys.platform == "darwin":
        return "libargus_openvino_ext.dylib"
    return "libargus_openvino_ext.so"


def openvino_extension_path() -> Path:
    """Path of the OpenVINO extension library for ``ai.argus`` custom ops.

    Looks at ``$ARGUS_OPENVINO_EXTENSION`` first, then next to ``argus_edge._core``.
    The library only loads into the OpenVINO version it was built against (the wheel's
    libraries carry the version in their names).

    Returns:
        The library's absolute path (it exists).

    Raises:
        BackendUnavailableError: ``$ARGUS_OPENVINO_EXTENSION`` names a missing file, or the
            library was not built (build with ``-DARGUS_WITH_OPENVINO=ON``, e.g.
            ``make test-cpp``, or ``pip install . -C cmake.define.ARGUS_WITH_OPENVINO=ON``).
    """
    explicit = os.environ.get(OPENVINO_EXTENSION_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise BackendUnavailableError(
                f"{OPENVINO_EXTENSION_ENV}={explicit!r} does not name an existing file")
        return path.resolve()
    candidates = []
    spec = importlib.util.find_spec("argus_edge._core")
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / openvino_extension_name())
    for path in candidates:
        if path.is_file():
            return path.resolve()
    looked = ", ".join(str(p) for p in candidates) or "(argus_edge._core not found)"
    raise BackendUnavailableError(
        f"the OpenVINO extension {openvino_extension_name()} is not built (looked in "
        f"{looked}); build it with -DARGUS_WITH_OPENVINO=ON (make test-cpp puts it in "
        f"build/cpp) and set {OPENVINO_EXTENSION_ENV} to its path, or install argus-edge "
        "with -C cmake.define.ARGUS_WITH_OPENVINO=ON")
