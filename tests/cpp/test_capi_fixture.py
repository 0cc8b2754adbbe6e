"""CTest fixture of the C API tests: a tiny random Argus model exported to an OpenVINO
FP32 bundle, an 80x60 raw RGB image (seeded noise plus a bright rectangle), and
toy.engine: the same bundle plus two tasks of decoder kinds no build has, which
tests/cpp/test_decoder_registry.cpp registers at run time ("toy": kind "toy_logits" on
the cls head; "counter": kind "toy_count", which needs "det").

Usage: python tests/cpp/test_capi_fixture.py OUT_DIR  (run from the repository root).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ for conftest


def main(out: Path) -> None:
    from argus_edge.export.bundle_export import ExportOptions, export_bundle
    from argus_edge.training.checkpoint import save_checkpoint
    from conftest import make_tiny_model

    out.mkdir(parents=True, exist_ok=True)
    bundle = out / "tiny.engine"
    if not bundle.exists():
        checkpoint = out / "tiny.safetensors"
        save_checkpoint(make_tiny_model(), checkpoint)
        export_bundle(checkpoint, out / "tiny.tmp.engine",
                      ExportOptions(variants=("openvino-fp32",)))
        (out / "tiny.tmp.engine").replace(bundle)
    toy = out / "toy.engine"
    if not toy.exists():
        write_toy_bundle(bundle, toy)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)
    image[10:50, 20:45] = (230, 180, 140)
    (out / "image_80x60.rgb").write_bytes(image.tobytes())


def write_toy_bundle(bundle: Path, out: Path) -> None:
    """``bundle`` plus the toy tasks (see the module docstring)."""
    import json

    from argus_edge.bundle import read_bundle, write_bundle

    with read_bundle(bundle) as b:
        manifest = json.loads(json.dumps(b.manifest))
        cls, det = manifest["tasks"]["cls"], manifest["tasks"]["det"]
        manifest["tasks"]["toy"] = {"kind": "toy_logits", "graph": cls["graph"],
                                    "backbone": cls["backbone"],
                                    "input_size": cls["input_size"]}
        manifest["tasks"]["counter"] = {"kind": "toy_count", "graph": det["graph"],
                                        "input_size": det["input_size"],
                                        "needs": [{"task": "det", "arrays": ["boxes"]}]}
        blobs = {name: bytes(b.blob(name)) for name in b.blob_names()}
        write_bundle(out.with_suffix(".tmp"), manifest, blobs,
                     version=tuple(manifest["format_version"]))
    out.with_suffix(".tmp").replace(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
