"""What the demo writes to the terminal besides the summary: progress and file sizes."""

from __future__ import annotations

import sys
from pathlib import Path


def log(message: str) -> None:
    """Prints a progress line on stderr (stdout carries only the summary)."""
    print(f"argus-edge demo: {message}", file=sys.stderr, flush=True)


def megabytes(path: Path) -> str:
    """The file's size as ``"12.3 MB"``."""
    return f"{path.stat().st_size / 1e6:.1f} MB"
