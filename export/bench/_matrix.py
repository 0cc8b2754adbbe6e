"""What the benchmark measures: the engines and the task sets, as plain data.

The engines and the image tasks are :mod:`argus_edge._bench_engines`'s (torch-free, so
that ``argus-edge bench``'s arguments offer them without the export extra). Torch-free:
the worker process (:mod:`._worker`) reads these back from JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from argus_edge._bench_engines import ENGINES, IMAGE_TASKS, Engine, engine

__all__ = ["ENGINES", "IMAGE_TASKS", "Engine", "TaskSet", "engine", "task_sets"]


@dataclass(frozen=True)
class TaskSet:
    """Tasks run on one image, and how.

    Attributes:
        tasks: task keys, in run order.
        mode: ``single`` (one task: backbone, then its head), ``shared`` (backbone once,
            then every head) or ``separate`` (one full model per task, each loaded on its
            own: backbone and head per task, nothing shared).
    """

    tasks: tuple[str, ...]
    mode: str

    @property
    def name(self) -> str:
        """Row label: ``det``, ``det+sem+cls (backbone once)``, ``... (3 separate models)``."""
        joined = "+".join(self.tasks)
        if self.mode == "shared":
            return f"{joined} (backbone once)"
        if self.mode == "separate":
            return f"{joined} ({len(self.tasks)} separate models)"
        return joined

    @property
    def backbones(self) -> int:
        """Backbone runs per image."""
        return len(self.tasks) if self.mode == "separate" else 1

    def describe(self, runtime: str) -> str:
        """What one timed iteration runs, in words."""
        heads = ", ".join(self.tasks)
        if runtime == "session":
            call = "Session.run(uint8 image, tasks={})"
            if self.mode == "separate":
                return (f"{len(self.tasks)} Sessions on single-task bundles, "
                        + call.format("[task]") + " each")
            return call.format(list(self.tasks)) + ": preprocessing + graphs + postprocessing"
        if self.mode == "separate":
            return f"{len(self.tasks)} model instances, each backbone → its head ({heads})"
        if self.mode == "shared":
            return f"backbone once → heads {heads}"
        return f"backbone → {heads} head"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict."""
        return {"name": self.name, "tasks": list(self.tasks), "mode": self.mode,
                "backbones": self.backbones}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TaskSet:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(d["tasks"]), d["mode"])


def task_sets(tasks: Sequence[str]) -> list[TaskSet]:
    """Each task alone, then (for two or more) all of them sharing the backbone and all of
    them as separate models."""
    sets = [TaskSet((t,), "single") for t in tasks]
    if len(tasks) > 1:
        sets += [TaskSet(tuple(tasks), "shared"), TaskSet(tuple(tasks), "separate")]
    return sets
