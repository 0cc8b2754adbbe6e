"""``argus-edge demo``: the packaged synthetic model end to end, scored against ground truth.

1. Build, once, the FP32 bundle (ONNX + OpenVINO) of the packaged
   ``models/argus_tiny_synthetic.safetensors`` and its INT8 bundle (calibrated on
   generated scenes), cached under ``$ARGUS_EDGE_CACHE`` (default ``~/.cache/argus-edge``)
   in a folder named after the weights' SHA-256, so new weights rebuild.
2. Generate a validation scene of the synthetic dataset with its ground truth, one
   classification image per class, and take a scikit-image photo.
3. Run every task with the FP32 and the INT8 session, write the overlays as PNG and the
   numbers as JSON, and print FP32 vs INT8 vs ground truth.

The scene is the first of ``NUM_CANDIDATES`` generated validation scenes (a fixed seed)
whose ground truth holds a person and at least three objects, so that every task has
something to be scored on; the choice never looks at predictions. Building needs the
``[export]`` extra (torch, onnx, nncf), scoring the ``[train]`` extra (pycocotools,
scikit-image). docs/demo.md describes the outputs and the timings.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ArgusError, CheckpointError, InvalidArgumentError
from ._hashing import sha256_files
from ._jsonutil import json_safe
from ._version import __version__
from .results import Classification, DepthMap, Detections, Keypoints, Result, SegMap

__all__ = [
    "ClassificationTruth", "PrecisionRun", "SceneTruth", "add_demo_arguments",
    "format_summary", "main", "score_classification", "score_scene", "truth_result",
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


def _log(message: str) -> None:
    print(f"argus-edge demo: {message}", file=sys.stderr, flush=True)


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


# ------------------------------------------------------------------------- bundles
def packaged_weights() -> Path:
    """The weights file shipped in ``argus_edge/models``.

    Raises:
        CheckpointError: the file is not installed.
    """
    from importlib import resources

    path = Path(str(resources.files("argus_edge") / "models" / WEIGHTS_NAME))
    if not path.is_file():
        raise CheckpointError(f"the packaged weights {path} are missing (a broken install?)")
    return path


def cache_folder(cache: str | os.PathLike | None, weights: Path, sha256: str) -> Path:
    """``<cache>/<weights stem>-<sha256[:16]>-v<sdk version>``: new weights or a new SDK
    never reuse stale bundles."""
    default = Path.home() / ".cache" / "argus-edge"
    root = Path(cache or os.environ.get("ARGUS_EDGE_CACHE") or default)
    return root.expanduser() / f"{weights.stem}-{sha256[:16]}-v{__version__}"


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


@contextlib.contextmanager
def _quiet_libraries(*preload: str):
    """The exporter's and NNCF's warnings and info logs off: the progress lines stay legible
    (errors still show). ``preload``: modules to import first, as NNCF sets its logger's
    level when imported."""
    import logging
    import warnings

    for module in preload:
        importlib.import_module(module)
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "onnxscript", "nncf")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


def ensure_fp32(weights: Path, folder: Path, rebuild: bool) -> Path:
    """The cached FP32 bundle (ONNX + OpenVINO variants), exported if missing."""
    path = folder / f"{weights.stem}.fp32.engine"
    if path.is_file() and not rebuild:
        return path
    _log(f"exporting {weights.name} to an FP32 bundle (once per weights; a minute or more)")
    from .export.bundle_export import ExportOptions, export_bundle

    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    with _quiet_libraries():
        export_bundle(weights, path, ExportOptions(variants=("onnx-fp32", "openvino-fp32")))
    _log(f"  {path} ({_mb(path)}) in {time.perf_counter() - start:.0f} s")
    return path


def ensure_int8(fp32: Path, folder: Path, backend: str, rebuild: bool) -> Path:
    """The cached INT8 bundle for ``backend``, quantized if missing.

    A failed accuracy gate (quantize exit code 4) still leaves a bundle: it is returned
    and the summary reports the gate (the manifest's ``provenance.calibration``).

    Raises:
        ModuleNotFoundError: nncf / onnx / onnxruntime are not installed.
        ArgusError: quantization failed (its error is on stderr).
    """
    out = folder / f"int8-{backend}"
    found = sorted(out.glob("*.engine"))
    if found and not rebuild:
        return found[0]
    for module in ("onnx", "onnxruntime") + (("nncf",) if backend == "openvino" else ()):
        if importlib.util.find_spec(module) is None:
            raise ModuleNotFoundError(f"INT8 quantization needs {module!r} (the [export] "
                                      "extra); or run the demo with --no-int8", name=module)
    shutil.rmtree(out, ignore_errors=True)
    _log(f"quantizing to INT8 for {backend} on {NUM_CALIBRATION} generated scenes "
         "(once per weights; several minutes)")
    from .export import quantize
    from .training.data import generate_synthetic_dataset

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=folder, prefix="calibration-") as tmp:
        generate_synthetic_dataset(tmp, num_train=NUM_CALIBRATION, num_val=0,
                                   seed=CALIBRATION_SEED, num_cls_train=0, num_cls_val=0)
        argv = ["--bundle", str(fp32), "--calib-dir", str(Path(tmp) / "images" / "train"),
                "--num-calib", str(NUM_CALIBRATION), "--backend", backend,
                "--out", str(out), "--quiet"]
        nncf = ("nncf",) if backend == "openvino" else ()
        with contextlib.redirect_stdout(sys.stderr), _quiet_libraries(*nncf):  # stdout: summary
            code = quantize.main(argv)
    found = sorted(out.glob("*.engine"))
    if code not in (0, 4) or not found:
        raise ArgusError(f"INT8 quantization failed (export/quantize.py exit code {code}; "
                         "see above); --no-int8 runs FP32 only")
    _log(f"  {found[0]} ({_mb(found[0])}) in {time.perf_counter() - start:.0f} s"
         + ("" if code == 0 else f"; the accuracy gate FAILED, see {out / 'report.md'}"))
    return found[0]


# ---------------------------------------------------------------------- ground truth
@dataclass(frozen=True)
class SceneTruth:
    """A generated validation scene and its ground truth.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        instances: the COCO instances document of this image (boxes, masks, crowd).
        keypoints: the COCO person-keypoints document of this image.
        semantic: (H, W) uint8: 0 background, category id, 255 ignore.
        depth: (H, W) float32 metres.
        seed: the dataset seed.
        image_id: the scene's id in the validation split.
    """

    image: np.ndarray = field(repr=False)
    instances: dict = field(repr=False)
    keypoints: dict = field(repr=False)
    semantic: np.ndarray = field(repr=False)
    depth: np.ndarray = field(repr=False)
    seed: int = 0
    image_id: int = 1

    @property
    def objects(self) -> int:
        """Annotated objects (crowd regions excluded)."""
        return sum(1 for a in self.instances["annotations"] if not a["iscrowd"])

    @property
    def persons(self) -> int:
        """Persons with at least one labelled keypoint."""
        return sum(1 for a in self.keypoints["annotations"]
                   if not a["iscrowd"] and a.get("num_keypoints", 0) > 0)


@dataclass(frozen=True)
class ClassificationTruth:
    """Generated classification images, one per class.

    Attributes:
        images: (H, W, 3) uint8 RGB images.
        names: the true class of each.
    """

    images: tuple[np.ndarray, ...] = field(repr=False)
    names: tuple[str, ...]


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im)


def _one_image(document: dict, image_id: int) -> dict:
    return {**document, "images": [i for i in document["images"] if i["id"] == image_id],
            "annotations": [a for a in document["annotations"] if a["image_id"] == image_id]}


def _pick_scene(instances: dict) -> int:
    """The first scene with a (non-crowd) person and >= MIN_OBJECTS objects, else the first."""
    person = {c["id"] for c in instances["categories"] if c["name"] == "person"}
    for image in instances["images"]:
        anns = [a for a in instances["annotations"]
                if a["image_id"] == image["id"] and not a["iscrowd"]]
        if len(anns) >= MIN_OBJECTS and any(a["category_id"] in person for a in anns):
            return int(image["id"])
    return int(instances["images"][0]["id"])


def generate_truth(root: Path, seed: int) -> tuple[SceneTruth, ClassificationTruth]:
    """Generates the validation scenes and class images under ``root`` and reads back the
    scene that is scored (see the module docstring) and the classification images."""
    from .training.data import SYNTHETIC_CLASSES, generate_synthetic_dataset

    generate_synthetic_dataset(root, num_train=0, num_val=NUM_CANDIDATES, seed=seed,
                               num_cls_train=0, num_cls_val=len(SYNTHETIC_CLASSES))
    docs = [json.loads((root / "annotations" / f"{kind}_val.json").read_text())
            for kind in ("instances", "person_keypoints")]
    image_id = _pick_scene(docs[0])
    name = f"{image_id:06d}.png"
    scene = SceneTruth(
        image=_read_png(root / "images" / "val" / name),
        instances=_one_image(docs[0], image_id), keypoints=_one_image(docs[1], image_id),
        semantic=_read_png(root / "semantic" / "val" / name),
        depth=_read_png(root / "depth" / "val" / name).astype(np.float32) / 1000.0,
        seed=seed, image_id=image_id)
    files = sorted((root / "classification" / "val").glob("*/*.png"), key=lambda p: p.name)
    classes = ClassificationTruth(tuple(_read_png(p) for p in files),
                                  tuple(p.parent.name for p in files))
    return scene, classes


def _category_names(truth: SceneTruth) -> dict[int, str]:
    return {int(c["id"]): c["name"] for c in truth.instances["categories"]}


def truth_result(truth: SceneTruth) -> Result:
    """The ground truth as a :class:`Result` (scores 1), to draw it like a prediction.

    Detection labels index the categories in id order; semantic labels are the dataset's
    (0 background, category id), ignore pixels shown as background.
    """
    from .training.evaluation._coco_io import load_ground_truth

    names = _category_names(truth)
    ids = sorted(names)
    coco = load_ground_truth(truth.instances)
    anns = [a for a in truth.instances["annotations"] if not a["iscrowd"]]
    h, w = truth.semantic.shape
    xywh = np.array([a["bbox"] for a in anns], np.float32).reshape(-1, 4)
    det = Detections(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1),
                     np.ones(len(anns)), [ids.index(a["category_id"]) for a in anns],
                     tuple(names[i] for i in ids),
                     np.array([coco.annToMask(a) for a in anns], bool).reshape(-1, h, w))
    persons = [a for a in truth.keypoints["annotations"] if not a["iscrowd"]]
    category = (truth.keypoints["categories"] or [{}])[0]
    kp = np.array([a["keypoints"] for a in persons], np.float32).reshape(
        len(persons), len(category.get("keypoints", ())) or 17, 3)
    kp[..., 2] = kp[..., 2] > 0
    pxywh = np.array([a["bbox"] for a in persons], np.float32).reshape(-1, 4)
    pose = Keypoints(kp, np.concatenate([pxywh[:, :2], pxywh[:, :2] + pxywh[:, 2:]], 1),
                     np.ones(len(persons)), tuple(category.get("keypoints", ())),
                     tuple((a - 1, b - 1) for a, b in category.get("skeleton", ())))
    sem_names = ("background",) + tuple(names.get(i, str(i)) for i in range(1, max(ids) + 1))
    sem = SegMap(np.where(truth.semantic == 255, 0, truth.semantic), sem_names)
    return Result(truth.image, {"det": det, "inst": det, "sem": sem,
                                "depth": DepthMap(truth.depth), "pose": pose})


# ---------------------------------------------------------------------------- scores
def _dataset_ids(class_names: Sequence[str], truth: SceneTruth) -> list[int]:
    """The dataset's category id (semantic label; 0 for "background") of each class name."""
    by_name = {name: cid for cid, name in _category_names(truth).items()}
    by_name.setdefault("background", 0)
    missing = [n for n in class_names if n not in by_name]
    if missing:
        raise InvalidArgumentError(f"the model's classes {missing} are not in the synthetic "
                                   f"dataset's {sorted(by_name)}")
    return [by_name[n] for n in class_names]


def _score_boxes(det: Detections, truth: SceneTruth, threshold: float, masks: bool) -> dict:
    from .training.evaluation import detections_to_coco, evaluate_boxes, evaluate_masks

    cats = _dataset_ids(det.class_names, truth)
    preds = detections_to_coco(truth.image_id, det.boxes, det.scores, det.labels, cats,
                               masks=det.masks if masks else None)
    metrics = (evaluate_masks if masks else evaluate_boxes)(preds, truth.instances)
    kind = "mask" if masks else "box"
    return {f"{kind}_AP50": metrics.ap50, f"{kind}_AP": metrics.ap,
            "shown": int((det.scores >= threshold).sum()), "objects": truth.objects}


def _score_sem(seg: SegMap, truth: SceneTruth) -> dict:
    from .training.evaluation import evaluate_segmentation

    # model class index -> dataset label, matched by name
    lut = np.array(_dataset_ids(seg.class_names, truth) if seg.class_names
                   else range(int(seg.labels.max(initial=0)) + 1))
    num_classes = max(int(lut.max()), max(_category_names(truth))) + 1
    metrics = evaluate_segmentation(lut[seg.labels], truth.semantic, num_classes)
    return {"mIoU": metrics.miou, "pixel_accuracy": metrics.pixel_accuracy}


def _score_pose(pose: Keypoints, truth: SceneTruth, threshold: float) -> dict:
    from .training.evaluation import evaluate_keypoints, keypoints_to_coco

    person = truth.keypoints["categories"][0]["id"]
    preds = keypoints_to_coco(truth.image_id, pose.keypoints, pose.scores, person)
    metrics = evaluate_keypoints(preds, truth.keypoints)
    return {"OKS_AP": metrics.ap, "OKS_AP50": metrics.ap50,
            "shown": int((pose.scores >= threshold).sum()), "persons": truth.persons}


def score_scene(result: Result, truth: SceneTruth,
                threshold: float = DISPLAY_THRESHOLD) -> dict[str, dict[str, float]]:
    """Every task of ``result`` scored against the scene's ground truth.

    Args:
        result: what a Session returned for ``truth.image``.
        truth: the scene.
        threshold: the display score threshold at which boxes and persons are counted
            (AP uses every prediction).

    Returns:
        ``{"det": {box_AP50, box_AP, shown, objects}, "inst": {mask_AP50, mask_AP, shown,
        objects}, "sem": {mIoU, pixel_accuracy}, "depth": {AbsRel, RMSE, delta1},
        "pose": {OKS_AP, OKS_AP50, shown, persons}}`` for the tasks present.

    Raises:
        InvalidArgumentError: the model's classes are not the synthetic dataset's.
    """
    from .training.evaluation import evaluate_depth

    out: dict[str, dict[str, float]] = {}
    if "det" in result:
        out["det"] = _score_boxes(result.det, truth, threshold, masks=False)
    if "inst" in result:
        out["inst"] = _score_boxes(result.inst, truth, threshold, masks=True)
    if "sem" in result:
        out["sem"] = _score_sem(result.sem, truth)
    if "depth" in result:
        d = evaluate_depth(result.depth.depth, truth.depth)
        out["depth"] = {"AbsRel": d.abs_rel, "RMSE": d.rmse, "delta1": d.delta1}
    if "pose" in result:
        out["pose"] = _score_pose(result.pose, truth, threshold)
    return out


def score_classification(results: Sequence[Classification],
                         truth: ClassificationTruth) -> dict[str, Any]:
    """Top-1 of each classification image against its true class.

    Returns:
        ``{"correct", "total", "predicted" [names], "probability" [top-1 p], "true" [names]}``.
    """
    predicted = [r.top1 for r in results]
    return {"correct": sum(p == t for p, t in zip(predicted, truth.names)),
            "total": len(truth.names), "predicted": predicted,
            "probability": [float(r.probabilities[0]) if len(r.labels) else float("nan")
                            for r in results],
            "true": list(truth.names)}


# ------------------------------------------------------------------------- running
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


def run_precision(name: str, session, scene: SceneTruth, classes: ClassificationTruth,
                  photo: Any) -> PrecisionRun:
    """Runs every task of ``session`` on the scene (timed), the photo and the class images."""
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


def _strip(images: Sequence[Any]):
    from PIL import Image

    arrays = [np.asarray(im) for im in images]
    height = max(a.shape[0] for a in arrays)
    return Image.fromarray(np.concatenate(
        [np.pad(a, ((0, height - a.shape[0]), (0, 0), (0, 0))) for a in arrays], axis=1))


def write_outputs(out: Path, scene: SceneTruth, runs: Sequence[PrecisionRun],
                  report: dict) -> list[Path]:
    """The overlays as PNG and ``report`` as results.json; returns the files written."""
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


# --------------------------------------------------------------------------- summary
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
    """One line of what was found on an image without ground truth."""
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
    line = (f"{run.name.upper()}: {run.bundle.name} ({_mb(run.bundle)}), {info['backend']} "
            f"({info['variant']}, {info['device']}), {run.latency_ms:.1f} ms per image")
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


# ------------------------------------------------------------------------------ main
def _model_info(weights: Path, sha256: str) -> dict:
    from .training.checkpoint import read_checkpoint_metadata

    meta = read_checkpoint_metadata(weights)
    try:
        metrics = json.loads(meta.get("metrics") or "{}")
    except (TypeError, ValueError):
        metrics = {}
    return {"weights": weights, "sha256": sha256, "step": meta.get("step"),
            "command": meta.get("command"), "metrics": metrics if isinstance(metrics, dict) else {}}


def _photo(path: str | None) -> tuple[np.ndarray, str]:
    if path is not None:  # read first: a bad path fails before the bundles are built
        from ._image import as_image

        image = as_image(path)[0]
        return image, f"{path} ({image.shape[1]}x{image.shape[0]})"
    from skimage import data

    image = data.astronaut()
    return image, f"scikit-image astronaut ({image.shape[1]}x{image.shape[0]})"


def _report(model: dict, scene: SceneTruth, runs: Sequence[PrecisionRun], photo: str) -> dict:
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


def main(args: argparse.Namespace) -> int:
    """Runs the demo (see the module docstring).

    Args:
        args: the options of :func:`add_demo_arguments`.

    Returns:
        0.

    Raises:
        ArgusError: a failed build, an unreadable ``--image``, a broken bundle.
        ModuleNotFoundError: torch, nncf, pycocotools or scikit-image is missing.
    """
    from .session import Session

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
            sessions.append(("int8", stack.enter_context(Session(int8, backend=backend))))
        with tempfile.TemporaryDirectory(prefix="argus_demo_") as tmp:
            scene, classes = generate_truth(Path(tmp), args.seed)
        _log(f"running every task with {' and '.join(n.upper() for n, _ in sessions)} "
             f"on {sessions[0][1].backend}")
        runs = [run_precision(name, s, scene, classes, photo) for name, s in sessions]
    model = _model_info(weights, sha256)
    files = write_outputs(Path(args.out), scene, runs, _report(model, scene, runs, photo_name))
    print(format_summary(model, scene, runs, photo_name, files))
    return 0
