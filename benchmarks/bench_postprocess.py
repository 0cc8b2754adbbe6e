"""Post-processing speed: the C++ kernels (argus_edge._core.kernels) against OpenCV and
the numpy references of the training code, as ratios measured in one run.

    python benchmarks/bench_postprocess.py [--repeats 5]

NMS: detector-like candidates (clusters of jittered boxes around objects, one class;
class-agnostic so that cv2.dnn.NMSBoxes does the same work) for 1k/10k/50k boxes, IoU
0.5; the class-aware row uses 20 classes against the reference's batched_nms. Heatmaps:
17 keypoints of 64x48 per person with warps (DARK on), for 1/8/32 people. Times are the
median of --repeats runs after one warm-up; every C++ result is checked against the
reference before it is timed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import importlib.util
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from argus_edge._core import kernels as K

TRAINING = Path(__file__).resolve().parents[1] / "training"


def load_reference(module: str):
    """``training/<module>`` without the training packages' ``__init__`` (torch)."""
    parts = module.split(".")
    for i in range(len(parts)):
        name = ".".join(["_argus_ref", *parts[:i]]) if i else "_argus_ref"
        if name not in sys.modules:
            pkg = importlib.util.module_from_spec(
                importlib.machinery.ModuleSpec(name, None, is_package=True))
            pkg.__path__ = [str(TRAINING.joinpath(*parts[:i]))]
            sys.modules[name] = pkg
    return importlib.import_module("_argus_ref." + module)


def median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def candidate_boxes(n: int, rng: np.random.Generator, objects: int = 300):
    """n boxes around `objects` objects of a 1280x1280 image, scores in (0, 1)."""
    centres = rng.uniform(0, 1280, (objects, 2))
    sizes = rng.uniform(16, 200, (objects, 2))
    owner = rng.integers(0, objects, n)
    c = centres[owner] + rng.normal(0, 0.15, (n, 2)) * sizes[owner]
    wh = sizes[owner] * rng.uniform(0.7, 1.3, (n, 2))
    boxes = np.concatenate([c - wh / 2, c + wh / 2], axis=1).astype(np.float32)
    return boxes, rng.random(n).astype(np.float32), rng.integers(0, 20, n)


def bench_nms(repeats: int, rng: np.random.Generator) -> None:
    import cv2

    ref = load_reference("heads.dense.nms")
    print("NMS (IoU 0.5)             n   kept    C++ ms   cv2 ms  numpy ms  cv2/C++  numpy/C++")
    for n in (1_000, 10_000, 50_000):
        boxes, scores, labels = candidate_boxes(n, rng)
        rects = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1).astype(np.float64)
        rect_list, score_list = [tuple(r) for r in rects.tolist()], scores.tolist()
        keep = K.nms(boxes, scores, class_agnostic=True, iou_threshold=0.5)
        assert np.array_equal(keep, ref.nms(boxes, scores, 0.5)), "C++ NMS differs from reference"
        t_cpp = median_time(lambda: K.nms(boxes, scores, class_agnostic=True, iou_threshold=0.5),
                            repeats)
        t_cv2 = median_time(lambda: cv2.dnn.NMSBoxes(rect_list, score_list, 0.0, 0.5), repeats)
        t_ref = median_time(lambda: ref.nms(boxes, scores, 0.5), max(1, repeats // 2))
        print(f"  class-agnostic     {n:>7} {len(keep):>6} {1e3 * t_cpp:>9.2f} {1e3 * t_cv2:>8.2f}"
              f" {1e3 * t_ref:>9.1f} {t_cv2 / t_cpp:>8.1f} {t_ref / t_cpp:>10.1f}")
        keep = K.nms(boxes, scores, labels, 0.5)
        assert np.array_equal(keep, ref.batched_nms(boxes, scores, labels, 0.5))
        t_cpp = median_time(lambda: K.nms(boxes, scores, labels, 0.5), repeats)
        t_ref = median_time(lambda: ref.batched_nms(boxes, scores, labels, 0.5),
                            max(1, repeats // 2))
        print(f"  20 classes         {n:>7} {len(keep):>6} {1e3 * t_cpp:>9.2f} {'-':>8}"
              f" {1e3 * t_ref:>9.1f} {'-':>8} {t_ref / t_cpp:>10.1f}")


def person_heatmaps(people: int, rng: np.random.Generator):
    yy, xx = np.mgrid[:64, :48]
    cx = rng.uniform(2, 46, (people, 17, 1, 1))
    cy = rng.uniform(2, 62, (people, 17, 1, 1))
    maps = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 8.0) * rng.uniform(0.3, 1, (people, 17, 1, 1))
    maps = maps + rng.normal(0, 0.01, maps.shape)
    affine = load_reference("data.affine")
    warps = np.stack([affine.get_affine_transform(rng.uniform(100, 500, 2), rng.uniform(50, 300, 2),
                                                  0.0, (192, 256)) for _ in range(people)])
    return maps.astype(np.float32), warps


def bench_heatmaps(repeats: int, rng: np.random.Generator) -> None:
    pose = load_reference("heads.pose_codec")
    print("\nHeatmap decoding (17 x 64x48, DARK k=11, warps)")
    print("  people   C++ ms  C++ 2thr ms  numpy ms  numpy/C++  numpy/C++(2thr)")
    for people in (1, 8, 32):
        maps, warps = person_heatmaps(people, rng)
        got = K.decode_heatmaps(maps, (256, 192), warps)
        want = pose.decode_udp_heatmaps(maps, (256, 192), warps)
        np.testing.assert_allclose(got[0], want[0], rtol=1e-5, atol=1e-4)
        t_cpp = median_time(lambda: K.decode_heatmaps(maps, (256, 192), warps), repeats)
        t_cpp2 = median_time(lambda: K.decode_heatmaps(maps, (256, 192), warps, num_threads=2),
                             repeats)
        t_ref = median_time(lambda: pose.decode_udp_heatmaps(maps, (256, 192), warps), repeats)
        print(f"  {people:>6} {1e3 * t_cpp:>8.2f} {1e3 * t_cpp2:>12.2f} {1e3 * t_ref:>9.2f}"
              f" {t_ref / t_cpp:>10.1f} {t_ref / t_cpp2:>16.1f}")


def bench_detections(repeats: int, rng: np.random.Generator) -> None:
    post = load_reference("heads.dense.postprocess")
    hw, strides, classes = (640, 640), (8, 16, 32), 80
    n = sum((hw[0] // s) * (hw[1] // s) for s in strides)
    logits = rng.normal(-6, 2, (n, classes)).astype(np.float32)
    ltrb = rng.uniform(2, 80, (n, 4)).astype(np.float32)
    kw = dict(score_threshold=0.05, iou_threshold=0.6, pre_nms_topk=1000, max_detections=100)
    got = K.decode_detections(logits, ltrb, hw, list(strides), **kw)
    want = post.postprocess_detections(logits, ltrb, hw, strides, **kw)
    assert np.array_equal(got["labels"], want["labels"])
    t_cpp = median_time(lambda: K.decode_detections(logits, ltrb, hw, list(strides), **kw), repeats)
    t_ref = median_time(lambda: post.postprocess_detections(logits, ltrb, hw, strides, **kw), repeats)
    print(f"\nDense decode, 640x640 input ({n} points x {classes} classes -> {len(got['labels'])}"
          f" detections): C++ {1e3 * t_cpp:.2f} ms, numpy {1e3 * t_ref:.2f} ms,"
          f" numpy/C++ {t_ref / t_cpp:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import cv2

    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numpy "
          f"{np.__version__}, OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads)")
    rng = np.random.default_rng(0)
    bench_nms(args.repeats, rng)
    bench_heatmaps(args.repeats, rng)
    bench_detections(args.repeats, rng)


if __name__ == "__main__":
    main()
