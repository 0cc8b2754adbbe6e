"""Registry of evaluators by task key ("det", "sem", ...), and the dispatch on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._base import MetricAccumulator, Metrics


@dataclass(frozen=True)
class TaskEvaluator:
    """How one task is evaluated.

    Attributes:
        task: the task key (DESIGN.md §3).
        evaluate: ``(predictions, targets, **options) -> Metrics`` in one call.
        accumulator: ``(**options) -> MetricAccumulator`` for streaming validation.
        primary_metric: the ``as_dict`` key that ranks checkpoints ("AP", "mIoU", ...).
        higher_is_better: direction of ``primary_metric``.
    """

    task: str
    evaluate: Callable[..., Metrics]
    accumulator: Callable[..., MetricAccumulator]
    primary_metric: str
    higher_is_better: bool = True


_EVALUATORS: dict[str, TaskEvaluator] = {}


def register_evaluator(evaluator: TaskEvaluator) -> TaskEvaluator:
    """Register ``evaluator`` under its task key.

    Raises:
        ValueError: if the key is already taken.
    """
    if evaluator.task in _EVALUATORS:
        raise ValueError(f"an evaluator for task {evaluator.task!r} is registered twice")
    _EVALUATORS[evaluator.task] = evaluator
    return evaluator


def list_evaluators() -> list[str]:
    """Task keys with a registered evaluator, sorted."""
    return sorted(_EVALUATORS)


def get_evaluator(task: str) -> TaskEvaluator:
    """The evaluator of ``task``.

    Raises:
        KeyError: for an unknown task key.
    """
    try:
        return _EVALUATORS[task]
    except KeyError:
        raise KeyError(f"no evaluator for task {task!r}; available: {', '.join(list_evaluators())}") from None


def evaluate_task(task: str, predictions: Any, targets: Any, **options: Any) -> Metrics:
    """Evaluate one task's predictions in one call.

    ========  ==========================================  =================================
    task      predictions                                 targets
    ========  ==========================================  =================================
    det       COCO box results (list of dicts)            COCO ground truth (dict/path/COCO)
    inst      COCO results with RLE ``segmentation``      COCO ground truth
    pose      COCO keypoint results                       COCO ground truth with keypoints
    sem       label maps (N, H, W) or list of (H, W)      label maps, 255 = ignore
    cls       scores (N, C), logits or probabilities      labels (N,)
    depth     depth maps (N, H, W) or list of (H, W)      depth maps, <= 0 or non-finite = invalid
    ========  ==========================================  =================================

    Args:
        task: a task key from :func:`list_evaluators`.
        predictions: see the table.
        targets: see the table.
        **options: task options, e.g. ``num_classes`` (required for ``sem``), ``verbose``
            (COCO tasks), ``median_scaling`` (depth).

    Returns:
        The task's typed metrics (``as_dict()`` gives the scalars by name).

    Raises:
        KeyError: for an unknown task key.
        ValueError: on malformed inputs.
    """
    return get_evaluator(task).evaluate(predictions, targets, **options)


def create_accumulator(task: str, **options: Any) -> MetricAccumulator:
    """A streaming accumulator for ``task`` (COCO tasks need ``ground_truth=...``).

    Raises:
        KeyError: for an unknown task key.
    """
    return get_evaluator(task).accumulator(**options)
