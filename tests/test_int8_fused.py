"""INT8 graphs that keep the deformable attention's custom node.

A bundle exported with ``deform="custom"`` (``ai.argus::MSDeformSample`` nodes) is
quantized by the INT8 backends that can (NNCF through libargus's OpenVINO extension): the
gate measures it against the FP32 custom-node graph run on the same extension, the INT8 IR
keeps the node (its kernel runs float; the attention's projections around it and
everything else are INT8), and the Session
runs it at ``precision="int8"``. Backends that cannot run the node are refused with a
clear error, and are left out of the default set for such graphs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("openvino")
pytest.importorskip("nncf")

from argus_edge import Session, read_bundle  # noqa: E402


@pytest.fixture(scope="module")
def custom_bundle(tiny_checkpoint, tmp_path_factory) -> Path:
    """The tiny model's sem task with the custom node, as ONNX (to quantize) and IR."""
    from argus_edge.export.bundle_export import ExportOptions, export_bundle

    return export_bundle(tiny_checkpoint, tmp_path_factory.mktemp("fused") / "custom.engine",
                         ExportOptions(tasks=("sem",), variants=("onnx-fp32", "openvino-fp32"),
                                       deform="custom"))


def _quantize(bundle: Path, calib: Path, out: Path, *extra: str) -> int:
    from argus_edge.export.quantize import main
    return main(["--bundle", str(bundle), "--calib-dir", str(calib), "--num-calib", "2",
                 "--max-rounds", "0", "--out", str(out), "--quiet", *extra])


@pytest.fixture(scope="module")
def int8_bundle(custom_bundle, calib_images, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fused_int8")
    assert _quantize(custom_bundle, calib_images, out) == 0  # default: openvino only
    (path,) = out.glob("*.engine")
    return path


def _image() -> np.ndarray:
    from skimage import data
    return np.ascontiguousarray(data.astronaut()[::4, ::4])


def test_int8_bundle_keeps_the_custom_node(int8_bundle, tmp_path):
    assert int8_bundle.name.endswith(".openvino-int8.engine")
    with read_bundle(int8_bundle) as b:
        (backbone,) = [g for g in b.graphs.values() if g["role"] == "backbone"]
        assert backbone["custom_ops"] == ["ai.argus::MSDeformSample"]
        variant = backbone["variants"]["openvino-int8"]
        assert variant["gate"]["passed"]
        xml_path = b.blob_to_file(variant["blobs"]["xml"], tmp_path / "backbone.xml")
        b.blob_to_file(variant["blobs"]["bin"], tmp_path / "backbone.bin")
        report = bytes(b.blob("quantization_report.json")).decode()
    xml = xml_path.read_text()
    assert 'type="MSDeformSample"' in xml and 'type="FakeQuantize"' in xml
    assert "run float inside their kernels" in report
    # the attention's output projection (fed by the node) is quantized: the node's output
    # reaches a FakeQuantize
    from argus_edge.export.quantization.openvino_ptq import to_openvino
    model = to_openvino(xml_path)
    nodes = [op for op in model.get_ops() if op.get_type_name() == "MSDeformSample"]
    consumers = {t.get_node().get_type_name() for n in nodes
                 for t in n.output(0).get_target_inputs()}
    assert "FakeQuantize" in consumers, consumers
    # the report reads the method back from the IR, custom node and all
    methods = json.loads(report)["backends"]["openvino"]["methods"]
    assert any(g.startswith("backbone") for g in methods)


def test_session_runs_int8_with_the_custom_kernel(int8_bundle, custom_bundle):
    image = _image()
    int8 = Session(int8_bundle, precision="int8")
    fp32 = Session(custom_bundle, backend="openvino")
    assert int8.precision == "int8" and int8.info["variant"] == "openvino-int8"
    a, b = int8.run(image, tasks=["sem"]).sem, fp32.run(image, tasks=["sem"]).sem
    assert a.labels.shape == b.labels.shape == image.shape[:2]
    # a random tiny model's logits are close to ties: most labels, not all, agree
    assert (a.labels == b.labels).mean() >= 0.9


def test_backends_without_the_kernel_are_refused(custom_bundle, calib_images, tmp_path, capsys):
    assert _quantize(custom_bundle, calib_images, tmp_path, "--backend", "onnxruntime") == 1
    err = capsys.readouterr().err
    assert "custom nodes" in err and "openvino" in err
    assert not list(tmp_path.rglob("*.engine"))
