"""Checkpoint → ``*.engine`` bundle: every graph the runtime needs, in one file.

The backbone is exported once per distinct input size (the dense tasks share one; pose
runs on person crops of its own size), each head as its own graph, so the runtime runs
the backbone once and only the heads asked for. Each graph is stored for the requested
backends: ONNX (ONNX Runtime, and the source of everything else), OpenVINO IR (FP32 or
FP16-compressed). The manifest records what the runtime needs besides the graphs:
preprocessing, class and keypoint names, post-processing settings and provenance.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from argus_edge import __version__
from argus_edge._extensions import openvino_extension_path
from argus_edge._errors import InvalidArgumentError
from argus_edge.bundle import write_bundle

from ..training.models import Argus
from ._source import load_source
from .graphs import GraphInfo, export_backbone, export_fused, export_head

#: Backend variants a bundle can carry, by the name used on the command line.
VARIANTS = ("onnx-fp32", "openvino-fp32", "openvino-fp16")
_DEFAULT_VARIANTS = ("onnx-fp32", "openvino-fp32")


@dataclass(frozen=True)
class ExportOptions:
    """What to put in a bundle.

    Attributes:
        tasks: the heads to export (default: every head of the model).
        input_size: (H, W) of the image tasks (default: the model's ``input_size``).
        variants: backend variants of every graph (see :data:`VARIANTS`).
        deform: ``standard`` (GridSample etc., runs everywhere) or ``custom`` (one
            ``ai.argus::ScaledDeformAttn`` node per injector/extractor; needs the
            runtime's extension).
        fused: also store one single graph image → every head (``fused_<H>x<W>``).
        task_sizes: per-task input size overrides (e.g. the sizes a training config
            evaluates at); pose defaults to its head's crop size.
    """

    tasks: Sequence[str] | None = None
    input_size: tuple[int, int] | None = None
    variants: Sequence[str] = _DEFAULT_VARIANTS
    deform: str = "standard"
    fused: bool = False
    task_sizes: Mapping[str, tuple[int, int]] = field(default_factory=dict)


def export_bundle(source: str | Path | Argus, out: str | Path,
                  options: ExportOptions | None = None) -> Path:
    """Export a checkpoint (or an in-memory model) to a bundle file.

    Args:
        source: an Argus checkpoint (``.safetensors``) or a model.
        out: the bundle path (``*.engine``); written atomically.
        options: what to export.

    Returns:
        The bundle path.

    Raises:
        InvalidArgumentError: unknown task or variant, bad input size.
        CheckpointError: the checkpoint cannot be read.
    """
    options = options or ExportOptions()
    model, ckpt_sha = load_source(source)
    tasks = _check_options(model, options)
    sizes = {t: tuple(options.task_sizes.get(t) or task_input_size(model, t, options.input_size))
             for t in tasks}
    with tempfile.TemporaryDirectory(prefix="argus_export_") as tmp:
        work = Path(tmp)
        graphs, blobs = {}, {}
        for size in dict.fromkeys(sizes.values()):
            name = f"backbone_{size[0]}x{size[1]}"
            info = export_backbone(model, size, work / f"{name}.onnx", deform=options.deform)
            graphs[name] = _graph_entry("backbone", None, size, info, options.deform)
            blobs.update(_variants(graphs[name], work / f"{name}.onnx", name, options.variants, work))
        for t in tasks:
            name = f"{t}_{sizes[t][0]}x{sizes[t][1]}"
            info = export_head(model, t, sizes[t], work / f"{name}.onnx")
            graphs[name] = _graph_entry("head", t, sizes[t], info, None)
            blobs.update(_variants(graphs[name], work / f"{name}.onnx", name, options.variants, work))
        if options.fused:
            fused_tasks = [t for t in tasks if sizes[t] == sizes[tasks[0]]]
            size = sizes[tasks[0]]
            name = f"fused_{size[0]}x{size[1]}"
            info = export_fused(model, fused_tasks, size, work / f"{name}.onnx",
                                deform=options.deform)
            graphs[name] = _graph_entry("fused", None, size, info, options.deform)
            graphs[name]["tasks"] = fused_tasks
            blobs.update(_variants(graphs[name], work / f"{name}.onnx", name, options.variants, work))
        manifest = build_manifest(model, tasks, sizes, graphs, ckpt_sha)
        return write_bundle(out, manifest, blobs)


def task_input_size(model: Argus, task: str, image_size: tuple[int, int] | None) -> tuple[int, int]:
    """The graph input size of ``task``: pose runs on person crops of its own size."""
    hcfg = model.cfg.heads[task]
    if task == "pose":
        return tuple(int(v) for v in hcfg.input_size)
    return tuple(int(v) for v in (image_size or model.cfg.input_size))


def build_manifest(model: Argus, tasks: Sequence[str], sizes: dict[str, tuple[int, int]],
                   graphs: dict[str, dict], checkpoint_sha256: str | None) -> dict[str, Any]:
    """The bundle manifest (the schema is documented in docs/bundle_format.md)."""
    cfg = model.cfg
    return {
        "format": "argus-engine",
        "format_version": [1, 0],
        "sdk_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": {"name": cfg.name, "config": cfg.to_dict(),
                  "parameters": model.num_parameters()},
        "preprocess": {"color": "RGB", "mean": list(cfg.mean), "std": list(cfg.std),
                       "resize": "letterbox", "pad": "mean",
                       "vit_scale": [cfg.vit.patch_size, cfg.adapter_stride],
                       "vit_resize": "bilinear-antialias"},
        "graphs": graphs,
        "tasks": {t: _task_entry(model, t, sizes[t]) for t in tasks},
        "provenance": {"checkpoint_sha256": checkpoint_sha256, "calibration": None,
                       "torch_version": torch.__version__},
    }


# ---------------------------------------------------------------------------- helpers
def _check_options(model: Argus, options: ExportOptions) -> list[str]:
    tasks = list(options.tasks) if options.tasks else model.tasks
    unknown = [t for t in tasks if t not in model.heads]
    if unknown:
        raise InvalidArgumentError(f"the model has no head for {unknown}; it has {model.tasks}")
    if not tasks:
        raise InvalidArgumentError("the model has no heads to export")
    bad = [v for v in options.variants if v not in VARIANTS]
    if bad or not options.variants:
        raise InvalidArgumentError(f"unknown backend variant(s) {bad}; choose from {VARIANTS}")
    if options.deform not in ("standard", "custom"):
        raise InvalidArgumentError(f"deform must be 'standard' or 'custom', got {options.deform!r}")
    return tasks


def _graph_entry(role: str, task: str | None, size: tuple[int, int], info: GraphInfo,
                 deform: str | None) -> dict[str, Any]:
    entry = {"role": role, "input_size": list(size), **info.to_dict(), "variants": {}}
    entry.pop("name", None)
    if task:
        entry["task"] = task
    if deform:
        entry["deform"] = deform
    return entry


def _variants(entry: dict, onnx_path: Path, name: str, variants: Iterable[str],
              work: Path) -> dict[str, Path]:
    """Adds the requested variants of one graph to ``entry``; returns their blobs."""
    blobs: dict[str, Path] = {}
    for variant in variants:
        if variant == "onnx-fp32":
            blob = f"{name}.fp32.onnx"
            blobs[blob] = onnx_path
            entry["variants"][variant] = {"backend": "onnxruntime", "precision": "fp32",
                                          "blobs": {"model": blob}}
        else:
            from .openvino_ir import to_openvino
            precision = variant.split("-")[1]
            # ai.argus custom nodes convert (and later load) through libargus's extension.
            extensions = [openvino_extension_path()] if entry.get("custom_ops") else []
            xml, bin_ = to_openvino(onnx_path, work / f"{name}.{precision}.xml",
                                    compress_to_fp16=precision == "fp16",
                                    extensions=extensions)
            blobs[Path(xml).name], blobs[Path(bin_).name] = Path(xml), Path(bin_)
            entry["variants"][variant] = {"backend": "openvino", "precision": precision,
                                          "blobs": {"xml": Path(xml).name,
                                                    "bin": Path(bin_).name}}
    return blobs


def _task_entry(model: Argus, task: str, size: tuple[int, int]) -> dict[str, Any]:
    head, hcfg = model.heads[task], model.cfg.heads[task]
    entry: dict[str, Any] = {"graph": f"{task}_{size[0]}x{size[1]}",
                             "backbone": f"backbone_{size[0]}x{size[1]}",
                             "input_size": list(size), "outputs": head.output_names()}
    names = getattr(hcfg, "class_names", ())
    if hasattr(hcfg, "num_classes"):
        entry["classes"] = list(names) or [str(i) for i in range(hcfg.num_classes)]
    if task in ("det", "inst"):
        entry["postprocess"] = {**head.postprocess_params(), "strides": list(hcfg.strides)}
    elif task == "cls":
        entry["postprocess"] = {"topk": min(5, hcfg.num_classes)}
    elif task == "sem":
        entry["postprocess"] = {"resize": "bilinear", "ignore_index": 255}
    elif task == "depth":
        entry["postprocess"] = {"max_depth": float(hcfg.max_depth), "unit": "m",
                                "resize": "bilinear"}
    elif task == "pose":
        entry.update({"keypoints": list(hcfg.keypoint_names),
                      "skeleton": [list(p) for p in hcfg.skeleton],
                      "flip_pairs": [list(p) for p in hcfg.flip_pairs]})
        entry["postprocess"] = {"heatmap_size": list(hcfg.heatmap_size), "box_padding": 1.25,
                                "codec": "udp", "refine": "dark",
                                "blur_kernel": int(hcfg.blur_kernel), "flip_test": True,
                                "person_source": "det", "person_class": "person"}
    return entry


def main(argv: list[str] | None = None, args: argparse.Namespace | None = None) -> int:
    """``argus-edge export``."""
    if args is None:
        from argus_edge._cli_args import add_export_arguments
        args = add_export_arguments(argparse.ArgumentParser(prog="export")).parse_args(argv)
    options = ExportOptions(tasks=args.tasks, input_size=tuple(args.input_size or ()) or None,
                            variants=[v.strip() for v in args.variants.split(",") if v.strip()],
                            deform=args.deform, fused=args.fused)
    path = export_bundle(args.checkpoint, args.out, options)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return 0
