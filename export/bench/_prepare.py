"""Everything the timed processes load, made once: model, inputs, graphs, INT8, bundles.

- the model: a preset with default heads for the benchmarked tasks, random weights
  (speed does not depend on them; the deformable attention is made non-trivial), saved
  as a checkpoint for the PyTorch rows;
- the input: one photo (scikit-image's astronaut) resized to the input size, as the
  uint8 image the Session takes and as the preprocessed ``images`` / ``vit_images``;
- graphs: the backbone (standard-op deformable attention) and one graph per head,
  exported to ONNX FP32, then, per graph engine, its backend's variant: FP32 by the
  exporter's variant writer (:mod:`..variants`), INT8 by the backend's INT8 quantizer
  (:mod:`..quantization.int8_backends`) calibrated on a few photos;
- bundles for the Session: every task, deformable attention as the fused custom node,
  and one single-task bundle per task (its blobs copied from the full one).
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from argus_edge import Bundle, backends, preprocess, write_bundle

from ...training.heads import head_config_class
from ...training.models import PRESETS, Argus
from ..deform_op import spread_deform_init
from ..variants import write_variant
from ._matrix import Engine

if TYPE_CHECKING:
    from ..quantization.int8_backends import Int8Backend

__all__ = ["Prepared", "build_model", "calibration_images", "int8_quantizer", "loads",
           "prepare"]

_SESSION = "bundle"  # what Session engines load: the bundles

_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "cat", "immunohistochemistry")


@dataclass
class Prepared:
    """Paths the worker processes read, and what could not be made.

    Attributes:
        checkpoint: the model as an Argus checkpoint (PyTorch rows).
        inputs: ``.npz`` with ``images``, ``vit_images`` (1, 3, H, W) and ``image_u8``.
        graphs: graph variant (``onnx-fp32``, ``openvino-int8``, ...) → {``backbone`` |
            task: {blob role: file}}.
        bundles: ``all`` and each task → a Session bundle.
        unavailable: graph variant (or ``bundle``) → why it could not be made.
        seconds: what each preparation step took.
    """

    checkpoint: Path
    inputs: Path
    graphs: dict[str, dict[str, str]] = field(default_factory=dict)
    bundles: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def build_model(preset: str, size: int, tasks: Sequence[str], seed: int = 0) -> Argus:
    """``preset`` at ``size``×``size`` with each task's default head, random weights.

    Raises:
        KeyError: unknown preset.
    """
    heads = {t: head_config_class(t)() for t in tasks}
    cfg = dataclasses.replace(PRESETS[preset], input_size=(size, size), heads=heads)
    torch.manual_seed(seed)
    model = Argus(cfg).eval()
    spread_deform_init(model)  # the zero init would make every sampling offset zero
    return model


def calibration_images(count: int) -> list[np.ndarray]:
    """``count`` uint8 RGB photos (scikit-image's sample photos, then their mirror
    images); gradients and noise when scikit-image is not installed."""
    try:
        from skimage import data
        photos = [np.asarray(getattr(data, n)()) for n in _PHOTOS]
        photos = [p if p.ndim == 3 else np.repeat(p[..., None], 3, axis=2) for p in photos]
    except ImportError:
        rng = np.random.default_rng(0)
        photos = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(4)]
    pool = photos + [p[:, ::-1] for p in photos] + [p[::-1] for p in photos]
    return [np.ascontiguousarray(pool[i % len(pool)][..., :3]) for i in range(count)]


def _inputs(model: Argus, size: int, path: Path) -> Path:
    from PIL import Image

    from argus_edge._core import resize_bilinear

    photo = calibration_images(1)[0]
    image = np.asarray(Image.fromarray(photo).resize((size, size), Image.BILINEAR))
    tensor, _ = preprocess(image, size=(size, size))
    vit = resize_bilinear(tensor, model.cfg.vit_input_size(size, size))
    np.savez(path, images=tensor[None], vit_images=vit[None], image_u8=image)
    return path


def int8_quantizer(e: Engine) -> Int8Backend | None:
    """The INT8 quantizer of ``e``'s backend when ``e`` runs INT8 graphs, else None."""
    from ..quantization import int8_backends

    int8 = {b.name: b for b in int8_backends.all_backends()}.get(e.backend or "")
    return int8 if int8 is not None and e.graph_precision == int8.precision else None


def loads(e: Engine) -> str | None:
    """What engine ``e`` loads from :class:`Prepared`: a graph variant (``onnx-fp32``,
    ``openvino-int8``, ...), the Session's bundles (``bundle``; ``bundle-int8`` for its
    INT8 bundles), None for PyTorch."""
    if e.runtime == "session":
        return _SESSION + ("-int8" if e.graph_precision == "int8" else "")
    if e.backend is None or e.graph_precision is None:
        return None
    int8 = int8_quantizer(e)
    return int8.variant if int8 else backends.variant_name(e.backend, e.graph_precision)


def prepare(model: Argus, size: int, tasks: Sequence[str], engines: Sequence[Engine],
            calib: int, work: Path, log: Callable[[str], None]) -> Prepared:
    """Export, convert and quantize what ``engines`` need into ``work``.

    A step that fails (e.g. the Session bundle when the OpenVINO extension is missing)
    is recorded in :attr:`Prepared.unavailable`; its rows are reported as unavailable.
    """
    from argus_edge.training.checkpoint import save_checkpoint

    work.mkdir(parents=True, exist_ok=True)
    prepared = Prepared(checkpoint=save_checkpoint(model, work / "model.safetensors"),
                        inputs=_inputs(model, size, work / "inputs.npz"))
    graph_engines = {loads(e): e for e in engines if e.runtime == "graphs"}
    timer = _Timer(prepared.seconds, log)
    if graph_engines:
        with timer("export ONNX FP32 (backbone + heads)"):
            exported = _export_onnx(model, size, tasks, work / "exported")
    feeds = None
    for variant, e in graph_engines.items():
        int8 = int8_quantizer(e)
        if int8 is None:
            with timer(f"write {variant}"):
                prepared.graphs[variant] = _write_variant(exported, variant, work / variant)
            continue
        if feeds is None:
            with timer(f"calibration feeds ({calib} images)"):
                feeds = _calibration_feeds(exported, size, calib)
        with timer(f"quantize {variant}"):
            prepared.graphs[variant] = _quantize(exported, feeds, int8, work / variant)
    sessions = [e for e in engines if e.runtime == "session"]
    if sessions:
        _prepare_sessions(prepared, model, size, tasks, sessions, calib, work / "bundles",
                          timer, log)
    return prepared


def _prepare_sessions(prepared: Prepared, model: Argus, size: int, tasks: Sequence[str],
                      sessions: Sequence[Engine], calib: int, out: Path, timer: _Timer,
                      log: Callable[[str], None]) -> None:
    """The Session's bundles (deform="custom": MSDeformSample nodes): FP32, and INT8 made from it by
    the quantization pipeline when an INT8 Session engine is asked for. A step that fails
    makes its rows unavailable, with the reason."""
    variant = backends.variant_name(sessions[0].backend, "fp32")
    int8 = any(loads(e) == _SESSION + "-int8" for e in sessions)
    try:
        with timer("Session bundles (MSDeformSample nodes)"):
            prepared.bundles[_SESSION], full = _session_bundles(model, size, tasks, variant,
                                                                int8, out)
    except Exception as e:  # noqa: BLE001 - reported as the Session rows' reason
        for key in (_SESSION, _SESSION + "-int8"):
            prepared.unavailable[key] = f"bundle export failed: {type(e).__name__}: " \
                                        f"{_first_line(e)}"
        log(f"  Session rows unavailable: {prepared.unavailable[_SESSION]}")
        return
    if not int8:
        return
    try:
        with timer(f"Session INT8 bundles (quantization pipeline, {calib} images)"):
            prepared.bundles[_SESSION + "-int8"] = _session_int8_bundles(
                full, size, tasks, sessions[0].backend, calib, out / "int8")
    except Exception as e:  # noqa: BLE001 - reported as the INT8 Session rows' reason
        prepared.unavailable[_SESSION + "-int8"] = f"quantization failed: " \
                                                   f"{type(e).__name__}: {_first_line(e)}"
        log(f"  INT8 Session rows unavailable: {prepared.unavailable[_SESSION + '-int8']}")


# ----------------------------------------------------------------------------- steps
def _export_onnx(model: Argus, size: int, tasks: Sequence[str], out: Path) -> dict[str, str]:
    from ..graphs import export_backbone, export_head

    out.mkdir(parents=True, exist_ok=True)
    export_backbone(model, (size, size), out / "backbone.onnx")
    for t in tasks:
        export_head(model, t, (size, size), out / f"{t}.onnx")
    return {g: str(out / f"{g}.onnx") for g in ("backbone", *tasks)}


def _write_variant(onnx_graphs: dict[str, str], variant: str,
                   out: Path) -> dict[str, dict[str, str]]:
    """Each graph's ``variant`` by the exporter's writer: ``{graph: {role: file}}``."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for g, path in onnx_graphs.items():
        entry: dict = {"variants": {}}
        files = write_variant(variant, entry, Path(path), g, out)
        written[g] = {role: str(files[blob])
                      for role, blob in entry["variants"][variant]["blobs"].items()}
    return written


def _calibration_feeds(onnx_graphs: dict[str, str], size: int,
                       count: int) -> dict[str, list[dict[str, np.ndarray]]]:
    """Backbone feeds from the SDK's calibration preprocessing; head feeds are the FP32
    backbone's outputs on the same images (computed once, shared by every head)."""
    from ..quantization import feeds_for_graphs
    from ..quantization._runners import OrtRunner

    images = calibration_images(count)
    lazy = feeds_for_graphs({"backbone": onnx_graphs["backbone"]}, images,
                            input_size=(size, size))["backbone"]
    backbone_feeds = [lazy[i] for i in range(len(lazy))]
    runner = OrtRunner(onnx_graphs["backbone"])
    features = [runner.run(f) for f in backbone_feeds]
    return {g: backbone_feeds if g == "backbone" else features for g in onnx_graphs}


def _quantize(onnx_graphs: dict[str, str], feeds, int8: Int8Backend,
              out: Path) -> dict[str, dict[str, str]]:
    """Each graph quantized by an INT8 quantizer: ``{graph: {role: file}}``."""
    from ..quantization import Int8Job
    from ..quantization._graph import load_model

    quantized = {}
    for g, path in onnx_graphs.items():
        _, artifact = int8.quantize(Int8Job(g, load_model(path), feeds[g], out))
        entry, files = int8.variant_entry(g, artifact)
        quantized[g] = {role: str(files[blob]) for role, blob in entry["blobs"].items()}
    return quantized


def _session_bundles(model: Argus, size: int, tasks: Sequence[str], variant: str,
                     with_onnx: bool, out: Path) -> tuple[dict[str, str], Path]:
    """``({"all" | task: FP32 Session bundle}, the exported bundle)``. With ``with_onnx``
    the exported bundle also holds the custom-node ONNX graphs the quantizer reads; the
    Session's bundles hold ``variant`` only, as a deployment's would."""
    from ..bundle_export import ExportOptions, export_bundle
    from ..int8_bundle import fp32_onnx_variant

    out.mkdir(parents=True, exist_ok=True)
    variants = (variant, fp32_onnx_variant()) if with_onnx else (variant,)
    full = export_bundle(model, out / "exported.engine", ExportOptions(
        tasks=list(tasks), input_size=(size, size), variants=variants, deform="custom"))
    return _subsets(full, tasks, variant, out, ""), full


def _session_int8_bundles(full: Path, size: int, tasks: Sequence[str], backend: str,
                          calib: int, out: Path) -> dict[str, str]:
    """INT8 Session bundles by the quantization pipeline (``export/quantize.py``'s path):
    the custom-node graphs quantized by ``backend``'s INT8 quantizer on ``calib`` photos,
    under the default gate (output cosine ≥ 0.99, no restore rounds); a failed gate is
    recorded in the bundle (the row reports it), not hidden."""
    from ..int8_bundle import fp32_graphs, write_int8_bundles
    from ..quantization import Gate, feeds_for_graphs, int8_backends, quantize_graphs

    out.mkdir(parents=True, exist_ok=True)
    (out / "onnx").mkdir(exist_ok=True)
    graphs = fp32_graphs(full, "bundle", out / "onnx", full)
    images = calibration_images(calib)
    feeds = feeds_for_graphs(graphs, images, input_size=(size, size))
    result = quantize_graphs(graphs, feeds, [backend], Gate(max_rounds=0), out / "report",
                             progress=False)
    written = write_int8_bundles(result, full, out, len(images), allow_failed_gate=True)
    variant = int8_backends.get(backend).variant
    return _subsets(written[backend], tasks, variant, out, ".int8")


def _subsets(full: Path, tasks: Sequence[str], variant: str, out: Path,
             tag: str) -> dict[str, str]:
    """``{"all": every task, task: that task alone}``, each a bundle holding only
    ``variant``: the models a deployment running them would ship."""
    bundles = {"all": str(_subset_bundle(full, tasks, variant, out / f"all{tag}.engine",
                                         out / "blobs"))}
    for t in tasks:
        bundles[t] = str(_subset_bundle(full, (t,), variant, out / f"{t}{tag}.engine",
                                        out / "blobs"))
    return bundles


def _subset_bundle(full: Path, tasks: Sequence[str], variant: str, path: Path,
                   scratch: Path) -> Path:
    """The bundle ``full`` with only ``tasks`` (and their backbone) and ``variant``."""
    scratch.mkdir(parents=True, exist_ok=True)
    with Bundle(full) as b:
        manifest = dict(b.manifest)
        manifest["tasks"] = {t: manifest["tasks"][t] for t in tasks}
        keep = {g for e in manifest["tasks"].values() for g in (e["graph"], e.get("backbone"))}
        manifest["graphs"] = {k: dict(v, variants={variant: v["variants"][variant]})
                              for k, v in manifest["graphs"].items() if k in keep}
        names = {name for g in manifest["graphs"].values() for v in g["variants"].values()
                 for name in v["blobs"].values()}
        report = ((manifest.get("provenance") or {}).get("calibration") or {}).get("report_blob")
        names |= {report} if report else set()
        blobs = {n: b.blob_to_file(n, scratch / n) for n in names}
    return write_bundle(path, manifest, blobs, version=tuple(manifest["format_version"]))


# ----------------------------------------------------------------------------- helpers
class _Timer:
    """``with timer("step"):`` logs the step and records its duration."""

    def __init__(self, seconds: dict[str, float], log: Callable[[str], None]) -> None:
        self.seconds, self.log = seconds, log

    @contextlib.contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        self.log(f"[prepare] {step}...")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = round(time.perf_counter() - t0, 1)
            self.log(f"[prepare] {step}: {self.seconds[step]:.1f} s")


def _first_line(e: BaseException) -> str:
    """The last two non-empty lines of an error (converters put the cause last)."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return " ".join(lines[-2:])[:300]
