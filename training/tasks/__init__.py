"""Task runners: one per task key, binding a dataset format to a head and its evaluator."""

from __future__ import annotations

from argus_edge._errors import InvalidArgumentError, UnknownTaskError

from ..engine.config import TrainConfig
from ._base import TaskRunner
from ._synthetic import expand_synthetic
from .classification import ClassificationRunner
from .depth import DepthRunner
from .detection import DetectionRunner, InstanceRunner
from .pose import PoseRunner
from .segmentation import SegmentationRunner

RUNNERS: dict[str, type[TaskRunner]] = {
    r.task: r for r in (ClassificationRunner, DetectionRunner, InstanceRunner,
                        SegmentationRunner, PoseRunner, DepthRunner)
}
DEFAULT_SIZES = {"pose": (256, 192)}
#: tasks whose training may use crops of the evaluation-scale image (``crop_size``)
CROP_TASKS = frozenset({"det", "inst", "sem", "depth"})

__all__ = ["RUNNERS", "TaskRunner", "build_runners"]


def build_runners(cfg: TrainConfig, rank: int = 0, world: int = 1,
                  mean=None, std=None) -> dict[str, TaskRunner]:
    """One runner per configured task, in the config's order."""
    from ..models import PRESETS
    preset = PRESETS.get(cfg.model)
    mean = mean or (preset.mean if preset else None)
    std = std or (preset.std if preset else None)
    runners = {}
    for task, tcfg in cfg.tasks.items():
        if task not in RUNNERS:
            raise UnknownTaskError(f"no training support for task {task!r}; "
                                   f"known: {sorted(RUNNERS)}")
        spec = expand_synthetic(task, tcfg.dataset)
        val = expand_synthetic(task, tcfg.val_dataset) if tcfg.val_dataset else None
        size = tuple(tcfg.input_size or DEFAULT_SIZES.get(task, cfg.input_size))
        crop = tuple(tcfg.crop_size) if tcfg.crop_size else None
        if crop and task not in CROP_TASKS:
            raise InvalidArgumentError(f"{task}: crop_size applies to {sorted(CROP_TASKS)} only")
        runners[task] = RUNNERS[task].build(spec, val, size, tcfg.batch_size, dict(tcfg.head),
                                            mean, std, cfg.seed, rank, world, crop=crop)
    return runners
