"""What the demo reports: the printed summary (FP32 vs INT8 vs ground truth), the overlays
as PNG and everything as results.json."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import Result
from .._jsonutil import json_safe
from ._console import megabytes
from .constants import DISPLAY_THRESHOLD, TIMED_RUNS
from .runs import PrecisionRun
from .truth import SceneTruth, truth_result

__all__ = ["build_report", "describe_photo", "format_summary", "write_outputs"]


# ------------------------------------------------------------------------ the files
def build_report(model: dict, scene: SceneTruth, runs: Sequence[PrecisionRun],
                 photo: str) -> dict:
    """The content of results.json.

    Args:
        model: as :func:`format_summary` takes it.
        scene: the scored scene.
        runs: one :class:`PrecisionRun` per session.
        photo: how the photo is named.

    Returns:
        ``{"model", "scene", "photo", "display_threshold", "runs"}``; each run holds its
        bundle, ``Session.info``, latency, metrics and both results (``Result.to_dict``).
    """
    h, w = scene.semantic.shape
    return {
        "model": model,
        "scene": {"seed": scene.seed, "image_id": scene.image_id, "width": w, "height": h,
                  "objects": scene.objects, "persons": scene.persons},
        "photo": photo,
        "display_threshold": DISPLAY_THRESHOLD,
        "runs": {r.name: {"bundle": r.bundle, "session": r.info, "latency_ms": r.latency_ms,
                          "metrics": r.metrics, "scene": r.scene.to_dict(),
                          "photo": r.photo.to_dict()} for r in runs},
    }


def _strip(images: Sequence[Any]):
    from PIL import Image

    arrays = [np.asarray(im) for im in images]
    height = max(a.shape[0] for a in arrays)
    return Image.fromarray(np.concatenate(
        [np.pad(a, ((0, height - a.shape[0]), (0, 0), (0, 0))) for a in arrays], axis=1))


def write_outputs(out: Path, scene: SceneTruth, runs: Sequence[PrecisionRun],
                  report: dict) -> list[Path]:
    """Writes the overlays as PNG and ``report`` as results.json.

    Args:
        out: the folder (created if missing).
        scene: the scored scene (its ground truth is drawn too).
        runs: one :class:`PrecisionRun` per session.
        report: :func:`build_report`'s document.

    Returns:
        The files written.
    """
    out.mkdir(parents=True, exist_ok=True)
    images = {"scene_truth.png": truth_result(scene).draw(score_threshold=0.0)}
    for run in runs:
        images[f"scene_{run.name}.png"] = run.scene.draw(score_threshold=DISPLAY_THRESHOLD)
        images[f"photo_{run.name}.png"] = run.photo.draw(score_threshold=DISPLAY_THRESHOLD)
        images[f"classes_{run.name}.png"] = _strip([r.draw() for r in run.classes])
    for file, image in images.items():
        image.save(out / file)
    (out / "results.json").write_text(json.dumps(json_safe(report), indent=1) + "\n")
    return [out / f for f in images] + [out / "results.json"]


# ---------------------------------------------------------------------- the summary
def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _scene_rows(threshold: float) -> list[tuple[str, str, str, Any]]:
    """(task, label, metric key, ground-truth key or text) of the scene table."""
    at = f">= {threshold:.2f}"
    return [
        ("det", "box AP50", "box_AP50", ""),
        ("det", f"boxes {at}", "shown", "objects"),
        ("inst", "mask AP50", "mask_AP50", ""),
        ("inst", f"masks {at}", "shown", "objects"),
        ("sem", "mIoU (classes present)", "mIoU", ""),
        ("sem", "pixel accuracy", "pixel_accuracy", ""),
        ("depth", "AbsRel (lower is better)", "AbsRel", ""),
        ("depth", "delta < 1.25", "delta1", ""),
        ("pose", "keypoint AP (OKS)", "OKS_AP", ""),
        ("pose", f"persons {at}", "shown", "persons"),
    ]


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _scene_table(runs: Sequence[PrecisionRun], threshold: float) -> list[str]:
    rows = [["task", "metric", *(r.name.upper() for r in runs), "ground truth"]]
    for task, label, key, gt_key in _scene_rows(threshold):
        if not any(task in r.metrics for r in runs):
            continue
        values = [_num(r.metrics.get(task, {}).get(key)) for r in runs]
        truth = runs[0].metrics.get(task, {}).get(gt_key) if gt_key else None
        rows.append([task, label, *values, "" if truth is None else _count(truth, gt_key[:-1])])
    cls = [r.metrics.get("cls") for r in runs]
    if all(cls):
        rows.append(["cls", f"top-1 on {cls[0]['total']} class images",
                     *(f"{c['correct']}/{c['total']}" for c in cls), ""])
    return _table(rows)


def _class_table(runs: Sequence[PrecisionRun]) -> list[str]:
    rows = [["true class", *(r.name.upper() for r in runs)]]
    first = runs[0].metrics["cls"]
    for i, true in enumerate(first["true"]):
        rows.append([true, *(f"{r.metrics['cls']['predicted'][i]} "
                             f"{_num(r.metrics['cls']['probability'][i], 2)}" for r in runs)])
    return _table(rows)


def describe_photo(result: Result, threshold: float = DISPLAY_THRESHOLD) -> str:
    """One line of what was found on an image without ground truth.

    Args:
        result: the image's result (any tasks).
        threshold: the score at which detections and persons are counted.

    Returns:
        ``"det <name> <score>, ...; pose <n> persons; sem <p>% foreground; depth
        <min>-<max> m; cls <name> <p>"`` for the tasks present.
    """
    parts = []
    if "det" in result:
        keep = result.det.scores >= threshold
        found = [f"{n} {s:.2f}" for n, s in zip(np.array(result.det.names)[keep][:4],
                                                result.det.scores[keep][:4])]
        parts.append(f"det {', '.join(found) or f'nothing >= {threshold:.2f}'}")
    if "pose" in result:
        parts.append(f"pose {_count(int((result.pose.scores >= threshold).sum()), 'person')}")
    if "sem" in result:
        parts.append(f"sem {100 * float((result.sem.labels != 0).mean()):.0f}% foreground")
    if "depth" in result and result.depth.depth.size:
        d = result.depth.depth
        parts.append(f"depth {float(d.min()):.1f}-{float(d.max()):.1f} m")
    if "cls" in result:
        parts.append(f"cls {result.cls.top1} {float(result.cls.probabilities[0]):.2f}")
    return "; ".join(parts)


def _recorded(metrics: dict) -> str:
    picks = [("det", "box_AP50", "det box AP50"), ("inst", "mask_AP50", "inst mask AP50"),
             ("sem", "mIoU", "sem mIoU"), ("depth", "AbsRel", "depth AbsRel"),
             ("pose", "AP", "pose AP"), ("cls", "top1", "cls top-1")]
    found = [f"{label} {_num(metrics[t][k])}" for t, k, label in picks
             if isinstance(metrics.get(t), dict) and k in metrics[t]]
    return ", ".join(found)


def _run_line(run: PrecisionRun) -> str:
    info = run.info
    line = (f"{run.name.upper()}: {run.bundle.name} ({megabytes(run.bundle)}), "
            f"{info['backend']} ({info['variant']}, {info['device']}), "
            f"{run.latency_ms:.1f} ms per image")
    calib = info.get("calibration")
    if calib:
        line += (f"; calibrated on {calib.get('images')} images, accuracy gate "
                 f"{'passed' if calib.get('passed_gate') else 'FAILED (numbers as measured)'}"
                 f", min cosine vs FP32 {_num(calib.get('min_cosine'), 4)}")
    return line


def format_summary(model: dict, scene: SceneTruth, runs: Sequence[PrecisionRun],
                   photo_name: str, files: Sequence[Path],
                   threshold: float = DISPLAY_THRESHOLD) -> str:
    """The printed summary: FP32 vs INT8 vs ground truth, the photo, timings, files.

    Args:
        model: ``{"weights", "sha256", "step", "metrics"}`` (metrics: those recorded in the
            weights' metadata, may be empty).
        scene: the scored scene.
        runs: one :class:`PrecisionRun` per session, FP32 first.
        photo_name: how to name the photo.
        files: the files written.
        threshold: the display score threshold.

    Returns:
        The summary text (no trailing newline).
    """
    h, w = scene.semantic.shape
    lines = [f"argus-edge demo: {Path(model['weights']).name} (sha256 {model['sha256'][:12]}"
             + (f", step {model['step']}" if model.get("step") else "") + ")"]
    if model.get("metrics"):
        lines.append("  recorded on its validation set at training: "
                     + _recorded(model["metrics"]))
    lines += [f"  {_run_line(r)}" for r in runs]
    lines += [f"  (per image: every task on the scene, median of {TIMED_RUNS} runs after a "
              "warm-up)", "",
              f"synthetic validation scene: seed {scene.seed}, image {scene.image_id} "
              f"({w}x{h}, {_count(scene.objects, 'object')}, {_count(scene.persons, 'person')})",
              "  AP uses every prediction; boxes are counted and drawn at score >= "
              f"{threshold:.2f}"]
    lines += _scene_table(runs, threshold)
    if all("cls" in r.metrics for r in runs):
        lines += ["", "classification images (predicted top-1, probability):"]
        lines += _class_table(runs)
    lines += ["", f"photo: {photo_name}; no ground truth (the model has only seen "
                  "synthetic shapes and stick figures)"]
    lines += [f"  {r.name.upper()}: {describe_photo(r.photo, threshold)}" for r in runs]
    folder = Path(files[0]).parent if files else Path(".")
    lines += ["", f"wrote {folder}/: " + " ".join(Path(f).name for f in files)]
    return "\n".join(lines)
