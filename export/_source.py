"""Where an export starts: a checkpoint file, a trainer checkpoint folder, or a model."""

from __future__ import annotations

import copy
from pathlib import Path

from .._hashing import sha256_files
from ..training.checkpoint import load_checkpoint
from ..training.engine.state import LATEST, latest_checkpoint, load_run_checkpoint
from ..training.models import Argus


def load_source(source: str | Path | Argus) -> tuple[Argus, str | None]:
    """The model in eval mode and the SHA-256 that identifies its weights.

    A trainer checkpoint folder (``step_XXXXXXXX`` or a run's ``checkpoints``) gives its
    EMA weights; its hash covers ``model.safetensors`` then ``ema.safetensors``. An
    in-memory model has no hash (None).

    Raises:
        CheckpointError: the checkpoint cannot be read.
        FileNotFoundError: the path does not exist.
    """
    if isinstance(source, Argus):
        return copy.deepcopy(source).eval(), None
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if path.is_dir():
        model = load_run_checkpoint(path)
        return model.eval(), sha256_files(_run_files(path))
    return load_checkpoint(path).eval(), sha256_files([path])


def _run_files(path: Path) -> list[Path]:
    if (path / LATEST).is_file():
        path = latest_checkpoint(path)
    return [p for p in (path / "model.safetensors", path / "ema.safetensors") if p.is_file()]
