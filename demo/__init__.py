"""``argus-edge demo``: the packaged synthetic model end to end, scored against ground truth.

1. Build, once, the FP32 bundle (ONNX + OpenVINO) of the packaged
   ``models/argus_tiny_synthetic.safetensors`` and its INT8 bundle (calibrated on
   generated scenes), cached under ``$ARGUS_EDGE_CACHE`` (default ``~/.cache/argus-edge``)
   in a folder named after the weights' SHA-256, so new weights rebuild
   (:mod:`.bundles`).
2. Generate a validation scene of the synthetic dataset with its ground truth, one
   classification image per class (:mod:`.truth`), and take a scikit-image photo.
3. Run every task with the FP32 and the INT8 session (:mod:`.runs`), score them
   (:mod:`.scoring`), write the overlays as PNG and the numbers as JSON, and print FP32 vs
   INT8 vs ground truth (:mod:`.report`).

The scene is the first of ``NUM_CANDIDATES`` generated validation scenes (a fixed seed)
whose ground truth holds a person and at least three objects, so that every task has
something to be scored on; the choice never looks at predictions. Building needs the
``[export]`` extra (torch, onnx, nncf), scoring the ``[train]`` extra (pycocotools,
scikit-image); both are imported only when used, so :func:`add_demo_arguments` is cheap.
docs/demo.md describes the outputs and the timings.
"""

from .bundles import cache_folder, ensure_fp32, ensure_int8, packaged_weights
from .command import add_demo_arguments, main
from .constants import (
    CALIBRATION_SEED,
    DISPLAY_THRESHOLD,
    MIN_OBJECTS,
    NUM_CALIBRATION,
    NUM_CANDIDATES,
    SCENE_SEED,
    TIMED_RUNS,
    WEIGHTS_NAME,
)
from .report import build_report, describe_photo, format_summary, write_outputs
from .runs import PrecisionRun, run_precision
from .scoring import score_classification, score_scene
from .truth import ClassificationTruth, SceneTruth, generate_truth, truth_result

__all__ = [
    "CALIBRATION_SEED",
    "DISPLAY_THRESHOLD",
    "MIN_OBJECTS",
    "NUM_CALIBRATION",
    "NUM_CANDIDATES",
    "SCENE_SEED",
    "TIMED_RUNS",
    "WEIGHTS_NAME",
    "ClassificationTruth",
    "PrecisionRun",
    "SceneTruth",
    "add_demo_arguments",
    "build_report",
    "cache_folder",
    "describe_photo",
    "ensure_fp32",
    "ensure_int8",
    "format_summary",
    "generate_truth",
    "main",
    "packaged_weights",
    "run_precision",
    "score_classification",
    "score_scene",
    "truth_result",
    "write_outputs",
]
