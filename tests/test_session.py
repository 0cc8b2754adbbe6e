"""argus_edge.Session: backends, scheduling, batching, threads, results, the C example.

The tiny bundle has random weights, so the tests lower the score threshold to get
detections (and pose crops) to compare. Tolerances between the OpenVINO and ONNX Runtime
backends on the same FP32 graphs: boxes and keypoints 1e-2 px, scores / probabilities
1e-4, depth 1e-4 relative, semantic labels identical on ≥ 99.9 % of pixels (argmax ties
may flip where two logits are within float rounding).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino")
pytest.importorskip("onnxruntime")

from argus_edge import (  # noqa: E402
    BackendUnavailableError,
    Classification,
    DepthMap,
    Detections,
    InvalidArgumentError,
    Keypoints,
    Result,
    SegMap,
    Session,
    UnknownTaskError,
)

THRESHOLD = 0.005  # random weights: sigmoid scores sit near the 0.01 prior


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[::4, ::4])  # 128 x 128 RGB


@pytest.fixture(scope="module")
def sessions(tiny_bundle):
    return {b: Session(tiny_bundle, backend=b, score_threshold=THRESHOLD)
            for b in ("openvino", "onnxruntime")}


def test_auto_picks_openvino_and_reports_it(tiny_bundle):
    s = Session(tiny_bundle)
    assert s.backend == "openvino"
    assert s.precision == "fp32"
    assert s.info["variant"] == "openvino-fp32" and s.info["inference_precision"] == "f32"
    assert set(s.tasks) == {"cls", "det", "inst", "sem", "pose", "depth"}
    assert s.inputs["det"]["height"] == 64 and s.inputs["pose"]["height"] == 128
    assert "openvino" in repr(s)


def test_requested_backend_that_cannot_run_raises(tiny_bundle):
    with pytest.raises(BackendUnavailableError, match="TENSORRT") as e:
        Session(tiny_bundle, backend="tensorrt")
    assert isinstance(e.value, RuntimeError)
    with pytest.raises(BackendUnavailableError, match="int8"):
        Session(tiny_bundle, backend="onnxruntime", precision="int8")
    with pytest.raises(BackendUnavailableError, match="OpenVINO precision hint"):
        Session(tiny_bundle, backend="onnxruntime", precision="bf16")
    with pytest.raises(InvalidArgumentError, match="unknown backend"):
        Session(tiny_bundle, backend="tflite")


def test_openvino_and_onnxruntime_agree(sessions, photo):
    ov = sessions["openvino"].run(photo)
    ort = sessions["onnxruntime"].run(photo)
    assert sessions["onnxruntime"].backend == "onnxruntime"
    assert len(ov.det) > 0 and len(ov.pose) > 0, "the test needs detections and people"
    for task in ("det", "inst"):
        a, b = ov[task], ort[task]
        assert len(a) == len(b)
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-2)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)
    assert (ov.inst.masks != ort.inst.masks).mean() < 1e-3
    assert (ov.sem.labels == ort.sem.labels).mean() >= 0.999
    np.testing.assert_allclose(ov.depth.depth, ort.depth.depth, rtol=1e-4)
    np.testing.assert_array_equal(ov.cls.labels, ort.cls.labels)
    np.testing.assert_allclose(ov.cls.probabilities, ort.cls.probabilities, atol=1e-4)
    np.testing.assert_allclose(ov.pose.keypoints[..., :2], ort.pose.keypoints[..., :2], atol=1e-2)
    np.testing.assert_allclose(ov.pose.keypoints[..., 2], ort.pose.keypoints[..., 2], atol=1e-4)


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime"])
def test_only_the_requested_graphs_run(sessions, photo, backend):
    s = sessions[backend]
    s.reset_graph_calls()
    s.run(photo, tasks=["det"])
    assert s.graph_calls() == {"backbone_64x64": 1, "det_64x64": 1}
    s.reset_graph_calls()
    r = s.run(photo, tasks=["det", "sem", "cls"])
    assert s.graph_calls() == {"backbone_64x64": 1, "det_64x64": 1, "sem_64x64": 1,
                               "cls_64x64": 1}
    assert list(r.tasks) == ["det", "sem", "cls"]
    s.reset_graph_calls()
    r = s.run(photo, tasks=["pose"])          # det runs for the person boxes, not returned
    assert list(r.tasks) == ["pose"] and len(r.pose) > 0
    assert s.graph_calls() == {"backbone_64x64": 1, "det_64x64": 1,
                               "backbone_128x96": 2, "pose_128x96": 2}  # flip test


def test_stage_seconds_split_each_run(sessions, photo):
    s = sessions["openvino"]
    s.run(photo, tasks=["sem"])  # compiled
    s.reset_graph_calls()
    assert s.stage_seconds() == {"preprocess": 0.0, "graphs": 0.0, "decode": 0.0}
    start = time.perf_counter()
    s.run(photo, tasks=["sem", "depth"])
    wall = time.perf_counter() - start
    split = s.stage_seconds()
    assert min(split.values()) > 0 and sum(split.values()) <= wall
    assert split["graphs"] >= sum(s.graph_seconds().values()) * 0.999


def test_batch_matches_single_images(sessions, photo):
    s = sessions["openvino"]
    other = np.ascontiguousarray(photo[16:112, ::-1])  # another size and content
    singles = [s.run(im) for im in (photo, other)]
    s.reset_graph_calls()
    batch = s.run([photo, other])
    assert s.graph_calls()["backbone_64x64"] == 1 and s.graph_calls()["det_64x64"] == 1
    for one, b in zip(singles, batch):
        assert one.size == b.size
        np.testing.assert_allclose(one.det.boxes, b.det.boxes, atol=1e-3)
        np.testing.assert_array_equal(one.sem.labels, b.sem.labels)
        np.testing.assert_allclose(one.pose.keypoints, b.pose.keypoints, atol=1e-3)
    four_d = s.run(np.stack([photo, photo]), tasks=["cls"])
    assert len(four_d) == 2


def test_image_kinds_give_the_same_result(sessions, photo, tmp_path):
    from PIL import Image
    s = sessions["openvino"]
    ref = s.run(photo, tasks=["det"]).det
    Image.fromarray(photo).save(tmp_path / "a.png")
    variants = [
        s.run(str(tmp_path / "a.png"), tasks=["det"]),
        s.run(tmp_path / "a.png", tasks="det"),
        s.run(Image.fromarray(photo), tasks=["det"]),
        s.run(np.ascontiguousarray(photo[..., ::-1]), tasks=["det"], color="BGR"),
        s.run(photo[..., ::-1], tasks=["det"], color="BGR"),        # negative strides
        s.run(np.asfortranarray(photo), tasks=["det"]),              # other layout
    ]
    for r in variants:
        np.testing.assert_array_equal(r.det.boxes, ref.boxes)
        np.testing.assert_array_equal(r.image, photo)


@pytest.fixture(scope="module")
def few_people_bundle(tiny_bundle, tmp_path_factory) -> Path:
    """tiny_bundle with det keeping its 6 best boxes (of ~100 at THRESHOLD) and pose
    taking its people from class "x", the random model's most frequent class among them:
    pose runs on 2-4 crops per image instead of ~30."""
    from bundle_tools import rewrite_bundle

    def edit(manifest):
        tasks = manifest["tasks"]
        tasks["det"]["postprocess"]["max_detections"] = 6
        tasks["pose"]["postprocess"]["person_class"] = "x"
        tasks["pose"]["needs"][0]["class"] = "x"
    return rewrite_bundle(tiny_bundle, tmp_path_factory.mktemp("few") / "few.engine", edit)


def test_run_from_eight_threads_matches_serial(few_people_bundle, photo):
    """One Session, 8 threads: each runs every image twice (a different image than its
    neighbours at each step) and gets the serial result bit for bit."""
    s = Session(few_people_bundle, score_threshold=THRESHOLD)
    images = [np.ascontiguousarray(np.roll(photo, 7 * i, axis=1)) for i in range(4)]
    serial = [s.run(im, tasks=["det", "sem", "pose"]) for im in images]
    assert all(len(r.det) == 6 and len(r.pose) > 0 for r in serial), "the test needs people"
    errors: list[BaseException] = []
    mismatches = []

    def worker(t: int) -> None:
        try:
            for i in range(2 * len(images)):
                k = (t + i) % len(images)
                r = s.run(images[k], tasks=["det", "sem", "pose"])
                if not (np.array_equal(r.det.boxes, serial[k].det.boxes)
                        and np.array_equal(r.sem.labels, serial[k].sem.labels)
                        and np.array_equal(r.pose.keypoints, serial[k].pose.keypoints)):
                    mismatches.append((t, i))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not mismatches


def test_results_are_typed_frozen_and_serialisable(sessions, photo):
    r = sessions["openvino"].run(photo)
    assert isinstance(r, Result)
    assert isinstance(r.det, Detections) and r.det.masks is None
    assert isinstance(r.inst, Detections) and r.inst.masks.shape == (len(r.inst), 128, 128)
    assert isinstance(r.pose, Keypoints) and r.pose.keypoints.shape[1:] == (17, 3)
    assert isinstance(r.sem, SegMap) and r.sem.labels.shape == (128, 128)
    assert isinstance(r.depth, DepthMap) and r.depth.depth.dtype == np.float32
    assert isinstance(r.cls, Classification) and r.cls.top1 in r.cls.class_names
    assert r.det.boxes.dtype == np.float32 and r.det.boxes.shape[1] == 4
    assert r.det.names[0] in r.det.class_names
    with pytest.raises(ValueError):
        r.det.boxes[0, 0] = 1.0                       # read-only arrays
    with pytest.raises(AttributeError):
        r.det.boxes = np.zeros((0, 4))                # frozen dataclass
    with pytest.raises(UnknownTaskError):
        r["normal"]
    with pytest.raises(AttributeError):
        r.normal
    d = json.loads(r.to_json())
    assert set(d["tasks"]) == set(r.tasks) and d["height"] == 128
    assert len(d["tasks"]["det"]["boxes"]) == len(r.det)
    full = r.to_dict(maps=True)
    assert np.array_equal(np.array(full["tasks"]["sem"]["labels"]), r.sem.labels)
    assert all(0 <= a < 17 and 0 <= b < 17 for a, b in r.pose.skeleton)


def test_empty_results_serialise_and_draw(tiny_bundle, photo):
    r = Session(tiny_bundle, score_threshold=1.0).run(photo)     # nothing passes 1.0
    assert len(r.det) == 0 and len(r.inst) == 0 and len(r.pose) == 0
    assert r.inst.masks.shape == (0, 128, 128) and r.pose.keypoints.shape == (0, 17, 3)
    d = json.loads(r.to_json(maps=True))
    assert d["tasks"]["inst"]["mask_areas"] == [] and d["tasks"]["pose"]["keypoints"] == []
    assert r.draw().size == (3 * 128, 128)


def test_draw_puts_seg_and_depth_beside_the_overlay(sessions, photo, tmp_path):
    r = sessions["openvino"].run(photo)
    image = r.draw()
    assert image.size == (3 * 128, 128) and image.mode == "RGB"
    image.save(tmp_path / "out.png")
    assert sessions["openvino"].run(photo, tasks=["det"]).draw().size == (128, 128)


def test_stream_yields_results_in_order(sessions, photo):
    s = sessions["openvino"]
    frames = [np.ascontiguousarray(np.roll(photo, 5 * i, axis=0)) for i in range(6)]
    expected = [s.run(f, tasks=["det"]).det.boxes for f in frames]
    got = [r.det.boxes for r in s.stream(iter(frames), tasks=["det"], depth=3)]
    assert len(got) == 6
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


def test_stream_reads_video_files(sessions, photo, tmp_path):
    cv2 = pytest.importorskip("cv2")
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5, (128, 128))
    assert writer.isOpened()
    for i in range(4):
        writer.write(np.ascontiguousarray(np.roll(photo, 9 * i, axis=1)[..., ::-1]))
    writer.release()
    results = list(sessions["openvino"].stream(path, tasks=["cls"]))
    assert len(results) == 4 and all(r.size == (128, 128) for r in results)


def test_custom_node_bundle_runs_the_fused_kernel(tiny_custom_bundle, sessions, photo):
    """A bundle exported with deform='custom' runs on OpenVINO through the fused kernel
    and matches the standard-op bundle of the same checkpoint (tiny_bundle; the tiny
    model's deformable attention is made non-trivial by spread_deform_init, so the
    sampling offsets matter)."""
    from argus_edge._extensions import openvino_extension_path
    try:
        openvino_extension_path()
    except BackendUnavailableError:
        pytest.skip("the OpenVINO extension is not built into this install")
    with pytest.raises(BackendUnavailableError, match="custom nodes"):
        Session(tiny_custom_bundle, backend="onnxruntime")
    fused = Session(tiny_custom_bundle, score_threshold=THRESHOLD)
    assert fused.backend == "openvino"       # auto skips ORT, which cannot run the node
    a = fused.run(photo, tasks=["det", "sem"])
    b = sessions["openvino"].run(photo, tasks=["det", "sem"])
    np.testing.assert_allclose(a.det.boxes, b.det.boxes, atol=1e-2)
    assert (a.sem.labels == b.sem.labels).mean() >= 0.999


def _example_binary() -> Path | None:
    explicit = os.environ.get("ARGUS_EXAMPLE_DETECT")
    candidates = [Path(explicit)] if explicit else []
    root = Path(__file__).resolve().parents[1]
    candidates += [root / "build" / "cpp" / "argus_example_detect"]
    return next((p for p in candidates if p.is_file()), None)


def test_python_binding_matches_c_example(tiny_bundle, photo, tmp_path):
    """The C example (libargus_c) and the Python binding print the same detections."""
    binary = _example_binary()
    if binary is None:
        pytest.skip("build the C example first (make test-cpp builds "
                    "build/cpp/argus_example_detect; or set ARGUS_EXAMPLE_DETECT)")
    raw = tmp_path / "photo.rgb"
    raw.write_bytes(photo.tobytes())
    out = subprocess.run([str(binary), str(tiny_bundle), str(raw), "128", "128",
                          str(THRESHOLD)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    det = Session(tiny_bundle, score_threshold=THRESHOLD).run(photo, tasks=["det"]).det
    assert len(det) > 0
    lines = [f"detections: {len(det)}"] + [
        f"{i:2d} {name:<12s} score {s:.4f} box [{b[0]:.2f}, {b[1]:.2f}, {b[2]:.2f}, {b[3]:.2f}]"
        for i, (name, s, b) in enumerate(zip(det.names, det.scores.astype(float),
                                             det.boxes.astype(float)))]
    assert out.stdout.splitlines() == lines


def test_runtime_session_does_not_import_torch(tiny_bundle):
    code = ("import sys, numpy as np, argus_edge; "
            f"s = argus_edge.Session({str(tiny_bundle)!r}); "
            "s.run(np.zeros((32, 48, 3), np.uint8)); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_throughput_mode_splits_a_batch_into_requests(tiny_bundle, sessions, photo):
    """performance="throughput": a batch runs as one request per stream, at once; the
    results are the latency Session's, in order."""
    fast = Session(tiny_bundle, performance="throughput", streams=2, score_threshold=THRESHOLD)
    assert fast.requests == 2 and sessions["openvino"].requests == 2
    frames = [photo, photo[::-1].copy(), photo[:, ::-1].copy()]
    tasks = ["det", "sem", "depth"]
    got = fast.run(frames, tasks=tasks)
    assert fast.graph_calls()["backbone_64x64"] == 2  # [photo], [flipped, mirrored]
    want = sessions["openvino"].run(frames, tasks=tasks)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.det.boxes, b.det.boxes, atol=1e-3)
        assert (a.sem.labels == b.sem.labels).mean() >= 0.999
        np.testing.assert_allclose(a.depth.depth, b.depth.depth, rtol=1e-4, atol=1e-6)
    streamed = list(fast.stream(frames, tasks=["det"]))
    assert [len(r.det) for r in streamed] == [len(r.det) for r in got]
    with pytest.raises(InvalidArgumentError, match="performance"):
        Session(tiny_bundle, performance="fastest")
