"""Glue between bundles and the quantization pipeline (``export/quantize.py``).

- :func:`fp32_graphs`: the FP32 ONNX graphs of a checkpoint (exported to an FP32 bundle
  first) or of an FP32 bundle, as files named after the bundle's graphs;
- :func:`make_evaluator`: the training code's task evaluators (COCO AP, mIoU, top-1,
  depth errors, keypoint AP) run on a set of exported graphs;
- :func:`write_int8_bundles`: one INT8 bundle per backend that passed the accuracy gate
  (the others only when asked), each variant recording its gate, with the calibration
  summary and the accuracy report in its provenance.

The graphs quantized are each graph's FP32 ONNX variant, :func:`fp32_onnx_variant`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from argus_edge import backends
from argus_edge._errors import BundleError
from argus_edge._jsonutil import json_safe
from argus_edge.bundle import Bundle, write_bundle

from .bundle_export import ExportOptions, export_bundle
from .graph_model import GraphModel
from .quantization import int8_backends


def fp32_onnx_variant() -> str:
    """The name of the FP32 ONNX variant (``onnx-fp32``): fp32, of the backend whose
    variants are plain ONNX files (variant prefix ``onnx``)."""
    return backends.variant_name(backends.by_variant_prefix("onnx").name, "fp32")


def task_sizes_from_config(config: Path) -> dict[str, tuple[int, int]]:
    """The input size each task of a training config is evaluated at."""
    from ..training.engine.config import load_train_config
    from ..training.tasks import DEFAULT_SIZES
    cfg = load_train_config(config)
    return {t: tuple(tc.input_size or DEFAULT_SIZES.get(t, cfg.input_size))
            for t, tc in cfg.tasks.items()}


def fp32_graphs(source: Path, kind: str, work: Path, fp32_bundle: Path,
                task_sizes: Mapping[str, tuple[int, int]] | None = None,
                deform: str = "standard") -> dict[str, Path]:
    """``{graph name: FP32 ONNX file}`` of a checkpoint or an FP32 bundle.

    A checkpoint is first exported to ``fp32_bundle`` (the :func:`fp32_onnx_variant`; the
    image tasks at ``task_sizes`` when given; the deformable attention as ``deform``:
    ``custom`` keeps the fused node, which only INT8 backends with ``custom_ops``
    quantize). A bundle's graphs are quantized as they are. The fused graph, if any, is
    not quantized.

    Raises:
        BundleError: a graph has no :func:`fp32_onnx_variant` to quantize from.
    """
    variant = fp32_onnx_variant()
    if kind == "checkpoint":
        export_bundle(source, fp32_bundle, ExportOptions(
            variants=(variant,), task_sizes=dict(task_sizes or {}), deform=deform))
    graphs = {}
    with Bundle(fp32_bundle) as b:
        for name, g in b.graphs.items():
            if g["role"] == "fused":
                continue
            if variant not in g["variants"]:
                raise BundleError(f"{fp32_bundle}: graph {name!r} has no {variant} variant "
                                  f"to quantize from (it has {sorted(g['variants'])})")
            graphs[name] = b.blob_to_file(g["variants"][variant]["blobs"]["model"],
                                          work / f"{name}.onnx")
    return graphs


def make_evaluator(val_config: Path, fp32_bundle: Path, max_images: int = 100):
    """``evaluate(graph_set_runner) -> {task: metrics}`` over the config's validation sets.

    Each task is evaluated at the size its graph was exported at; tasks the bundle lacks
    or the config gives no validation set for are left out.
    """
    from ..training.engine.config import load_train_config
    from ..training.tasks import build_runners
    cfg = load_train_config(val_config)
    with Bundle(fp32_bundle) as b:
        tasks = dict(b.tasks)
        model_cfg = b.manifest["model"]["config"]
    runners = {t: r for t, r in build_runners(cfg).items()
               if t in tasks and r.val_dataset is not None}
    from ..training.models import ArgusConfig
    config = ArgusConfig.from_dict(model_cfg)

    def evaluate(graph_set) -> dict[str, dict[str, float]]:
        model = GraphModel(graph_set.run, tasks, config)
        return {t: r.evaluate(model, torch.device("cpu"), max_images) for t, r in runners.items()}

    return evaluate


def write_int8_bundles(result, fp32_bundle: Path, out_dir: Path, num_images: int,
                       allow_failed_gate: bool = False) -> dict[str, Path]:
    """One ``<model>.<variant>.engine`` per backend of ``result`` that passed the gate
    (``variant``: the INT8 backend's, :mod:`.quantization.int8_backends`).

    Each holds the INT8 variant of every quantized graph (the fused graph is dropped);
    every variant records the gate's verdict (``"gate": {"passed", "detail", "report"}``,
    which libargus's Session enforces), and ``provenance.calibration`` the images used,
    the gate, the layers kept in float and why, and the per-task metric drops; the full
    ``report.json`` is stored as a blob. The bundles keep the FP32 bundle's format version.

    A backend that failed the gate gets no bundle unless ``allow_failed_gate``: then its
    bundle is named ``<model>.<variant>.gate-failed.engine`` and the Session refuses it
    unless told to accept it.
    """
    out = {}
    with Bundle(fp32_bundle) as src:
        manifest = json.loads(json.dumps(src.manifest))
        fp32_sha = src.sha256
    report = Path(result.report_json) if result.report_json else None
    for backend, res in result.backends.items():
        if not res.passed and not allow_failed_gate:
            continue
        int8 = int8_backends.get(backend)
        gate = {"passed": bool(res.passed), "detail": _gate_detail(res)}
        if report is not None:
            gate["report"] = "quantization_report.json"
        m = json.loads(json.dumps(manifest))
        m.pop("blobs", None)
        blobs: dict[str, Any] = {}
        m["graphs"] = {}
        for name, g in manifest["graphs"].items():
            if name not in res.artifacts:
                continue
            entry, files = int8.variant_entry(name, Path(res.artifacts[name]))
            m["graphs"][name] = dict(g, variants={int8.variant: dict(entry, gate=gate)})
            blobs.update(files)
        m["provenance"]["calibration"] = json_safe(_summary(res, result, num_images, backend))
        m["provenance"]["fp32_bundle_sha256"] = fp32_sha
        if report is not None:
            blobs["quantization_report.json"] = report
            m["provenance"]["calibration"]["report_blob"] = "quantization_report.json"
        suffix = "" if res.passed else ".gate-failed"
        path = out_dir / f"{manifest['model']['name']}.{int8.variant}{suffix}.engine"
        out[backend] = write_bundle(path, m, blobs, version=tuple(manifest["format_version"]))
    return out


def _gate_detail(res) -> str:
    """The gate's verdict in one line: what failed in the last round, or what passed."""
    if not res.rounds:
        return "not checked"
    last = res.rounds[-1]
    if last.passed:
        worst = min(last.min_cosine.values(), default=None)
        return f"passed in round {last.round}" + (
            "" if worst is None else f", min output cosine {worst:.4f}")
    failures = "; ".join(last.failures[:3]) + ("; ..." if len(last.failures) > 3 else "")
    return f"failed after {len(res.rounds)} round(s): {failures}"


def _summary(res, result, num_images: int, backend: str) -> dict[str, Any]:
    return {
        "backend": backend,
        "images": num_images,
        "passed_gate": res.passed,
        "gate": {"min_cosine": result.gate.min_cosine, "max_drop": dict(result.gate.max_drop)},
        "rounds": len(res.rounds),
        "float_layers": [{"graph": f.graph, "layer": f.layer, "reason": f.reason,
                          "detail": f.detail} for f in res.float_layers if f.reason == "gate"],
        "default_float_layers": sum(f.reason == "default" for f in res.float_layers),
        "min_cosine": min((o.cosine for o in res.outputs), default=None),
        "metric_drops": [{"task": d.task, "metric": d.metric, "fp32": d.fp32, "int8": d.int8,
                          "drop": d.drop} for d in res.drops],
    }
