"""``argus-edge validate``: every graph of a bundle against the PyTorch reference.

In the spirit of Polygraphy: each graph variant is run on sample inputs and compared,
output by output, with the PyTorch model it was exported from. Heads are fed the
reference backbone's features, so each graph's own error is measured, not the
accumulated error of the chain.

Tolerances (per output):

- FP32 variants: ``max|x - ref| ≤ 1e-4 · max(1, max|ref|)`` (≤ 1e-4 absolute on the
  backbone features, whose values are O(1); relative for large-valued outputs such as
  box distances in pixels). Backends that take a precision hint (OpenVINO) run them
  with ``f32``.
- FP16 variants: cosine similarity ≥ 0.999.
- INT8 variants: cosine similarity ≥ 0.99.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from argus_edge import backends, preprocess
from argus_edge._errors import BackendUnavailableError, CheckpointError
from argus_edge.bundle import Bundle
from argus_edge.runners import RunnerOptions, open_graph

from ..training.models import Argus
from ._source import load_source

FP32_RTOL = 1e-4
MIN_COSINE = {"fp16": 0.999, "int8": 0.99}


@dataclass(frozen=True)
class OutputCheck:
    """One output of one graph variant compared with PyTorch."""

    graph: str
    variant: str
    output: str
    max_abs: float
    ref_max_abs: float
    cosine: float
    limit: str
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ValidationReport:
    """Every compared output; :attr:`ok` when all are within tolerance."""

    checks: list[OutputCheck] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def to_markdown(self) -> str:
        rows = ["| graph | variant | output | max abs err | max abs ref | cosine | limit | ok |",
                "|---|---|---|---:|---:|---:|---|---|"]
        rows += [f"| {c.graph} | {c.variant} | {c.output} | {c.max_abs:.3g} | "
                 f"{c.ref_max_abs:.3g} | {c.cosine:.6f} | {c.limit} | "
                 f"{'yes' if c.ok else '**NO**'} |" for c in self.checks]
        rows += [f"\nskipped: {s}" for s in self.skipped]
        return "\n".join(rows)


def validate_bundle(bundle: str | Path | Bundle, checkpoint: str | Path | Argus,
                    variants: list[str] | None = None, seed: int = 0) -> ValidationReport:
    """Compare every graph variant of ``bundle`` with ``checkpoint``'s PyTorch model.

    Args:
        bundle: a bundle file or an open bundle.
        checkpoint: the checkpoint it was exported from (or the model itself).
        variants: only these variants (default: all; a variant whose engine is missing
            is reported as skipped).
        seed: seed of the random sample image (the second of the two samples).

    Raises:
        CheckpointError: the checkpoint is not the one the bundle was exported from.
    """
    b = bundle if isinstance(bundle, Bundle) else Bundle(bundle)
    model = _reference_model(b, checkpoint)
    report = ValidationReport()
    for name, graph in b.graphs.items():
        feeds, ref = _reference(model, graph, seed)
        for variant, spec in graph["variants"].items():
            if variants and variant not in variants:
                continue
            exact = spec["precision"] == "fp32" and backends.get(spec["backend"]).precision_hints
            hint = "f32" if exact else None
            try:
                runner = open_graph(b, name, variant, RunnerOptions(precision_hint=hint))
            except BackendUnavailableError as e:  # engine or custom-op kernel missing
                report.skipped.append(f"{name}/{variant}: {e}")
                continue
            out = runner.run(feeds)
            report.checks += [_compare(name, variant, k, out[k], ref[k], spec["precision"])
                              for k in ref]
    return report


# ---------------------------------------------------------------------------- helpers
def _reference_model(bundle: Bundle, checkpoint: str | Path | Argus) -> Argus:
    model, sha = load_source(checkpoint)
    expected = bundle.manifest.get("provenance", {}).get("checkpoint_sha256")
    if expected and sha and sha != expected:
        raise CheckpointError(f"{checkpoint} is not the checkpoint this bundle was exported "
                              f"from (its SHA-256 differs from the bundle's provenance)")
    return model


def sample_images(size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Two preprocessed (3, H, W) samples: a photo (scikit-image's astronaut, letterboxed)
    and uniform noise."""
    try:
        from skimage import data
        photo = data.astronaut()
    except ImportError:  # scikit-image is a training extra; fall back to a gradient
        photo = np.linspace(0, 255, 256 * 256 * 3).reshape(256, 256, 3).astype(np.uint8)
    noise = np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)
    return np.stack([preprocess(img, size=size)[0] for img in (photo, noise)])


@torch.no_grad()
def _reference(model: Argus, graph: dict, seed: int):
    size = tuple(graph["input_size"])
    images = torch.from_numpy(sample_images(size, seed))
    vit_images = model.vit_input(images)
    model.fix_input_size(*size)
    feats = model.forward_features(images, vit_images)
    names = ["f4", "f8", "f16", "f32"]
    if graph["role"] == "backbone":
        feeds = {"images": images, "vit_images": vit_images}
        ref = dict(zip(names, feats))
    elif graph["role"] == "head":
        feeds = dict(zip(names, feats))
        ref = model.heads[graph["task"]](feats)
    else:  # fused
        feeds = {"images": images, "vit_images": vit_images}
        ref = {f"{t}.{k}": v for t in graph["tasks"] for k, v in model.heads[t](feats).items()}
    wanted = [o["name"] for o in graph["outputs"]]
    return ({k: v.numpy() for k, v in feeds.items()},
            {k: ref[k].float().numpy() for k in wanted})


def _compare(graph: str, variant: str, output: str, x: np.ndarray, ref: np.ndarray,
             precision: str) -> OutputCheck:
    x, ref = np.asarray(x, np.float64), np.asarray(ref, np.float64)
    if x.shape != ref.shape:
        return OutputCheck(graph, variant, output, float("inf"), float(np.abs(ref).max(initial=0)),
                           0.0, f"shape {ref.shape}", False)
    err = float(np.abs(x - ref).max(initial=0.0))
    scale = float(np.abs(ref).max(initial=0.0))
    denom = np.linalg.norm(x) * np.linalg.norm(ref)
    cos = float((x.ravel() @ ref.ravel()) / denom) if denom > 0 else float(err == 0.0)
    if precision == "fp32":
        limit = FP32_RTOL * max(1.0, scale)
        return OutputCheck(graph, variant, output, err, scale, cos, f"max abs ≤ {limit:.2g}",
                           err <= limit)
    need = MIN_COSINE.get(precision, 0.99)
    return OutputCheck(graph, variant, output, err, scale, cos, f"cosine ≥ {need}", cos >= need)


def main(argv: list[str] | None = None, args: argparse.Namespace | None = None) -> int:
    """``argus-edge validate``: prints the comparison; exit 1 if any output fails."""
    if args is None:
        from argus_edge._cli_args import add_validate_arguments
        args = add_validate_arguments(argparse.ArgumentParser(prog="validate")).parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",")] if args.variants else None
    report = validate_bundle(args.bundle, args.checkpoint, variants=variants)
    print(report.to_markdown())
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"ok": report.ok, "checks": [c.to_dict() for c in report.checks],
             "skipped": report.skipped}, indent=2))
    failed = [c for c in report.checks if not c.ok]
    print(f"{len(report.checks) - len(failed)}/{len(report.checks)} outputs within tolerance"
          + (f"; {len(report.skipped)} variants skipped" if report.skipped else ""),
          file=sys.stderr)
    return 0 if report.ok else 1
