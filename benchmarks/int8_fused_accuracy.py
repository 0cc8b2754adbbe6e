"""INT8 accuracy of the two ways to export the deformable attention, same model, same run.

The model (default: the packaged, trained ``argus_tiny_synthetic``) is exported as an
FP32 bundle with ``deform="standard"`` (GridSample and friends), ``deform="custom"``
(``ai.argus::MSDeformSample`` nodes, the projections around them standard ops) and, with
``--legacy``, ``deform="custom-v1"`` (the fused ``ai.argus::ScaledDeformAttn`` of
argus-edge 0.2, whose projections stay float), and each is quantized by the
product pipeline (``export/quantize.py``'s: the OpenVINO NNCF backend, the default
float-kept policy, no restore rounds) on the same calibration photos. Printed: every graph
output's INT8-vs-FP32 cosine (each against its own FP32 graph: ONNX Runtime for the
standard export, OpenVINO f32 with the extension for the custom one) on held-out photos,
and the gate verdict. Photos: scikit-image's samples and their mirror images.

Usage::

    python benchmarks/int8_fused_accuracy.py [--checkpoint CKPT] [--calib 8] [--val 4]
        [--tasks sem cls det] [--legacy] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from argus_edge.export.bench._prepare import calibration_images
from argus_edge.export.bundle_export import ExportOptions, export_bundle
from argus_edge.export.int8_bundle import fp32_graphs, fp32_onnx_variant
from argus_edge.export.quantization import Gate, feeds_for_graphs, quantize_graphs

PACKAGED = Path(__file__).resolve().parents[1] / "python/argus_edge/models/argus_tiny_synthetic.safetensors"


def quantize(checkpoint: Path, tasks, deform: str, calib: int, val: int, work: Path):
    """The pipeline's result for one export of ``checkpoint``."""
    work.mkdir(parents=True, exist_ok=True)
    bundle = export_bundle(checkpoint, work / "fp32.engine", ExportOptions(
        tasks=list(tasks), variants=(fp32_onnx_variant(),), deform=deform))
    (work / "onnx").mkdir(exist_ok=True)
    graphs = fp32_graphs(bundle, "bundle", work / "onnx", bundle)
    photos = calibration_images(calib + val)
    feeds = feeds_for_graphs(graphs, photos[:calib])
    held_out = feeds_for_graphs(graphs, photos[calib:])
    return quantize_graphs(graphs, feeds, ["openvino"], Gate(max_rounds=0), work / "out",
                           validation_inputs=held_out, progress=False)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, default=PACKAGED)
    p.add_argument("--tasks", nargs="+", default=["sem", "cls", "det"])
    p.add_argument("--calib", type=int, default=8)
    p.add_argument("--val", type=int, default=4)
    p.add_argument("--legacy", action="store_true",
                   help="also the legacy fused node (deform='custom-v1')")
    p.add_argument("--workdir", type=Path)
    args = p.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="int8_fused_"))
    modes = ("standard", "custom", *(("custom-v1",) if args.legacy else ()))
    results = {d: quantize(args.checkpoint, args.tasks, d, args.calib, args.val, work / d)
               for d in modes}
    print(f"{args.checkpoint.name}, {args.calib} calibration / {args.val} held-out photos, "
          f"OpenVINO NNCF INT8 vs each export's FP32")
    print(f"{'graph output':<28}" + "".join(f" {d:>10}" for d in modes))
    rows = {}
    for deform, result in results.items():
        for o in result.backends["openvino"].outputs:
            graph = o.graph.split("_")[0]
            rows.setdefault(f"{graph}/{o.output}", {})[deform] = o.cosine
    for name, cos in rows.items():
        print(f"{name:<28}" + "".join(f" {cos.get(d, float('nan')):10.5f}" for d in modes))
    for deform, result in results.items():
        print(f"gate (cosine >= {result.gate.min_cosine}), {deform}: "
              f"{'passed' if result.passed else 'FAILED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
