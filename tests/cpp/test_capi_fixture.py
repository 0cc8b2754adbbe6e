"""CTest fixture of the C API tests: a tiny random Argus model exported to an OpenVINO
FP32 bundle, an 80x60 raw RGB image (seeded noise plus a bright rectangle), and
toy.engine: the same bundle plus two tasks of decoder kinds no build has, which
tests/cpp/test_decoder_registry.cpp registers at run time ("toy": kind "toy_logits" on
the cls head; "counter": kind "toy_count", which needs "det").

The bundle is pytest's tiny_bundle (the same model, exported once for both and for every
build directory: tests/_export_cache.py) without its ONNX variants.

Usage: python tests/cpp/test_capi_fixture.py OUT_DIR  (run from the repository root).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ for conftest


def main(out: Path) -> None:
    from _export_cache import cached_export, save_tiny_checkpoint
    from conftest import make_tiny_model, tiny_bundle_options

    out.mkdir(parents=True, exist_ok=True)
    checkpoint = save_tiny_checkpoint(make_tiny_model(), out / "tiny.safetensors")
    full = cached_export(checkpoint, out / "tiny.full.engine", tiny_bundle_options())
    write_variant_bundle(full, out / "tiny.engine", "openvino-fp32")
    full.unlink()
    write_toy_bundle(out / "tiny.engine", out / "toy.engine")
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(60, 80, 3), dtype=np.uint8)
    image[10:50, 20:45] = (230, 180, 140)
    (out / "image_80x60.rgb").write_bytes(image.tobytes())


def write_variant_bundle(bundle: Path, out: Path, variant: str) -> None:
    """``bundle`` with ``variant`` only: the other variants and their blobs dropped."""
    import json

    from argus_edge.bundle import read_bundle, write_bundle

    with read_bundle(bundle) as b:
        manifest = json.loads(json.dumps(b.manifest))
        for graph in manifest["graphs"].values():
            graph["variants"] = {variant: graph["variants"][variant]}
        kept = {name for g in manifest["graphs"].values()
                for name in g["variants"][variant]["blobs"].values()}
        blobs = {name: bytes(b.blob(name)) for name in b.blob_names() if name in kept}
        write_bundle(out.with_suffix(".tmp"), manifest, blobs,
                     version=tuple(manifest["format_version"]))
    out.with_suffix(".tmp").replace(out)


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
