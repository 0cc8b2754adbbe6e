"""``{"synthetic": ROOT, "split": "train"}`` as a dataset spec: the paths of the
synthetic dataset's files for each task (see ``argus_edge.training.data.synthetic``)."""

from __future__ import annotations

from pathlib import Path

from argus_edge._errors import UnknownTaskError


def expand_synthetic(task: str, spec: dict) -> dict:
    """Return ``spec`` unchanged unless it names a synthetic dataset root."""
    if "synthetic" not in spec:
        return dict(spec)
    root, split = Path(spec["synthetic"]), spec.get("split", "train")
    paths = {
        "cls": {"root": root / "classification" / split},
        "det": {"annotations": root / "annotations" / f"instances_{split}.json",
                "images": root / "images" / split},
        "sem": {"images": root / "images" / split, "labels": root / "semantic" / split,
                "classes": root / "semantic" / "classes.json"},
        "pose": {"annotations": root / "annotations" / f"person_keypoints_{split}.json",
                 "images": root / "images" / split},
        "depth": {"images": root / "images" / split, "depth": root / "depth" / split},
    }
    paths["inst"] = paths["det"]
    if task not in paths:
        raise UnknownTaskError(f"the synthetic dataset has no data for task {task!r}")
    return {k: str(v) for k, v in paths[task].items()}
