"""The demo's fixed choices: the packaged weights, the seeds, the counts and the threshold."""

from __future__ import annotations

__all__ = [
    "CALIBRATION_SEED", "DISPLAY_THRESHOLD", "MIN_OBJECTS", "NUM_CALIBRATION",
    "NUM_CANDIDATES", "SCENE_SEED", "TIMED_RUNS", "WEIGHTS_NAME",
]

WEIGHTS_NAME = "argus_tiny_synthetic.safetensors"
#: seed of the validation scenes (fixed before any result was seen; not the training seed 0)
SCENE_SEED = 1
#: seed of the calibration scenes, a stream of its own
CALIBRATION_SEED = 1000
NUM_CALIBRATION = 32
#: validation scenes generated; the first with a person and >= 3 objects is scored
NUM_CANDIDATES = 8
MIN_OBJECTS = 3
#: boxes, masks and skeletons are drawn and counted at this score (draw()'s default)
DISPLAY_THRESHOLD = 0.3
TIMED_RUNS = 5
