"""Typed errors raised by argus-edge.

Every error is an :class:`ArgusError` and also inherits the builtin exception that
matches its meaning, so ``except ValueError`` keeps working for callers who do not
know about argus-edge. The C++ core raises the same classes through its status codes
(see ``STATUS_TO_ERROR``).
"""

from __future__ import annotations

__all__ = [
    "ArgusError",
    "InvalidArgumentError",
    "UnknownTaskError",
    "ImageError",
    "ImageNotFoundError",
    "BundleError",
    "BundleNotFoundError",
    "CheckpointError",
    "BackendUnavailableError",
    "GateFailedError",
    "STATUS_TO_ERROR",
]


class ArgusError(Exception):
    """Base class of every error argus-edge raises on purpose."""


class InvalidArgumentError(ArgusError, ValueError):
    """An argument has the wrong value, type, shape or size."""


class UnknownTaskError(InvalidArgumentError, KeyError):
    """A task key that the model or bundle does not provide."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class ImageError(InvalidArgumentError):
    """An image that cannot be used: unreadable file, empty, wrong dtype or layout."""


class BundleError(ArgusError, ValueError):
    """A ``.engine`` bundle that is missing, truncated, corrupt or tampered with."""


class _MissingFile(FileNotFoundError):
    """A path that does not exist: ``errno`` ENOENT, ``filename`` set, and a plain message
    (OSError would otherwise print "[Errno 2] ...: 'filename'"). Listed first in the
    bases of the public classes below so that its ``__init__`` and ``__str__`` apply."""

    def __init__(self, message: str, filename: str | None = None) -> None:
        super().__init__(message)
        self.errno, self.strerror, self.filename = 2, message, filename  # 2: ENOENT

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class BundleNotFoundError(_MissingFile, BundleError):
    """A ``.engine`` bundle path that does not exist (``except FileNotFoundError`` works)."""


class ImageNotFoundError(_MissingFile, ImageError):
    """An image file path that does not exist (``except FileNotFoundError`` works)."""


class CheckpointError(ArgusError, ValueError):
    """A checkpoint or weight file that does not match the model (missing or unknown keys,
    wrong shapes, unreadable metadata)."""


class BackendUnavailableError(ArgusError, RuntimeError):
    """The requested inference backend is not installed or not built into the core."""


class GateFailedError(BundleError):
    """The INT8 variants a Session would run failed their accuracy gate when they were
    quantized (the manifest records it), and the Session was not told to accept that
    (``accept_failed_gate=True``)."""


# Status codes shared with the C++ core (csrc/core/status.h); 0 is success.
STATUS_TO_ERROR: dict[int, type[ArgusError]] = {
    1: InvalidArgumentError,
    2: UnknownTaskError,
    3: ImageError,
    4: BundleError,
    5: BackendUnavailableError,
    6: ArgusError,  # internal error
    7: GateFailedError,
}
