"""Checkpoint → bundle → reload → every graph against PyTorch (``argus-edge validate``).

Tolerances are :mod:`argus_edge.export.validate`'s: FP32 variants (ONNX Runtime, OpenVINO
with INFERENCE_PRECISION_HINT=f32) max abs error ≤ 1e-4 · max(1, max|ref|) per output;
FP16 cosine ≥ 0.999; INT8 cosine ≥ 0.99.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")

from conftest import TINY_IMAGE_SIZE, TINY_POSE_SIZE  # noqa: E402

from argus_edge import BundleError, CheckpointError, read_bundle  # noqa: E402
from argus_edge.cli import main as cli  # noqa: E402
from argus_edge.export.bundle_export import ExportOptions, export_bundle  # noqa: E402
from argus_edge.export.validate import validate_bundle  # noqa: E402
from argus_edge.runners import RunnerOptions, open_graph  # noqa: E402

TASKS = ("cls", "det", "inst", "sem", "pose", "depth")


def _size(hw) -> str:
    return f"{hw[0]}x{hw[1]}"


def test_bundle_holds_one_backbone_per_input_size_and_a_graph_per_head(tiny_bundle):
    with read_bundle(tiny_bundle) as b:
        graphs, tasks = b.graphs, b.tasks
        assert set(tasks) == set(TASKS)
        backbones = {n for n, g in graphs.items() if g["role"] == "backbone"}
        assert backbones == {f"backbone_{_size(TINY_IMAGE_SIZE)}",
                             f"backbone_{_size(TINY_POSE_SIZE)}"}
        for t, entry in tasks.items():
            size = TINY_POSE_SIZE if t == "pose" else TINY_IMAGE_SIZE
            assert entry["graph"] == f"{t}_{_size(size)}"
            assert entry["backbone"] == f"backbone_{_size(size)}"
            assert graphs[entry["graph"]]["task"] == t
            assert set(graphs[entry["graph"]]["variants"]) == {"onnx-fp32", "openvino-fp32"}
        assert tasks["det"]["classes"] == ["person", "x", "y"]
        assert tasks["det"]["postprocess"]["iou_threshold"] > 0
        assert len(tasks["pose"]["keypoints"]) == 17 and tasks["pose"]["skeleton"]
        assert b.manifest["preprocess"]["vit_scale"] == [14, 16]
        assert len(b.manifest["provenance"]["checkpoint_sha256"]) == 64


def test_every_graph_variant_matches_pytorch(tiny_bundle, tiny_checkpoint):
    report = validate_bundle(tiny_bundle, tiny_checkpoint)
    assert not report.skipped
    failed = [c for c in report.checks if not c.ok]
    assert not failed, report.to_markdown()
    with read_bundle(tiny_bundle) as b:
        expected = sum(len(g["outputs"]) * len(g["variants"]) for g in b.graphs.values())
    assert len(report.checks) == expected
    backbone = [c for c in report.checks if c.graph.startswith("backbone")]
    assert max(c.max_abs for c in backbone) <= 1e-4


def test_batch_dimension_is_dynamic(tiny_bundle):
    with read_bundle(tiny_bundle) as b:
        name = f"backbone_{_size(TINY_IMAGE_SIZE)}"
        vit = [i["shape"] for i in b.graphs[name]["inputs"] if i["name"] == "vit_images"][0]
        for variant in ("onnx-fp32", "openvino-fp32"):
            runner = open_graph(b, name, variant, RunnerOptions(precision_hint="f32"))
            for batch in (1, 3):
                feeds = {"images": np.zeros((batch, 3, *TINY_IMAGE_SIZE), np.float32),
                         "vit_images": np.zeros((batch, 3, *vit[2:]), np.float32)}
                assert runner.run(feeds)["f4"].shape[0] == batch


@pytest.mark.slow  # ~50 s; FP16 IR and fused-graph parity are also in test_export_graphs.py
def test_fp16_variant_and_fused_graph(tiny_checkpoint, tmp_path):
    path = export_bundle(tiny_checkpoint, tmp_path / "f16.engine", ExportOptions(
        tasks=("cls", "depth"), variants=("openvino-fp16",), fused=True))
    report = validate_bundle(path, tiny_checkpoint)
    assert report.ok, report.to_markdown()
    assert any(c.graph.startswith("fused_") and c.output == "depth.depth" or
               c.graph.startswith("fused_") and c.output.startswith("depth.")
               for c in report.checks)


def test_custom_deform_bundle_is_refused_by_engines_without_the_kernel(tiny_custom_bundle,
                                                                       tiny_checkpoint):
    path = tiny_custom_bundle
    with read_bundle(path) as b:
        graph = b.graphs[f"backbone_{_size(TINY_IMAGE_SIZE)}"]
        assert graph["custom_ops"] == ["ai.argus::MSDeformSample"]
    report = validate_bundle(path, tiny_checkpoint)
    assert any("MSDeformSample" in s for s in report.skipped)
    assert report.checks and all(c.ok for c in report.checks)  # the head still validates


@pytest.mark.openvino
def test_bundle_with_the_legacy_fused_node_still_runs(tiny_checkpoint, tiny_custom_bundle,
                                                      tmp_path):
    """Bundles of argus-edge 0.2 hold ai.argus::ScaledDeformAttn: the Session still runs
    them, with the numbers of the MSDeformSample bundle."""
    from skimage import data

    from argus_edge import Session
    from argus_edge._extensions import openvino_extension_path

    openvino_extension_path()  # the kernel is required here, not optional
    legacy = export_bundle(tiny_checkpoint, tmp_path / "legacy.engine", ExportOptions(
        tasks=("sem",), variants=("openvino-fp32",), deform="custom-v1"))
    with read_bundle(legacy) as b:
        (graph,) = [g for g in b.graphs.values() if g["role"] == "backbone"]
        assert graph["custom_ops"] == ["ai.argus::ScaledDeformAttn"]
    image = np.ascontiguousarray(data.astronaut()[::8, ::8])
    old = Session(legacy, backend="openvino").run(image, tasks=["sem"]).sem
    new = Session(tiny_custom_bundle, backend="openvino").run(image, tasks=["sem"]).sem
    assert (old.labels == new.labels).mean() >= 0.999


def test_flipped_bytes_anywhere_are_typed_errors(tiny_bundle, tmp_path, capsys):
    data = bytearray(tiny_bundle.read_bytes())
    with read_bundle(tiny_bundle) as b:
        blobs = b.blobs
    # header, manifest, padding before the first blob, each blob's first/middle byte, trailer
    offsets = {0, 9, 20, 40, 64, 100, blobs[0].offset - 1, len(data) - 1, len(data) - 40}
    offsets |= {x.offset + x.size // 2 for x in blobs} | {x.offset for x in blobs}
    for off in sorted(offsets):
        bad = bytearray(data)
        bad[off] ^= 0x5A
        target = tmp_path / "bad.engine"
        target.write_bytes(bytes(bad))
        with pytest.raises(BundleError):
            read_bundle(target)
        assert cli(["info", str(target)]) == 1
    assert "error" in capsys.readouterr().err


def test_cli_export_then_validate(tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "cli.engine"
    assert cli(["export", str(tiny_checkpoint), "-o", str(out), "--tasks", "det", "sem",
                "--variants", "onnx-fp32"]) == 0
    assert cli(["info", str(out), "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert set(manifest["tasks"]) == {"det", "sem"}
    report = tmp_path / "validate.json"
    assert cli(["validate", str(out), "--checkpoint", str(tiny_checkpoint),
                "--json", str(report)]) == 0
    assert json.loads(report.read_text())["ok"] is True


def test_validate_refuses_a_different_checkpoint(tiny_bundle, tmp_path, capsys):
    from conftest import make_tiny_model

    from argus_edge.training.checkpoint import save_checkpoint
    other = save_checkpoint(make_tiny_model(seed=1), tmp_path / "other.safetensors")
    with pytest.raises(CheckpointError, match="not the checkpoint"):
        validate_bundle(tiny_bundle, other)
    assert cli(["validate", str(tiny_bundle), "--checkpoint", str(other)]) == 1


def test_export_errors_are_typed(tiny_checkpoint, tmp_path):
    from argus_edge import InvalidArgumentError
    with pytest.raises(InvalidArgumentError, match="no head"):
        export_bundle(tiny_checkpoint, tmp_path / "x.engine", ExportOptions(tasks=("edge",)))
    with pytest.raises(InvalidArgumentError, match="variant"):
        export_bundle(tiny_checkpoint, tmp_path / "x.engine", ExportOptions(variants=("trt",)))
    with pytest.raises(FileNotFoundError):
        export_bundle(tmp_path / "missing.safetensors", tmp_path / "x.engine")
    assert not (tmp_path / "x.engine").exists()


def test_quantize_an_fp32_bundle_into_a_validated_int8_bundle(tiny_bundle, tiny_checkpoint,
                                                              tmp_path):
    """export/quantize.py --bundle: INT8 bundle per backend, calibration summary and the
    report inside, and every INT8 graph within cosine ≥ 0.99 of PyTorch (validate).

    The first round passes the gate, so no layer is restored and the per-layer
    sensitivity ranking (one quantization per layer of every graph: minutes) would go
    unused: ``--max-rounds 0`` skips it. test_quantization.py tests the ranking and the
    restore rounds on small graphs."""
    from PIL import Image
    from skimage import data

    from argus_edge.export.quantize import main as quantize
    calib = tmp_path / "calib"
    calib.mkdir()
    photo = data.astronaut()
    for i in range(6):
        Image.fromarray(np.ascontiguousarray(photo[i * 40:i * 40 + 200, i * 30:i * 30 + 260])
                        ).save(calib / f"{i}.png")
    out = tmp_path / "q"
    assert quantize(["--bundle", str(tiny_bundle), "--calib-dir", str(calib), "--num-calib", "6",
                     "--backend", "onnxruntime", "--max-rounds", "0",
                     "--out", str(out), "--quiet"]) == 0
    int8 = out / "argus_tiny.onnxruntime-int8.engine"
    with read_bundle(int8) as b:
        assert {v for g in b.graphs.values() for v in g["variants"]} == {"onnxruntime-int8"}
        cal = b.manifest["provenance"]["calibration"]
        assert cal["images"] == 6 and cal["passed_gate"] is True
        assert json.loads(bytes(b.blob(cal["report_blob"])))["passed"] is True
    report = validate_bundle(int8, tiny_checkpoint)
    assert report.ok, report.to_markdown()
    assert min(c.cosine for c in report.checks) >= 0.99
