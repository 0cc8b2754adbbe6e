"""Checkpoint → ``*.engine`` bundle: every graph the runtime needs, in one file.

The backbone is exported once per distinct input size (the dense tasks share one; pose
runs on person crops of its own size), each head as its own graph, so the runtime runs
the backbone once and only the heads asked for. Each graph is stored for the requested
backends: ONNX (ONNX Runtime, and the source of everything else), OpenVINO IR (FP32 or
FP16-compressed), see :mod:`.variants`. The manifest (format 1.1) records what the runtime
needs besides the graphs: preprocessing, and for each task the decoder kind its head
declares, the kind's parameters, the arrays it returns and what it needs from other
tasks; class names and provenance.
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
from argus_edge._bundle_format import LATEST_VERSION
from argus_edge._errors import InvalidArgumentError
from argus_edge._preprocess import _import_core
from argus_edge.bundle import write_bundle

from ..training.models import Argus
from ._source import load_source
from .graphs import DEFORM_MODES, GraphInfo, export_backbone, export_fused, export_head
from .variants import default_variants, variant_names, write_variant


@dataclass(frozen=True)
class ExportOptions:
    """What to put in a bundle.

    Attributes:
        tasks: the heads to export (default: every head of the model).
        input_size: (H, W) of the image tasks (default: the model's ``input_size``).
        variants: backend variants of every graph (see :func:`.variants.variant_names`;
            default :func:`.variants.default_variants`).
        deform: ``standard`` (GridSample etc., runs everywhere), ``custom`` (one
            ``ai.argus::MSDeformSample`` node per injector/extractor attention; needs the
            runtime's extension) or ``custom-v1`` (the legacy fused
            ``ai.argus::ScaledDeformAttn``; see :data:`.graphs.DEFORM_MODES`).
        fused: also store one single graph image → every head (``fused_<H>x<W>``).
        task_sizes: per-task input size overrides (e.g. the sizes a training config
            evaluates at); pose defaults to its head's crop size.
    """

    tasks: Sequence[str] | None = None
    input_size: tuple[int, int] | None = None
    variants: Sequence[str] = field(default_factory=default_variants)
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
        return write_bundle(out, manifest, blobs, version=LATEST_VERSION)


def task_input_size(model: Argus, task: str, image_size: tuple[int, int] | None) -> tuple[int, int]:
    """The graph input size of ``task``: the image size, or the head's own (crops)."""
    return model.heads[task].export_input_size(image_size or model.cfg.input_size)


def build_manifest(model: Argus, tasks: Sequence[str], sizes: dict[str, tuple[int, int]],
                   graphs: dict[str, dict], checkpoint_sha256: str | None) -> dict[str, Any]:
    """The bundle manifest (the schema is documented in docs/bundle_format.md)."""
    cfg = model.cfg
    return {
        "format": "argus-engine",
        "format_version": list(LATEST_VERSION),
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
    bad = [v for v in options.variants if v not in variant_names()]
    if bad or not options.variants:
        raise InvalidArgumentError(f"unknown backend variant(s) {bad}; choose from "
                                   f"{variant_names()}")
    if options.deform not in DEFORM_MODES:
        raise InvalidArgumentError(f"deform must be one of {DEFORM_MODES}, got "
                                   f"{options.deform!r}")
    for t in tasks:
        missing = [n["task"] for n in model.heads[t].runtime_entry().get("needs", ())
                   if n["task"] not in tasks]
        if missing:
            raise InvalidArgumentError(f"task {t!r} needs the results of {missing}: export "
                                       "them too (--tasks)")
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
        blobs.update(write_variant(variant, entry, onnx_path, name, work))
    return blobs


def _task_entry(model: Argus, task: str, size: tuple[int, int]) -> dict[str, Any]:
    """The task's manifest entry: the generic fields, then what its head declares."""
    head, hcfg = model.heads[task], model.cfg.heads[task]
    kinds = _import_core().decoder_kinds()
    if head.decoder_kind not in kinds:
        raise InvalidArgumentError(f"the {task!r} head's decoder kind {head.decoder_kind!r} is "
                                   f"not one this argus-edge runs ({sorted(kinds)})")
    entry: dict[str, Any] = {"kind": head.decoder_kind,
                             "graph": f"{task}_{size[0]}x{size[1]}",
                             "backbone": f"backbone_{size[0]}x{size[1]}",
                             "input_size": list(size), "outputs": head.output_names()}
    names = getattr(hcfg, "class_names", ())
    if hasattr(hcfg, "num_classes"):
        entry["classes"] = list(names) or [str(i) for i in range(hcfg.num_classes)]
    entry.update(head.runtime_entry())
    entry["results"] = list(kinds[head.decoder_kind])
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
