"""File hashing shared by the runtime (the demo's bundle cache) and the exporter (the
weights' identity in a bundle's provenance). Standard library only."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable


def sha256_files(paths: Iterable[str | os.PathLike]) -> str:
    """SHA-256 of the files' bytes, concatenated in order, read in 1 MiB chunks."""
    h = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()
