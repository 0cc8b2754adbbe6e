"""``argus-edge demo``'s options and its steps in order: bundles, ground truth, runs, report."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .. import ImageError, ImageNotFoundError, Session
from .._hashing import sha256_files
from ._console import log
from .bundles import cache_folder, ensure_fp32, ensure_int8, packaged_weights
from .constants import SCENE_SEED
from .report import build_report, format_summary, write_outputs
from .runs import run_precision
from .truth import generate_truth

__all__ = ["add_demo_arguments", "main"]


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds the options of ``argus-edge demo`` (no heavy imports).

    Args:
        parser: the sub-command's parser.
    """
    parser.add_argument("--out", default="demo_out",
                        help="folder for the PNGs and results.json (default: demo_out)")
    parser.add_argument("--cache", default=None,
                        help="bundle cache (default: $ARGUS_EDGE_CACHE or ~/.cache/argus-edge); "
                             "one sub-folder per weights SHA-256")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild the cached FP32 and INT8 bundles")
    parser.add_argument("--no-int8", action="store_true",
                        help="skip the INT8 bundle (no quantization, FP32 only)")
    parser.add_argument("--image", default=None,
                        help="a photo to run on instead of scikit-image's astronaut")
    parser.add_argument("--seed", type=int, default=SCENE_SEED,
                        help=f"seed of the generated validation scene (default {SCENE_SEED})")
    parser.add_argument("--backend", default="auto", choices=("auto", "openvino", "onnxruntime"),
                        help="inference backend (default: auto, reported in the summary)")


def _model_info(weights: Path, sha256: str) -> dict:
    from ..training.checkpoint import read_checkpoint_metadata

    meta = read_checkpoint_metadata(weights)
    try:
        metrics = json.loads(meta.get("metrics") or "{}")
    except (TypeError, ValueError):
        metrics = {}
    return {"weights": weights, "sha256": sha256, "step": meta.get("step"),
            "command": meta.get("command"), "metrics": metrics if isinstance(metrics, dict) else {}}


def _read_photo(path: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB with the EXIF orientation applied, as ``Session.run`` reads a
    path; read here so that a bad path fails before the bundles are built."""
    from PIL import Image, ImageOps

    if not os.path.exists(path):
        raise ImageNotFoundError(f"image file {path!r} does not exist", path)
    try:
        with Image.open(path) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except (OSError, ValueError, SyntaxError) as e:  # PIL's UnidentifiedImageError: OSError
        raise ImageError(f"cannot read image {path!r}: {e}") from e


def _photo(path: str | None) -> tuple[np.ndarray, str]:
    if path is not None:
        image = _read_photo(path)
        return image, f"{path} ({image.shape[1]}x{image.shape[0]})"
    from skimage import data

    image = data.astronaut()
    return image, f"scikit-image astronaut ({image.shape[1]}x{image.shape[0]})"


def main(args: argparse.Namespace) -> int:
    """Runs the demo (see the package docstring).

    Args:
        args: the options of :func:`add_demo_arguments`.

    Returns:
        0.

    Raises:
        ArgusError: a failed build, an unreadable ``--image``, a broken bundle.
        ModuleNotFoundError: torch, nncf, pycocotools or scikit-image is missing.
    """
    weights = packaged_weights()
    sha256 = sha256_files([weights])
    folder = cache_folder(args.cache, weights, sha256)
    photo, photo_name = _photo(args.image)
    with contextlib.ExitStack() as stack:
        fp32 = ensure_fp32(weights, folder, args.rebuild)
        sessions = [("fp32", stack.enter_context(Session(fp32, backend=args.backend)))]
        if not args.no_int8:
            backend = sessions[0][1].backend  # INT8 for the backend FP32 runs on
            int8 = ensure_int8(fp32, folder, backend, args.rebuild)
            sessions.append(("int8", stack.enter_context(
                Session(int8, backend=backend, accept_failed_gate=True))))  # summary shows it
        with tempfile.TemporaryDirectory(prefix="argus_demo_") as tmp:
            scene, classes = generate_truth(Path(tmp), args.seed)
        log(f"running every task with {' and '.join(n.upper() for n, _ in sessions)} "
            f"on {sessions[0][1].backend}")
        runs = [run_precision(name, s, scene, classes, photo) for name, s in sessions]
    model = _model_info(weights, sha256)
    files = write_outputs(Path(args.out), scene, runs, build_report(model, scene, runs, photo_name))
    print(format_summary(model, scene, runs, photo_name, files))
    return 0
