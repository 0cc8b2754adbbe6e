"""The deformable attention's custom nodes (OpenVINO extension) vs the standard-op graph.

Benchmarks, in OpenVINO on CPU at one precision (``--precision``: ``f32``, ``bf16`` or
``int8``, the Session's precisions), the same model exported three ways:

- ``standard``: LayerNorm / MatMul / Softmax / GridSample ... (``deform="standard"``);
- ``sample``: the sampling core of each attention as one ``ai.argus::MSDeformSample``, the
  projections around it standard MatMuls (``deform="custom"``, what bundles hold);
- ``fused``: each injector / extractor attention as one legacy
  ``ai.argus::ScaledDeformAttn`` whose kernel runs its projections in f32
  (``deform="custom-v1"``);

timed

- per interaction block: only the block's deformable attentions (the injector with token
  scaling, the extractor and, in the last block, the two extra extractors), fed with
  tensors of the real shapes: the ViT blocks and ConvFFNs around them are the same
  standard ops in every graph and are left out;
- the whole backbone (``export_backbone``), images -> f4..f32.

argus_base shapes, random weights (deformable attention made non-trivial as in the
tests), batch 1. All numbers of one run come from one process, interleaved per graph
set; ratios are standard / custom (> 1: the custom node is faster).

``--precision int8`` quantizes every graph with the project's NNCF quantizer
(``quantize_openvino``, custom nodes through the extension, as ``export/quantize.py``
does) on ``--calib`` random feeds of the real shapes, and runs them with OpenVINO's
default float precision for the float parts, as the Session runs INT8 variants; the
custom kernels compute in f32. The agreement column is then the worst cosine of a custom
graph's outputs against the standard graph's instead of max|diff|.

Usage::

    python benchmarks/bench_deform.py [--size 448] [--runs 10] [--threads 2]
        [--precision f32|bf16|int8] [--calib 4] [--graphs standard sample fused]
        [--extension PATH] [--profile] [--skip-backbone] [--workdir DIR --reuse]

The extension is ``--extension``, else ``argus_edge._extensions.openvino_extension_path()``
(``$ARGUS_OPENVINO_EXTENSION``, next to ``argus_edge._core``), else this checkout's
``build/cpp`` (where ``make test-cpp`` builds it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import openvino as ov
import torch
from torch import nn

from argus_edge import BackendUnavailableError
from argus_edge._extensions import openvino_extension_name, openvino_extension_path
from argus_edge.export import export_backbone
from argus_edge.export.deform_op import (
    CUSTOM_TRANSLATION_TABLE,
    _attention_call,
    spread_deform_init,
    use_custom_deform,
)
from argus_edge.training.models import PRESETS, Argus
from argus_edge.training.models.adapter import token_scale
from argus_edge.training.models.layers import reference_points


# ----------------------------------------------------------------------------- graphs
GRAPHS = {"standard": "standard", "sample": "custom", "fused": "custom-v1"}  # deform modes


class BlockAttention(nn.Module):
    """The deformable attentions of one interaction block.

    ``fused``: each as the legacy ScaledDeformAttn op; otherwise as the block computes it
    (standard ops, or MSDeformSample where ``block`` comes from a
    ``use_custom_deform(model, "sample")`` copy).
    """

    def __init__(self, block: nn.Module, grid: tuple[int, int],
                 c_shapes: list[tuple[int, int]], fused: bool) -> None:
        super().__init__()
        self.block, self.grid, self.c_shapes, self.fused = block, grid, c_shapes, fused
        self.register_buffer("ref_vit", reference_points([grid]))
        self.register_buffer("ref_c", reference_points(c_shapes))

    def forward(self, x: torch.Tensor, c: torch.Tensor, feat: torch.Tensor):
        blk = self.block
        extractors = (blk.extractor, *blk.extra_extractors)
        if self.fused:
            x = _attention_call(blk.injector, x, self.ref_vit, c, self.c_shapes,
                                gamma=blk.injector.gamma, token_scaling=blk.token_scaling)
            for ext in extractors:
                c = _attention_call(ext, c, self.ref_c, feat, [self.grid], gamma=None,
                                    token_scaling=False)
            return x, c
        s = token_scale(x) if blk.token_scaling else x.new_ones(x.shape[0], 1, 1)
        x = blk.injector(x * s, self.ref_vit, c, self.c_shapes) / s
        for ext in extractors:
            c = c + ext.attn(ext.query_norm(c), self.ref_c, ext.feat_norm(feat), [self.grid])
        return x, c


def make_model(seed: int = 0) -> Argus:
    """argus_base without heads, random weights, non-trivial deformable attention."""
    torch.manual_seed(seed)
    model = Argus(PRESETS["argus_base"]).eval()
    spread_deform_init(model)  # the zero init would hide the offsets
    return model


def image_inputs(model: Argus, size: int, seed: int) -> dict[str, np.ndarray]:
    """Random backbone inputs (``images``, ``vit_images``)."""
    images = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(seed))
    return {"images": images.numpy(), "vit_images": model.vit_input(images).numpy()}


def block_inputs(size: int, dim: int, seed: int = 1) -> dict[str, np.ndarray]:
    gen = torch.Generator().manual_seed(seed)
    q, s_c = (size // 16) ** 2, sum((size // k) ** 2 for k in (8, 16, 32))
    # ViT tokens with DINOv2-like norms (token scaling matters), adapter tokens unit scale
    return {"x": (20 * torch.randn(1, q, dim, generator=gen)).numpy(),
            "c": torch.randn(1, s_c, dim, generator=gen).numpy(),
            "feat": (20 * torch.randn(1, q, dim, generator=gen)).numpy()}


def export_block(model: Argus, index: int, size: int, graph: str, path: Path,
                 inputs: dict[str, np.ndarray]) -> Path:
    grid = (size // 16, size // 16)
    c_shapes = [(size // 8, size // 8), grid, (size // 32, size // 32)]
    if graph == "sample":
        model = use_custom_deform(model, "sample")
    module = BlockAttention(model.adapter.interactions[index], grid, c_shapes,
                            graph == "fused").eval()
    custom = graph != "standard"
    args = tuple(torch.from_numpy(v) for v in inputs.values())
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=True, opset_version=18, verbose=False,
                          input_names=list(inputs), output_names=["x_out", "c_out"],
                          external_data=False,
                          custom_translation_table=CUSTOM_TRANSLATION_TABLE if custom else None)
    return path


# ----------------------------------------------------------------------------- timing
def compile_model(core: ov.Core, model, threads: int, profile: bool, precision: str):
    """Compiles an ONNX path or an ``ov.Model``; ``int8`` models keep the plugin's default
    float precision, as the Session runs INT8 variants."""
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads}
    if precision != "int8":
        config["INFERENCE_PRECISION_HINT"] = precision
    if profile:
        config["PERF_COUNT"] = True
    source = core.read_model(str(model)) if isinstance(model, Path) else model
    return core.compile_model(source, "CPU", config)


def quantize(path: Path, feeds: list[dict[str, np.ndarray]]):
    """``path`` quantized by the project's NNCF quantizer (custom nodes: through the
    extension), as an ``ov.Model``."""
    from argus_edge.export.quantization import quantize_openvino

    return quantize_openvino(path, feeds, subset_size=len(feeds))


def time_pair(compiled: dict, feeds: dict, runs: int, warmup: int) -> dict[str, list[float]]:
    """Median-ready latencies (ms) of each compiled model, runs interleaved."""
    requests = {k: c.create_infer_request() for k, c in compiled.items()}
    for _ in range(warmup):
        for r in requests.values():
            r.infer(feeds)
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        for k, r in requests.items():
            t0 = time.perf_counter()
            r.infer(feeds)
            times[k].append(1e3 * (time.perf_counter() - t0))
    return times


def profile(compiled, feeds: dict) -> list[tuple[str, float]]:
    """(layer type, ms) of one inference, largest first (needs PERF_COUNT)."""
    request = compiled.create_infer_request()
    request.infer(feeds)
    request.infer(feeds)
    per_type: dict[str, float] = defaultdict(float)
    for info in request.profiling_info:
        per_type[info.node_type] += info.real_time.total_seconds() * 1e3
    return sorted(per_type.items(), key=lambda kv: -kv[1])


# ----------------------------------------------------------------------------- main
def find_extension(given: Path | None) -> Path:
    """--extension, else the package's locator, else this checkout's build/cpp."""
    if given is not None:
        return given
    try:
        return openvino_extension_path()
    except BackendUnavailableError:
        dev = Path(__file__).resolve().parents[1] / "build" / "cpp" / openvino_extension_name()
        if dev.is_file():
            return dev
        raise


def _cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def check_same(compiled: dict, feeds: dict, precision: str) -> str:
    """Per custom graph: max|diff| of its outputs against the standard graph's (f32), or
    their worst cosine."""
    outs = {k: c(feeds) for k, c in compiled.items()}
    names = [port.get_any_name() for port in next(iter(compiled.values())).outputs]
    std = outs["standard"]
    parts = []
    for k, out in outs.items():
        if k == "standard":
            continue
        if precision == "f32":
            parts.append(f"{k} {max(float(np.abs(out[n] - std[n]).max()) for n in names):.2g}")
        else:
            parts.append(f"{k} cos {min(_cosine(out[n], std[n]) for n in names):.4f}")
    return ", ".join(parts)


def report(name: str, times: dict[str, list[float]], err: str) -> None:
    med = {k: statistics.median(v) for k, v in times.items()}
    cells = "".join(f" {med[k]:10.2f}" for k in GRAPHS if k in med)
    ratios = "".join(f" {med['standard'] / med[k]:8.2f}x" for k in GRAPHS
                     if k in med and k != "standard")
    print(f"{name:<22}{cells}{ratios}   {err}", flush=True)


def run_graphs(core, name, paths, feeds, args, calib_feeds=None) -> None:
    models = ({k: quantize(p, calib_feeds) for k, p in paths.items()}
              if args.precision == "int8" else paths)
    compiled = {k: compile_model(core, m, args.threads, args.profile, args.precision)
                for k, m in models.items()}
    report(name, time_pair(compiled, feeds, args.runs, args.warmup),
           check_same(compiled, feeds, args.precision))
    if args.profile:
        for k, c in compiled.items():
            top = ", ".join(f"{t} {ms:.1f}" for t, ms in profile(c, feeds)[:8])
            print(f"    {k:<9} ms by layer type: {top}", flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=448, help="input size (multiple of 32)")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2, help="INFERENCE_NUM_THREADS")
    p.add_argument("--precision", choices=("f32", "bf16", "int8"), default="f32",
                   help="f32 / bf16: INFERENCE_PRECISION_HINT; int8: both graphs quantized "
                   "by NNCF (see the module docstring)")
    p.add_argument("--calib", type=int, default=4, help="calibration feeds for --precision int8")
    p.add_argument("--extension", type=Path, default=None)
    p.add_argument("--blocks", type=int, nargs="*", default=[0, 1, 2, 3])
    p.add_argument("--graphs", nargs="+", choices=list(GRAPHS), default=list(GRAPHS),
                   help="graphs to time (standard is always timed: the ratios' base)")
    p.add_argument("--skip-backbone", action="store_true")
    p.add_argument("--profile", action="store_true", help="print ms per layer type")
    p.add_argument("--workdir", type=Path, default=None, help="keep the ONNX files here")
    p.add_argument("--reuse", action="store_true",
                   help="reuse ONNX files already in --workdir (same model: seed 0)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    extension = find_extension(args.extension)
    core = ov.Core()
    core.add_extension(str(extension))
    model = make_model()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_deform_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"argus_base {args.size}x{args.size}, batch 1, OpenVINO {ov.__version__} "
          f"{args.precision}, "
          f"{args.threads} threads, {args.runs} runs (median ms); extension {extension}")
    graphs = ["standard", *(g for g in GRAPHS if g in args.graphs and g != "standard")]
    print(f"{'graph':<22}" + "".join(f" {g:>10}" for g in graphs)
          + "".join(f" {'std/' + g:>9}" for g in graphs[1:])
          + f"   {'max|diff|' if args.precision == 'f32' else 'agreement'}", flush=True)
    feeds = block_inputs(args.size, model.cfg.vit.embed_dim)
    calib = [block_inputs(args.size, model.cfg.vit.embed_dim, seed=10 + i)
             for i in range(args.calib)]
    for i in args.blocks:
        paths = {g: work / f"block{i}_{g}_{args.size}.onnx" for g in graphs}
        for g, p in paths.items():
            if not (args.reuse and p.exists()):
                export_block(model, i, args.size, g, p, feeds)
        run_graphs(core, f"interaction block {i}", paths, feeds, args, calib)
    if not args.skip_backbone:
        paths = {g: work / f"backbone_{g}_{args.size}.onnx" for g in graphs}
        for g, p in paths.items():
            if not (args.reuse and p.exists()):
                export_backbone(model, (args.size, args.size), p, deform=GRAPHS[g])
        feeds, *calib = [image_inputs(model, args.size, seed) for seed in range(2, 3 + args.calib)]
        run_graphs(core, "backbone", paths, feeds, args, calib)
    return 0


if __name__ == "__main__":
    sys.exit(main())
