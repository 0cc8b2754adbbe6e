"""FP32 vs INT8 latency of the Argus backbone on ONNX Runtime and OpenVINO (a script,
not a test: every figure it prints is measured in this one run, on this machine).

    python export/benchmark.py                         # argus_tiny and argus_base
    python export/benchmark.py --models argus_base --size 448 --runs 10 --threads 2

Random weights (speed does not depend on them). The backbone graph is exported with
standard ONNX ops, quantized with the SDK's own pipeline (ONNX Runtime QDQ per-channel;
NNCF with ``model_type=TRANSFORMER``) on a few sample images, and each variant is timed
at batch 1 after warm-up: median and 90th percentile of ``--runs`` runs. OpenVINO FP32
is timed both with ``INFERENCE_PRECISION_HINT=f32`` and with the CPU's default (bf16 on
CPUs with AVX-512 BF16).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _models(names: list[str], size: int):
    from argus_edge.training.models import PRESETS, Argus
    import dataclasses
    import torch
    for name in names:
        torch.manual_seed(0)
        yield name, Argus(dataclasses.replace(PRESETS[name], input_size=(size, size))).eval()


def _feeds(model, size: int, count: int) -> list[dict[str, np.ndarray]]:
    from argus_edge.export.validate import sample_images
    import torch
    feeds = []
    for seed in range(count):
        images = torch.from_numpy(sample_images((size, size), seed))[seed % 2:seed % 2 + 1]
        feeds.append({"images": images.numpy(),
                      "vit_images": model.vit_input(images).numpy()})
    return feeds


def _time(run, feed, runs: int) -> tuple[float, float]:
    for _ in range(2):
        run(feed)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        run(feed)
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.9 * len(times)))]


def _ort(path: Path, threads: int):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3  # QDQ graphs make ORT list every folded initializer
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return lambda feed: sess.run(None, feed)


def _ov(model, threads: int, hint: str | None):
    import openvino as ov
    config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
    if hint:
        config["INFERENCE_PRECISION_HINT"] = hint
    compiled = ov.Core().compile_model(model, "CPU", config)
    request = compiled.create_infer_request()
    return lambda feed: request.infer(feed)


def benchmark(name: str, model, size: int, runs: int, threads: int, calib: int,
              work: Path) -> list[tuple[str, float, float]]:
    """Rows of (variant, median ms, p90 ms) for one model."""
    import openvino as ov

    from argus_edge.export.graphs import export_backbone
    from argus_edge.export.quantization.onnxruntime_ptq import quantize_onnxruntime
    from argus_edge.export.quantization.openvino_ptq import quantize_openvino
    fp32 = work / f"{name}_fp32.onnx"
    export_backbone(model, (size, size), fp32)
    feeds = _feeds(model, size, calib)
    print(f"[{name}] exported {fp32.stat().st_size / 1e6:.1f} MB; quantizing on "
          f"{len(feeds)} images...", file=sys.stderr)
    int8_ort = quantize_onnxruntime(fp32, work / f"{name}_int8.onnx", feeds)
    int8_ov = quantize_openvino(fp32, feeds, subset_size=len(feeds))
    fp32_ov = ov.convert_model(str(fp32))
    variants = {
        "onnxruntime fp32": _ort(fp32, threads),
        "onnxruntime int8 (QDQ)": _ort(int8_ort, threads),
        "openvino fp32 (f32 hint)": _ov(fp32_ov, threads, "f32"),
        "openvino fp32 (default: bf16)": _ov(fp32_ov, threads, None),
        "openvino int8 (NNCF)": _ov(int8_ov, threads, None),
    }
    return [(v, *_time(run, feeds[0], runs)) for v, run in variants.items()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=["argus_tiny", "argus_base"])
    p.add_argument("--size", type=int, default=448, help="square input side (multiple of 32)")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--calib", type=int, default=8, help="calibration images")
    args = p.parse_args(argv)
    print(f"backbone latency, batch 1, {args.size}x{args.size}, {args.threads} threads, "
          f"median (p90) of {args.runs} runs")
    with tempfile.TemporaryDirectory(prefix="argus_bench_") as tmp:
        for name, model in _models(args.models, args.size):
            rows = benchmark(name, model, args.size, args.runs, args.threads, args.calib,
                             Path(tmp))
            base = {"onnxruntime": rows[0][1], "openvino": rows[2][1]}
            print(f"\n| {name} | median ms | p90 ms | vs FP32 of the same backend |")
            print("|---|---:|---:|---:|")
            for variant, med, p90 in rows:
                ratio = base[variant.split()[0]] / med
                print(f"| {variant} | {med:.1f} | {p90:.1f} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
