"""``argus-edge demo``: ground-truth scoring, the summary, the outputs and (slow) end to end.

The fast tests score the scene's own ground truth, drawn as a Result, against itself (every
metric perfect) and damaged copies of it (every metric worse), so they need no bundle.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pycocotools")
pytest.importorskip("torch")  # argus_edge.training.data imports it

from argus_edge import demo  # noqa: E402
from argus_edge.demo import report as demo_report  # noqa: E402
from argus_edge._errors import InvalidArgumentError  # noqa: E402
from argus_edge.results import Classification, Detections, Result, SegMap  # noqa: E402

TASKS = ("det", "inst", "sem", "depth", "pose", "cls")


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    return demo.generate_truth(tmp_path_factory.mktemp("demo_truth"), demo.SCENE_SEED)


def _classes(truth_classes, wrong: int = 0) -> tuple[Result, ...]:
    """Classification results naming the true class, except the first ``wrong`` ones."""
    names = tuple(sorted(truth_classes.names))
    out = []
    for i, (image, name) in enumerate(zip(truth_classes.images, truth_classes.names)):
        label = names.index(name) if i >= wrong else (names.index(name) + 1) % len(names)
        out.append(Result(image, {"cls": Classification([label], [0.9], names)}))
    return tuple(out)


def _run(name: str, result: Result, truth, wrong_classes: int = 0) -> demo.PrecisionRun:
    scene, classes = truth
    cls = _classes(classes, wrong_classes)
    metrics = demo.score_scene(result, scene)
    metrics["cls"] = demo.score_classification([r.cls for r in cls], classes)
    info = {"backend": "openvino", "variant": f"openvino-{name}", "device": "CPU",
            "calibration": {"images": 32, "passed_gate": True, "min_cosine": 0.999}
            if name == "int8" else None}
    return demo.PrecisionRun(name, info, Path(__file__), result, result, cls, 12.5, metrics)


def test_scene_has_every_task_to_score(truth):
    scene, classes = truth
    assert scene.objects >= demo.MIN_OBJECTS and scene.persons >= 1
    assert scene.image.shape[:2] == scene.semantic.shape == scene.depth.shape
    assert sorted(classes.names) == sorted(set(classes.names)) and len(classes.names) == 6


def test_ground_truth_scores_perfectly(truth):
    scene, _ = truth
    m = demo.score_scene(demo.truth_result(scene), scene)
    assert set(m) == {"det", "inst", "sem", "depth", "pose"}
    assert m["det"]["box_AP50"] == pytest.approx(1.0)
    assert m["det"]["shown"] == m["det"]["objects"] == scene.objects
    assert m["inst"]["mask_AP50"] == pytest.approx(1.0)
    assert m["sem"]["mIoU"] == pytest.approx(1.0) and m["sem"]["pixel_accuracy"] == 1.0
    assert m["depth"]["AbsRel"] == pytest.approx(0.0, abs=1e-9)
    assert m["pose"]["OKS_AP"] == pytest.approx(1.0)
    assert m["pose"]["persons"] == scene.persons


def test_damaged_predictions_score_worse(truth):
    scene, _ = truth
    perfect = demo.truth_result(scene)
    det = perfect.det
    # Boxes shifted by their own width: no IoU >= 0.5 with any object.
    shift = np.stack([det.boxes[:, 2] - det.boxes[:, 0], np.zeros(len(det))] * 2, 1)
    moved = replace(det, boxes=det.boxes + shift)
    # The model's class order differs from the dataset's: labels are matched by name.
    order = det.class_names[::-1]
    renamed = Detections(det.boxes, det.scores, [order.index(n) for n in det.names], order)
    bg = SegMap(np.zeros_like(perfect.sem.labels), perfect.sem.class_names)
    damaged = Result(scene.image, {"det": moved, "sem": bg, "depth": replace(
        perfect.depth, depth=perfect.depth.depth * 1.5)})
    m = demo.score_scene(damaged, scene)
    assert m["det"]["box_AP50"] == pytest.approx(0.0)
    assert m["sem"]["mIoU"] < 0.5 and m["sem"]["pixel_accuracy"] < 1.0
    assert m["depth"]["AbsRel"] == pytest.approx(0.5, rel=1e-3)
    m = demo.score_scene(Result(scene.image, {"det": renamed}), scene)
    assert m["det"]["box_AP50"] == pytest.approx(1.0)


def test_scene_without_persons_has_no_pose_score(truth):
    scene, _ = truth
    empty = replace(scene, keypoints={**scene.keypoints, "annotations": []})
    m = demo.score_scene(demo.truth_result(empty), empty)
    assert m["pose"]["persons"] == 0 and np.isnan(m["pose"]["OKS_AP"])
    assert m["det"]["box_AP50"] == pytest.approx(1.0)
    assert demo_report._num(m["pose"]["OKS_AP"]) == "n/a"


def test_foreign_classes_are_an_error(truth):
    scene, _ = truth
    foreign = Detections(np.zeros((1, 4)), [0.5], [0], ("zebra",))
    with pytest.raises(InvalidArgumentError, match="zebra"):
        demo.score_scene(Result(scene.image, {"det": foreign}), scene)


def test_summary_and_outputs(truth, tmp_path):
    scene, _ = truth
    perfect = demo.truth_result(scene)
    runs = [_run("fp32", perfect, truth), _run("int8", perfect, truth, wrong_classes=2)]
    model = {"weights": "argus_tiny_synthetic.safetensors", "sha256": "ab" * 32, "step": 7,
             "metrics": {"det": {"box_AP50": 0.41}, "cls": {"top1": 0.93}}}
    files = demo.write_outputs(tmp_path, scene, runs, demo.build_report(model, scene, runs, "p"))
    names = {f.name for f in files}
    assert {"scene_truth.png", "scene_fp32.png", "scene_int8.png", "photo_fp32.png",
            "classes_int8.png", "results.json"} <= names
    assert all(f.stat().st_size > 0 for f in files)
    report = json.loads((tmp_path / "results.json").read_text(),
                        parse_constant=lambda c: pytest.fail(f"{c} in results.json"))
    assert report["runs"]["fp32"]["metrics"]["det"]["box_AP50"] == pytest.approx(1.0)

    text = demo.format_summary(model, scene, runs, "the photo", files)
    rows = {line.split()[0] for line in text.splitlines() if line.startswith("  ")}
    assert set(TASKS) <= rows
    assert "6/6" in text and "4/6" in text
    assert "det box AP50 0.410" in text and "gate passed" in text
    assert "12.5 ms" in text and "scene_int8.png" in text


def test_cache_folder_is_keyed_by_weights(tmp_path, monkeypatch):
    weights = Path("argus_tiny_synthetic.safetensors")
    a = demo.cache_folder(tmp_path, weights, "a" * 64)
    assert a.parent == tmp_path and a != demo.cache_folder(tmp_path, weights, "b" * 64)
    monkeypatch.setenv("ARGUS_EDGE_CACHE", str(tmp_path / "env"))
    assert demo.cache_folder(None, weights, "a" * 64).parent == tmp_path / "env"
    assert demo.packaged_weights().is_file()


def test_arguments_defaults():
    p = argparse.ArgumentParser()
    demo.add_demo_arguments(p)
    args = p.parse_args([])
    assert (args.out, args.cache, args.rebuild, args.no_int8, args.image, args.seed,
            args.backend) == ("demo_out", None, False, False, None, demo.SCENE_SEED, "auto")


def test_unreadable_image_fails_before_building(tmp_path):
    from argus_edge._errors import ImageError

    p = argparse.ArgumentParser()
    demo.add_demo_arguments(p)
    args = p.parse_args(["--image", str(tmp_path / "missing.jpg"), "--cache", str(tmp_path / "c")])
    with pytest.raises(ImageError):
        demo.main(args)
    assert not (tmp_path / "c").exists()


@pytest.mark.slow
@pytest.mark.openvino
def test_demo_end_to_end(tmp_path, capsys):
    pytest.importorskip("nncf")
    p = argparse.ArgumentParser()
    demo.add_demo_arguments(p)
    args = p.parse_args(["--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")])
    assert demo.main(args) == 0
    text = capsys.readouterr().out
    for png in ("scene_truth", "scene_fp32", "scene_int8", "photo_fp32", "photo_int8",
                "classes_fp32", "classes_int8"):
        assert (tmp_path / "out" / f"{png}.png").stat().st_size > 0
    rows = {line.split()[0] for line in text.splitlines() if line.startswith("  ")}
    assert set(TASKS) <= rows
    report = json.loads((tmp_path / "out" / "results.json").read_text())
    for run in ("fp32", "int8"):
        assert set(report["runs"][run]["metrics"]) == set(TASKS)
    # The second run reuses the cached bundles.
    bundles = sorted((tmp_path / "cache").rglob("*.engine"))
    stamps = [b.stat().st_mtime_ns for b in bundles]
    assert demo.main(args) == 0
    assert [b.stat().st_mtime_ns for b in bundles] == stamps
