"""INT8 on a ViT with outlier channels: backbone-output cosine per quantization method.

Builds the outlier test model of :mod:`argus_edge.export.quantization.outliers` (random
weights, a few channels of every block LayerNorm's output ~``--ratio``× the median
channel, function unchanged), exports its graph to ONNX, quantizes it with the project's
quantizers under several settings and prints, per setting, the cosine of the graph's
outputs against FP32 on the same runtime (OpenVINO ``INFERENCE_PRECISION_HINT=f32`` for
NNCF, ONNX Runtime CPU for the QDQ graphs), on validation images distinct from the
calibration ones. The same settings on the model without injection (``--ratio 0``) give
the error that is not the outliers'.

Graphs: ``--graph vit`` (the ViT alone, ``tokens`` = the residual stream after the last
block: :func:`~argus_edge.export.quantization.outliers.export_vit`) or ``--graph backbone``
(``export_backbone``: ViT + adapter, outputs f4..f32). Images: scikit-image's sample
images (colour, and grey ones as RGB), the first ``--num-calib`` to calibrate, the next
``--num-val`` to compare; preprocessed as the runtime does.

Usage::

    python benchmarks/quant_outliers.py [--preset argus_small] [--size 128] [--graph vit]
        [--ratio 1000] [--methods naive,sq,default,...] [--num-calib 8] [--num-val 8]
        [--pipeline]

``--pipeline`` also runs the whole pipeline (``quantize_graphs``: the default float-kept
set, the gate at cosine 0.99 with its 3 restore rounds, the reports) for the OpenVINO,
ONNX Runtime and TensorRT backends, and prints what its report says.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch

from argus_edge._preprocess import preprocess
from argus_edge.export import export_backbone
from argus_edge.export.quantization import (
    S8S8_SYMMETRIC,
    U8S8,
    Gate,
    SensitivePolicy,
    feeds_for_graphs,
    quantize_graphs,
    quantize_onnxruntime,
    quantize_openvino,
)
from argus_edge.export.quantization._runners import (
    OrtRunner,
    OvRunner,
    collect_outputs,
    error_stats,
)
from argus_edge.export.quantization.outliers import export_vit, make_outlier_model
from argus_edge.export.quantization.smoothing import smooth_layernorms

#: the ViT's LayerNorm → MatMul readers, by torch module path (what the outliers bite)
OUTLIER_READERS = SensitivePolicy(extra_patterns=("attn.qkv", "mlp.fc1"))


@dataclass(frozen=True)
class Method:
    """One quantization setting: the backend's quantizer and its keyword arguments."""

    backend: str  # "openvino" (quantize_openvino) or a QDQ flavour's name
    what: str
    kwargs: dict = field(default_factory=dict)
    fold: float | None = None  # QDQ only: smooth_layernorms(alpha=fold) on the graph first


_OFF = {"smooth_quant": False, "layernorm_smoothing": None}  # neither SmoothQuant
METHODS: dict[str, Method] = {
    "naive": Method("openvino", "per-tensor act., per-channel weights, no SmoothQuant, "
                    "nothing float", {**_OFF, "policy": None}),
    "naive-pt-weights": Method("openvino", "naive with per-tensor weights",
                               {**_OFF, "policy": None, "per_channel_weights": False}),
    "policy": Method("openvino", "no SmoothQuant, the default float-kept set (SensitivePolicy)",
                     _OFF),
    "keep-readers": Method("openvino", "no SmoothQuant, every qkv and fc1 kept float",
                           {**_OFF, "policy": OUTLIER_READERS}),
    "sq": Method("openvino", "NNCF SmoothQuant alpha 0.95, nothing float",
                 {"smooth_quant": True, "layernorm_smoothing": None, "policy": None}),
    "sq0.5": Method("openvino", "NNCF SmoothQuant alpha 0.5, nothing float",
                    {"smooth_quant": 0.5, "layernorm_smoothing": None, "policy": None}),
    "sq0.8": Method("openvino", "NNCF SmoothQuant alpha 0.8, nothing float",
                    {"smooth_quant": 0.8, "layernorm_smoothing": None, "policy": None}),
    "nncf-sq": Method("openvino", "NNCF SmoothQuant 0.95 + SensitivePolicy (the default "
                      "before layernorm_smoothing)",
                      {"smooth_quant": True, "layernorm_smoothing": None}),
    "nncf-sq-pt-weights": Method("openvino", "nncf-sq with per-tensor weights",
                                 {"smooth_quant": True, "layernorm_smoothing": None,
                                  "per_channel_weights": False}),
    "default": Method("openvino", "quantize_openvino's default: SmoothQuant 0.5 folded into the "
                      "LayerNorms, NNCF's off, SensitivePolicy"),
    "fold0.8": Method("openvino", "default with folding alpha 0.8",
                      {"layernorm_smoothing": 0.8}),
    "fold+sq": Method("openvino", "default plus NNCF's SmoothQuant 0.95",
                      {"smooth_quant": True}),
    "ort": Method("U8S8", "ORT QDQ U8S8 (onnxruntime backend): no SmoothQuant, SensitivePolicy"),
    "trt": Method("S8S8_SYMMETRIC", "ORT QDQ symmetric S8S8 (tensorrt backend)"),
    "ort-keep-readers": Method("U8S8", "ORT U8S8, every qkv and fc1 kept float",
                               {"policy": OUTLIER_READERS}),
    "fold-ort": Method("U8S8", "smooth_layernorms(alpha 0.5), then ORT QDQ U8S8", fold=0.5),
    "fold-trt": Method("S8S8_SYMMETRIC", "smooth_layernorms(alpha 0.5), then ORT QDQ S8S8",
                       fold=0.5),
}
_FLAVOURS = {"U8S8": U8S8, "S8S8_SYMMETRIC": S8S8_SYMMETRIC}


def sample_images(n: int) -> list[np.ndarray]:
    """``n`` uint8 RGB images: scikit-image's samples, then their left-right mirrors."""
    from skimage import data

    colour = ["astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
              "immunohistochemistry", "retina", "colorwheel"]
    grey = ["camera", "coins", "moon", "page", "text", "clock", "brick", "grass", "gravel",
            "cell"]
    images = [getattr(data, name)() for name in colour]
    images += [np.repeat(getattr(data, name)()[..., None], 3, axis=2) for name in grey]
    images += [im[:, ::-1].copy() for im in images]
    if n > len(images):
        raise SystemExit(f"at most {len(images)} images")
    return images[:n]


def build_graph(args, images: list[np.ndarray], out: Path):
    """The outlier model's graph; returns (path, injection or None)."""
    h = w = args.size
    vit_size = (h * 14 // 16, w * 14 // 16)
    x = torch.from_numpy(np.stack([preprocess(im, vit_size)[0] for im in images]))
    model, injection = make_outlier_model(args.preset, (h, w), images=x,
                                          ratio=args.ratio if args.ratio > 1 else None,
                                          layerscale=args.layerscale, seed=args.seed)
    path = out / f"{args.graph}.onnx"
    if args.graph == "vit":
        export_vit(model, vit_size, path)
    else:
        export_backbone(model, (h, w), path)
    return path, injection


def run_method(method: Method, path: Path, calib, val, reference, work: Path) -> dict:
    """Quantizes with one method; returns the worst output cosine and the timings."""
    t0 = time.perf_counter()
    if method.fold is not None:
        smoothed, _ = smooth_layernorms(path, calib, alpha=method.fold)
        path = work / f"folded_{method.fold}.onnx"
        onnx.save(smoothed, str(path))
    if method.backend == "openvino":
        runner = OvRunner(quantize_openvino(path, calib, **method.kwargs))
    else:
        out = work / f"{method.backend}_{abs(hash(str(method.kwargs)))}.onnx"
        runner = OrtRunner(quantize_onnxruntime(path, out, calib,
                                                flavour=_FLAVOURS[method.backend],
                                                **method.kwargs))
    seconds = time.perf_counter() - t0
    outs = collect_outputs(runner, val)
    ref = reference["openvino" if method.backend == "openvino" else "ort"]
    cosines = {k: error_stats(ref[k], outs[k])["cosine"] for k in ref}
    return {"cosine": min(cosines.values()), "per_output": cosines, "seconds": seconds}


def print_pipeline(path: Path, calib, val, out: Path) -> None:
    """Runs ``quantize_graphs`` with the gate for the three backends; prints the result."""
    result = quantize_graphs({"graph": path}, {"graph": calib},
                             ["openvino", "onnxruntime", "tensorrt"], Gate(min_cosine=0.99),
                             out / "pipeline", validation_inputs={"graph": val},
                             sensitivity_samples=4, progress=False)
    for name, b in result.backends.items():
        restored = sum(f.reason == "gate" for f in b.float_layers)
        print(f"pipeline {name}: {'passed' if b.passed else 'FAILED'} after {len(b.rounds)} "
              f"round(s), worst cosine {min(o.cosine for o in b.outputs):.4f}, "
              f"{restored} layer(s) restored by the gate")
    print(f"report: {result.report_markdown}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints a Markdown table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="argus_small")
    p.add_argument("--size", type=int, default=128, help="model input side (ViT: ×14/16)")
    p.add_argument("--graph", choices=("vit", "backbone"), default="vit")
    p.add_argument("--ratio", type=float, default=1000.0, help="0: no injection")
    p.add_argument("--layerscale", type=float, default=None,
                   help="every LayerScale gain (default: 384 / embed_dim)")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--num-calib", type=int, default=8)
    p.add_argument("--num-val", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pipeline", action="store_true")
    p.add_argument("--out", type=Path, default=None, help="keep graphs and reports here")
    args = p.parse_args(argv)
    methods = {m: METHODS[m] for m in args.methods.split(",") if m}
    images = sample_images(args.num_calib + args.num_val)
    with tempfile.TemporaryDirectory(prefix="argus_outliers_") as tmp:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        path, injection = build_graph(args, images[:args.num_calib], out)
        print(f"# {args.preset} {args.graph} graph, input {args.size}px, ratio {args.ratio}, "
              f"CPU {platform.processor() or platform.machine()}, torch threads "
              f"{torch.get_num_threads()}; built in {time.perf_counter() - t0:.0f} s")
        if injection is not None:
            worst = min(min(r) for r in injection.ratios.values())
            print(f"injected channels {injection.channels}: ratio {worst:.0f}–"
                  f"{max(max(r) for r in injection.ratios.values()):.0f} on the calibration images")
        feeds = list(feeds_for_graphs({"g": path}, images)["g"])
        calib, val = feeds[:args.num_calib], feeds[args.num_calib:]
        reference = {"openvino": collect_outputs(OvRunner(path), val),
                     "ort": collect_outputs(OrtRunner(path), val)}
        print("\n| method | what | worst output cosine | quantize s |\n|---|---|---:|---:|")
        for name, method in methods.items():
            r = run_method(method, path, calib, val, reference, out)
            print(f"| {name} | {method.what} | {r['cosine']:.4f} | {r['seconds']:.0f} |",
                  flush=True)
        if args.pipeline:
            print_pipeline(path, calib, val, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
