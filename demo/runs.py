"""One session's pass over the demo's images: the results, the latency and the scores."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import Result, Session
from .constants import TIMED_RUNS
from .scoring import score_classification, score_scene
from .truth import ClassificationTruth, SceneTruth

__all__ = ["PrecisionRun", "run_precision"]


@dataclass(frozen=True)
class PrecisionRun:
    """Everything one session (FP32 or INT8) produced.

    Attributes:
        name: ``"fp32"`` or ``"int8"``.
        info: ``Session.info`` (backend, variant, calibration, ...).
        bundle: the bundle path.
        scene: the scene's result (every task).
        photo: the photo's result (every task).
        classes: the classification images' results (``cls``).
        latency_ms: median wall time of one ``run`` of every task on the scene.
        metrics: :func:`score_scene` plus ``"cls"`` (:func:`score_classification`).
    """

    name: str
    info: dict = field(repr=False)
    bundle: Path
    scene: Result = field(repr=False)
    photo: Result = field(repr=False)
    classes: tuple[Result, ...] = field(repr=False)
    latency_ms: float
    metrics: dict


def run_precision(name: str, session: Session, scene: SceneTruth, classes: ClassificationTruth,
                  photo: Any) -> PrecisionRun:
    """Runs every task of ``session`` on the scene (timed), the photo and the class images.

    Args:
        name: the run's name (``"fp32"`` or ``"int8"``).
        session: an open session of the bundle.
        scene: the scored scene.
        classes: the classification images.
        photo: an image without ground truth, as :meth:`~argus_edge.Session.run` takes it.

    Returns:
        The results, the median latency of ``TIMED_RUNS`` runs after a warm-up, and the
        scores.
    """
    result = session.run(scene.image)  # also the warm-up of the timed runs
    times = []
    for _ in range(TIMED_RUNS):
        start = time.perf_counter()
        session.run(scene.image)
        times.append((time.perf_counter() - start) * 1e3)
    cls = tuple(session.run(list(classes.images), tasks=["cls"]))
    metrics = score_scene(result, scene)
    metrics["cls"] = score_classification([r.cls for r in cls], classes)
    return PrecisionRun(name, session.info, Path(session.path), result, session.run(photo),
                        cls, float(np.median(times)), metrics)
