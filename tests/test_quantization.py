"""INT8 calibration workflow: image loading, ORT QDQ / NNCF quantization, the float-kept
rules, sensitivity ranking, the accuracy gate and its reports, the CLI.

The graphs are tiny torch modules exported with the dynamo exporter (opset 18) that hold
the op kinds of the Argus graphs: Conv, GroupNorm (InstanceNormalization), LayerNorm,
attention (MatMul + Softmax) and a deformable-attention block (sampling-offset and
attention-weight projections, GridSample), plus a prediction conv. Thresholds: INT8 vs
FP32 cosine >= 0.99 on every output (measured: >= 0.9998).
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from PIL import Image  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from argus_edge import ImageError, InvalidArgumentError  # noqa: E402
from argus_edge.export.quantization import (  # noqa: E402
    BackendResult,
    Gate,
    QuantizationResult,
    check_gate,
    default_float_nodes,
    feeds_for_graphs,
    layer_sensitivity,
    load_calibration_images,
    metric_direction,
    metric_drops,
    parse_max_drop,
    plot_sensitivity,
    quantize_graphs,
    quantize_onnxruntime,
    write_reports,
)
from argus_edge.export.quantization._runners import OrtRunner, collect_outputs, error_stats  # noqa: E402
from argus_edge.export.quantize import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SIZE = 32
FLOAT_OPS = ("LayerNormalization", "Softmax", "GridSample")


class TinyDeform(nn.Module):
    """Conv stem + GroupNorm, self-attention, one deformable-attention block, a head conv."""

    def __init__(self, d: int = 16, heads: int = 2, points: int = 4) -> None:
        super().__init__()
        self.h, self.p = heads, points
        self.stem = nn.Conv2d(3, d, 3, stride=4, padding=1)
        self.gn = nn.GroupNorm(4, d)
        self.norm = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.value_proj = nn.Linear(d, d)
        self.sampling_offsets = nn.Linear(d, heads * points * 2)
        self.attention_weights = nn.Linear(d, heads * points)
        self.output_proj = nn.Linear(d, d)
        self.cls_pred = nn.Conv2d(d, 5, 1)

    def forward(self, images: torch.Tensor):
        x = F.gelu(self.gn(self.stem(images)))
        b, c, hh, ww = x.shape
        t = self.norm(x.flatten(2).transpose(1, 2))
        q, k, v = self.qkv(t).chunk(3, -1)
        t = t + torch.softmax(q @ k.transpose(1, 2) / c ** 0.5, -1) @ v
        value = self.value_proj(t).transpose(1, 2).reshape(b * self.h, c // self.h, hh, ww)
        offsets = self.sampling_offsets(t).view(b, -1, self.h, self.p, 2).tanh() * 0.5
        weights = torch.softmax(self.attention_weights(t).view(b, -1, self.h, self.p), -1)
        grid = offsets.permute(0, 2, 1, 3, 4).reshape(b * self.h, -1, self.p, 2)
        sampled = F.grid_sample(value, grid, mode="bilinear", padding_mode="zeros",
                                align_corners=False)
        weights = weights.permute(0, 2, 1, 3).reshape(b * self.h, 1, -1, self.p)
        out = (sampled * weights).sum(-1).view(b, c, -1).transpose(1, 2)
        fmap = (t + self.output_proj(out)).transpose(1, 2).reshape(b, c, hh, ww)
        return fmap, self.cls_pred(fmap)


class Outlier(nn.Module):
    """Three linears; fc2's input has one channel 1000x larger than the others (compensated
    in fc2's weight), the classic activation outlier that per-tensor INT8 cannot hold."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(16, 32), nn.Linear(32, 32), nn.Linear(32, 8)
        with torch.no_grad():
            self.fc1.weight[0] *= 1000.0
            self.fc1.bias[0] *= 1000.0
            self.fc2.weight[:, 0] /= 1000.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc3(F.gelu(self.fc2(self.fc1(x))))


class TinyConvFFN(nn.Module):
    """The ViT-Adapter extractor's FFN on multi-level tokens (B, N, C): LayerNorm → fc1 →
    per-level depthwise 3×3 on the token maps → GELU → fc2."""

    levels = ((8, 8), (4, 4), (2, 2))

    def __init__(self, d: int = 32, hidden: int = 16) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, hidden)
        self.dwconv = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.fc1(self.norm(tokens))
        b, _, c = x.shape
        maps = x.split([h * w for h, w in self.levels], dim=1)
        x = torch.cat([self.dwconv(m.transpose(1, 2).reshape(b, c, h, w)).flatten(2).transpose(1, 2)
                       for m, (h, w) in zip(maps, self.levels)], dim=1)
        return self.fc2(F.gelu(x))


def _export(module: nn.Module, example: torch.Tensor, path: Path, outputs: list[str]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.export's own deprecations
        torch.onnx.export(module.eval(), (example,), str(path), dynamo=True, opset_version=18,
                          input_names=["images"], output_names=outputs, external_data=False,
                          verbose=False)
    return path


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return _export(TinyDeform(), torch.randn(1, 3, SIZE, SIZE),
                   tmp_path_factory.mktemp("graphs") / "tiny.onnx", ["feat", "logits"])


@pytest.fixture(scope="module")
def outlier_onnx(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return _export(Outlier(), torch.randn(1, 10, 16),
                   tmp_path_factory.mktemp("graphs") / "outlier.onnx", ["out"])


def _write_images(folder: Path, n: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        sub = folder / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        ext = (".png", ".jpg", ".bmp", ".webp")[i % 4]
        pixels = (rng.random((24 + i, 30, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(sub / f"img{i:02d}{ext}")
        paths.append(sub / f"img{i:02d}{ext}")
    return paths


@pytest.fixture(scope="module")
def calib_dir(tmp_path_factory) -> Path:
    from skimage import data

    folder = tmp_path_factory.mktemp("calib")
    _write_images(folder, 7)
    Image.fromarray(data.astronaut()).save(folder / "astronaut.png")
    return folder


@pytest.fixture(scope="module")
def tiny_feeds(tiny_onnx, calib_dir):
    images = load_calibration_images(calib_dir, progress=False)
    return list(feeds_for_graphs({"tiny": tiny_onnx}, images)["tiny"])


def _cosines(fp32_path, int8_runner, feeds) -> dict[str, float]:
    ref = collect_outputs(OrtRunner(fp32_path), feeds)
    out = collect_outputs(int8_runner, feeds)
    return {k: error_stats(ref[k], out[k])["cosine"] for k in ref}


# ----------------------------------------------------------------------------- calibration
def test_loader_recursive_sorted_deterministic_subset(calib_dir):
    everything = load_calibration_images(calib_dir, progress=False)
    assert len(everything) == 8 and {p.path.suffix for p in everything} >= {".png", ".jpg", ".bmp", ".webp"}
    assert [im.path for im in everything] == sorted(im.path for im in everything)
    first = load_calibration_images(calib_dir, 3, seed=1, progress=False)
    again = load_calibration_images(calib_dir, 3, seed=1, progress=False)
    other = load_calibration_images(calib_dir, 3, seed=2, progress=False)
    assert [im.path for im in first] == [im.path for im in again] != [im.path for im in other]
    assert all(im.pixels.dtype == np.uint8 and im.pixels.shape[2] == 3 for im in first)


def test_loader_errors(tmp_path):
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        load_calibration_images(tmp_path / "missing", progress=False)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(ImageError, match="no calibration images"):
        load_calibration_images(tmp_path / "empty", progress=False)
    with pytest.raises(InvalidArgumentError, match=">= 1"):
        load_calibration_images(tmp_path / "empty", 0, progress=False)


def test_loader_corrupt_files(tmp_path):
    good = _write_images(tmp_path, 2)
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 definitely not a jpeg")
    with pytest.warns(UserWarning, match="broken.jpg"):
        images = load_calibration_images(tmp_path, progress=False)
    assert sorted(im.path for im in images) == sorted(good)
    with pytest.raises(ImageError, match="broken.jpg"):
        load_calibration_images(tmp_path, skip_unreadable=False, progress=False)
    for path in good:
        path.unlink()
    with pytest.warns(UserWarning), pytest.raises(ImageError, match="none of the 1"):
        load_calibration_images(tmp_path, progress=False)


def test_feeds_preprocess_and_vit_rescale(tmp_path):
    from argus_edge import preprocess
    from argus_edge._core import resize_bilinear
    from argus_edge.export.quantization import image_feeds

    pixels = (np.random.default_rng(0).random((40, 50, 3)) * 255).astype(np.uint8)
    feed = image_feeds([pixels], {"images": [1, 3, 64, 64], "vit_images": [1, 3, 56, 56]})[0]
    tensor, _ = preprocess(pixels, (64, 64))
    np.testing.assert_array_equal(feed["images"][0], tensor)
    np.testing.assert_allclose(feed["vit_images"][0], resize_bilinear(tensor, (56, 56)))
    with pytest.raises(InvalidArgumentError, match="fixed H and W"):
        image_feeds([pixels], {"images": [1, 3, "h", "w"]})


def test_head_feeds_come_from_the_backbone_of_matching_size():
    from argus_edge.export.quantization import graph_feeds

    pixels = np.zeros((20, 20, 3), np.uint8)
    inputs = {"backbone_32x32": {"images": [1, 3, 32, 32]},
              "backbone_64x32": {"images": [1, 3, 64, 32]},
              "det_32x32": {"f4": ["batch", 8, 8, 8]}, "pose_64x32": {"f4": ["batch", 8, 16, 8]}}
    outputs = {"backbone_32x32": {"f4": ["batch", 8, 8, 8]},
               "backbone_64x32": {"f4": ["batch", 8, 16, 8]}, "det_32x32": {}, "pose_64x32": {}}

    def run_fp32(graph, feed):
        return {"f4": np.full((1, 8, feed["images"].shape[2] // 4, 8), len(graph), np.float32)}

    feeds = graph_feeds(inputs, [pixels], run_fp32, outputs)
    assert feeds["det_32x32"][0]["f4"].shape == (1, 8, 8, 8)
    assert feeds["pose_64x32"][0]["f4"].shape == (1, 8, 16, 8)
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        graph_feeds({**inputs, "x": {"f4": ["batch", 8, "h", "w"]}}, [pixels], run_fp32,
                    {**outputs, "x": {}})


# ----------------------------------------------------------------------------- float-kept
@pytest.mark.parametrize("metadata", [True, False])
def test_default_float_nodes_by_parameters_not_node_names(tiny_onnx, metadata):
    model = onnx.load(str(tiny_onnx))
    for node in model.graph.node if not metadata else []:  # graphs.py strips node metadata
        del node.metadata_props[:]
    reasons = default_float_nodes(model)
    by_op = {}
    for node in model.graph.node:
        by_op.setdefault(node.op_type, []).append(node.name)
    assert all(reasons[n].startswith("op type") for op in FLOAT_OPS for n in by_op[op])
    matched = " ".join(v for v in reasons.values() if "parameter" in v)
    for pattern in ("sampling_offsets", "attention_weights", "cls_pred"):
        assert pattern in matched
    assert sum("parameter" in v for v in reasons.values()) == 3


# ----------------------------------------------------------------------------- ORT QDQ
@pytest.mark.onnxruntime
@pytest.mark.parametrize("flavour", ["onnxruntime", "tensorrt"])
def test_onnxruntime_qdq(tiny_onnx, tiny_feeds, tmp_path, flavour):
    out = quantize_onnxruntime(tiny_onnx, tmp_path / "q.onnx", tiny_feeds, flavour=flavour)
    cosines = _cosines(tiny_onnx, OrtRunner(out), tiny_feeds)
    assert min(cosines.values()) >= 0.99, cosines
    model = onnx.load(str(out))
    producer = {o: n for n in model.graph.node for o in n.output}
    assert sum(n.op_type == "QuantizeLinear" for n in model.graph.node) >= 4
    keep = default_float_nodes(onnx.load(str(tiny_onnx)))
    for node in model.graph.node:
        if node.op_type in FLOAT_OPS or node.name in keep:
            kinds = {producer[i].op_type for i in node.input if i in producer}
            assert not kinds & {"QuantizeLinear", "DequantizeLinear"}, (node.name, kinds)
    zero_points = [onnx.numpy_helper.to_array(t) for t in model.graph.initializer
                   if t.name.endswith("zero_point")]
    if flavour == "tensorrt":
        # int8 activations and weights, int32 biases: every zero point 0 (symmetric)
        assert zero_points and all(not z.any() for z in zero_points)
        assert {z.dtype for z in zero_points} <= {np.dtype(np.int8), np.dtype(np.int32)}


# ----------------------------------------------------------------------------- NNCF
@pytest.mark.openvino
def test_openvino_nncf(tiny_onnx, tiny_feeds, tmp_path):
    from argus_edge.export.quantization import quantize_openvino, save_ir
    from argus_edge.export.quantization._runners import OvRunner

    quantized = quantize_openvino(tiny_onnx, tiny_feeds)
    xml = save_ir(quantized, tmp_path / "tiny_int8.xml")
    assert xml.is_file() and xml.with_suffix(".bin").is_file()
    fq = [op for op in quantized.get_ordered_ops() if op.get_type_name() == "FakeQuantize"]
    assert fq
    fed = {t.get_node().get_friendly_name() for op in fq for o in op.outputs()
           for t in o.get_target_inputs()}
    keep = [n for n, why in default_float_nodes(onnx.load(str(tiny_onnx))).items()
            if "parameter" in why or "Softmax" in why or "GridSample" in why]
    assert len(keep) == 6 and not any(f == k or f.startswith(k + "/") for f in fed for k in keep)
    cosines = _cosines(tiny_onnx, OvRunner(xml), tiny_feeds)
    assert min(cosines.values()) >= 0.99, cosines


def _activation_range_shapes(model) -> list[tuple[int, ...]]:
    """Shapes of the input-range constants of the FakeQuantizes on activations."""
    fq = [op for op in model.get_ordered_ops() if op.get_type_name() == "FakeQuantize"]
    return [tuple(op.input_value(1).get_node().get_output_shape(0)) for op in fq
            if op.input_value(0).get_node().get_type_name() != "Constant"]


@pytest.mark.openvino
def test_openvino_activations_are_per_tensor_on_token_ffns(tmp_path):
    """NNCF's CPU config allows per-channel activation quantizers for depthwise convs; on
    the ConvFFN it puts one on fc1's (B, N, C) output with its axis 1 = the tokens: ranges
    (1, N, 1). On the trained argus_tiny the CPU plugin mis-executed that after SmoothQuant
    (backbone cosine 0.65-0.80, docs/quantization.md): activations must be per tensor."""
    from argus_edge.export.quantization import quantize_openvino
    from argus_edge.export.quantization._runners import OvRunner

    torch.manual_seed(0)
    n = sum(h * w for h, w in TinyConvFFN.levels)
    path = _export(TinyConvFFN(), torch.randn(1, n, 32), tmp_path / "ffn.onnx", ["out"])
    rng = np.random.default_rng(0)
    feeds = [{"images": (3 * rng.standard_normal((1, n, 32))).astype(np.float32)}
             for _ in range(8)]
    per_token = _activation_range_shapes(
        quantize_openvino(path, feeds, per_channel_activations=True))
    assert (1, n, 1) in per_token, per_token  # what the default guards against
    quantized = quantize_openvino(path, feeds)
    shapes = _activation_range_shapes(quantized)
    assert shapes and all(all(d == 1 for d in s) for s in shapes), shapes
    ref, out = OvRunner(path), OvRunner(quantized)
    cosine = error_stats([ref.run(f)["out"] for f in feeds], [out.run(f)["out"] for f in feeds])
    assert cosine["cosine"] >= 0.99, cosine


class TinyAttention(nn.Module):
    """One self-attention block: q/k/v projections, softmax attention, output projection."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.attn(x, x, x, need_weights=False)[0])


@pytest.mark.openvino
def test_openvino_keeps_attention_float_and_quantizes_the_projections(tmp_path):
    """The CPU plugin computes attention in float: no FakeQuantize may feed it (they only
    cost f32 FakeQuantize + Reorder nodes), while the Linear layers stay INT8; the IR
    records how many operations the rule kept float."""
    from argus_edge.export.quantization import quantize_openvino
    from argus_edge.export.quantization._runners import OvRunner
    from argus_edge.export.quantization.cpu_float import cpu_float_ops
    from argus_edge.export.quantization.openvino_ptq import to_openvino

    torch.manual_seed(0)
    path = _export(TinyAttention(), torch.randn(1, 20, 32), tmp_path / "attn.onnx", ["out"])
    rng = np.random.default_rng(0)
    feeds = [{"images": rng.standard_normal((1, 20, 32)).astype(np.float32)} for _ in range(4)]
    attention = cpu_float_ops(to_openvino(path))["attention"]
    assert attention  # SDPA, or the two activation MatMuls
    quantized = quantize_openvino(path, feeds)

    def fed_by_fake_quantize(op) -> bool:
        return any(v.get_node().get_type_name() == "FakeQuantize" for v in op.input_values())

    ops = {op.get_friendly_name(): op for op in quantized.get_ordered_ops()}
    assert not any(fed_by_fake_quantize(ops[n]) for n in attention if n in ops)
    assert any(op.get_type_name() == "FakeQuantize" for op in ops.values())  # projections
    assert int(quantized.get_rt_info(["argus", "cpu_float", "attention"]).astype(str)) == \
        len(attention)
    ref, out = OvRunner(path), OvRunner(quantized)
    cosine = error_stats([ref.run(f)["out"] for f in feeds], [out.run(f)["out"] for f in feeds])
    assert cosine["cosine"] >= 0.99, cosine


# ----------------------------------------------------------------------------- sensitivity
def test_sensitivity_ranks_the_outlier_layer_first(outlier_onnx, tmp_path):
    rng = np.random.default_rng(0)
    feeds = [{"images": rng.standard_normal((1, 10, 16)).astype(np.float32)} for _ in range(8)]
    ranking = layer_sensitivity(outlier_onnx, feeds, graph="outlier", progress=False)
    assert ranking[0].module.startswith("fc2"), [(r.module, r.score) for r in ranking]
    assert ranking[0].score > 10 * ranking[1].score
    png = plot_sensitivity(ranking, tmp_path / "s.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ----------------------------------------------------------------------------- gate + report
def _fake_evaluate(tiny_onnx, feed):
    reference = OrtRunner(tiny_onnx).run(feed)

    def evaluate(runner):
        out = runner.run("tiny", feed)
        cos = error_stats([reference["logits"]], [out["logits"]])["cosine"]
        return {"det": {"AP": 0.5 * cos}, "depth": {"RMSE": 2.0 - cos}}

    return evaluate


def test_gate_restores_sensitive_layers_until_it_passes(tiny_onnx, tiny_feeds, tmp_path):
    gate = Gate(min_cosine=0.99, max_drop={"*": 0.0}, max_rounds=3, layers_per_round=3)
    result = quantize_graphs({"tiny": tiny_onnx}, {"tiny": tiny_feeds}, ["onnxruntime"], gate,
                             tmp_path, _fake_evaluate(tiny_onnx, tiny_feeds[0]), progress=False)
    backend = result.backends["onnxruntime"]
    assert result.passed and backend.passed and len(backend.rounds) == 3
    restored = [f for f in backend.float_layers if f.reason == "gate"]
    assert [f.round for f in restored] == [1, 1, 1, 2, 2, 2]
    ranked = [r.layer for r in result.sensitivity["tiny"] if r.default_float is None]
    assert [f.layer for f in restored] == ranked
    assert all("drop" in f.detail and f.score is not None for f in restored)
    drops = {(d.task, d.metric): d for d in backend.drops}
    assert drops["depth", "RMSE"].direction == "lower" and drops["det", "AP"].direction == "higher"
    assert all(d.drop == 0.0 and d.passed for d in backend.drops)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["passed"] and report["fp32_metrics"]["det"]["AP"] == pytest.approx(0.5)
    gate_layers = [f for f in report["backends"]["onnxruntime"]["float_layers"] if f["reason"] == "gate"]
    assert [f["layer"] for f in gate_layers] == ranked
    md = (tmp_path / "report.md").read_text()
    for text in ("| det | AP | higher |", "| depth | RMSE | lower |", "sampling_offsets",
                 "sensitivity/tiny.png", "| gate |"):
        assert text in md, text
    assert (tmp_path / "sensitivity" / "tiny.png").is_file()
    assert (tmp_path / "onnxruntime" / "tiny.onnx").is_file()


def test_gate_parsing_and_directions():
    assert parse_max_drop("det=0.02, sem=0.03,depth.rmse=0.5,default=0.01") == {
        "det": 0.02, "sem": 0.03, "depth.rmse": 0.5, "*": 0.01}
    gate = Gate(max_drop=parse_max_drop("det=0.02,depth.rmse=0.5,*=0.01"))
    assert (gate.limit("det", "AP"), gate.limit("depth", "rmse"), gate.limit("cls", "top1")) == (
        0.02, 0.5, 0.01)
    assert Gate().limit("det", "AP") is None
    for bad in ("det", "det=-1", "det=x"):
        with pytest.raises(InvalidArgumentError, match="max-drop"):
            parse_max_drop(bad)
    assert [metric_direction(m) for m in ("AP", "mIoU", "AbsRel", "rmse", "mean_angle_error",
                                          "RMSElog", "delta1")] == [
        "higher", "higher", "lower", "lower", "lower", "lower", "higher"]
    assert metric_direction("AP", {"AP": "lower"}) == "lower"


def test_nan_metrics_are_not_applicable_never_gated(tmp_path):
    nan = float("nan")
    fp32 = {"det": {"box_AP": 0.5, "box_APl": nan, "box_APm": 0.4}}
    int8 = {"det": {"box_AP": 0.49, "box_APl": nan, "box_APm": nan}}
    drops = {d.metric: d for d in metric_drops(fp32, int8, Gate(max_drop={"*": 0.05}))}
    assert drops["box_AP"].drop == pytest.approx(0.01) and drops["box_AP"].passed
    assert drops["box_APl"].drop is None and drops["box_APl"].passed is None  # undefined in FP32
    # defined in FP32, NaN in INT8: INT8 lost it
    assert drops["box_APm"].drop == float("inf") and drops["box_APm"].passed is False
    verdict = check_gate(Gate(max_drop={"*": 0.05}), [], [drops["box_AP"], drops["box_APl"]])
    assert verdict.passed

    backend = BackendResult("openvino", passed=True, drops=list(drops.values()), int8_metrics=int8)
    result = QuantizationResult({"openvino": backend}, Gate(), fp32_metrics=fp32)
    json_path, md_path = write_reports(result, tmp_path)

    def reject(constant):
        raise ValueError(f"not strict JSON: {constant}")

    report = json.loads(json_path.read_text(), parse_constant=reject)
    rows = {d["metric"]: d for d in report["backends"]["openvino"]["drops"]}
    assert rows["box_APl"]["drop"] is None and rows["box_APl"]["passed"] is None
    assert rows["box_APl"]["fp32"] is None and report["fp32_metrics"]["det"]["box_APl"] is None
    md = md_path.read_text()
    assert "| det | box_APl | higher | n/a | n/a | n/a |" in md and "inf | 0.05 | FAIL" in md
    assert "nan" not in md.lower().replace("n/a", "")


# ----------------------------------------------------------------------------- CLI
def test_cli_gate_that_cannot_pass_exits_4_with_report(tiny_onnx, calib_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["--graphs", f"tiny={tiny_onnx}", "--calib-dir", str(calib_dir), "--num-calib", "6",
                 "--backend", "tensorrt", "--min-cosine", "1.0", "--max-rounds", "1",
                 "--layers-per-round", "1", "--out", str(out), "--quiet"])
    assert code == 4
    report = json.loads((out / "report.json").read_text())
    backend = report["backends"]["tensorrt"]
    assert not report["passed"] and len(backend["rounds"]) == 2
    assert [f["round"] for f in backend["float_layers"] if f["reason"] == "gate"] == [1]
    assert "FAILED" in (out / "report.md").read_text()
    assert "tensorrt: FAILED" in capsys.readouterr().out


def test_cli_user_errors_are_one_line(tiny_onnx, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    cases = [
        ["--graphs", f"tiny={tiny_onnx}", "--calib-dir", str(tmp_path / "empty")],
        ["--checkpoint", str(tmp_path / "x.safetensors"), "--calib-dir", str(tmp_path)],
        ["--graphs", f"tiny={tiny_onnx}", "--calib-dir", str(tmp_path), "--max-drop", "det=0.1"],
        ["--graphs", f"tiny={tiny_onnx}", "--calib-dir", str(tmp_path), "--backend", "tflite"],
    ]
    for args in cases:
        assert main([*args, "--out", str(tmp_path / "out"), "--quiet"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_cli_runs_as_a_file():
    proc = subprocess.run([sys.executable, str(ROOT / "export" / "quantize.py"), "--help"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--calib-dir" in proc.stdout and "--max-drop" in proc.stdout


def test_int8_registry_follows_the_backend_registry(tmp_path):
    from argus_edge import backends
    from argus_edge.export import quantization
    from argus_edge.export.quantization import int8_backends

    names = int8_backends.names()
    assert names == tuple(n for n in backends.names() if n in names)
    assert quantization.BACKENDS == names
    assert quantization.FLAVOURS == tuple(int8_backends.qdq_flavours())
    # the variant names of existing bundles and docs; each variant's backend is its name
    assert {n: int8_backends.get(n).variant for n in names} == {
        "openvino": "openvino-int8", "onnxruntime": "onnxruntime-int8",
        "tensorrt": "tensorrt-qdq"}
    for n in names:
        entry, files = int8_backends.get(n).variant_entry("g", tmp_path / "g.xml")
        assert entry["backend"] == n and entry["precision"] == "int8"
        assert set(entry["blobs"].values()) == set(files)
    with pytest.raises(InvalidArgumentError, match="tflite"):
        int8_backends.get("tflite")
    with pytest.raises(InvalidArgumentError):
        int8_backends.register_int8_backend(int8_backends.get(names[0]))


# ----------------------------------------------------------------------------- argus_tiny
@pytest.mark.slow
@pytest.mark.openvino
def test_argus_tiny_backbone_and_det_head(tmp_path):
    """The real graphs (export/graphs.py): deformable projections and prediction convs are
    found by their parameters and kept float; both backends pass a 0.99 cosine gate."""
    import dataclasses

    from skimage import data

    from argus_edge.export import export_backbone, export_head
    from argus_edge.training.heads import DetHeadConfig
    from argus_edge.training.models import PRESETS, Argus
    from argus_edge.export.deform_op import spread_deform_init
    from argus_edge.training.models.layers import MSDeformAttn

    cfg = dataclasses.replace(PRESETS["argus_tiny"],
                              heads={"det": DetHeadConfig(num_classes=3, channels=32)})
    torch.manual_seed(0)
    model = Argus(cfg).eval()
    spread_deform_init(model)  # the zero init would hide the offsets
    graphs = {"backbone": tmp_path / "backbone.onnx", "det": tmp_path / "det.onnx"}
    export_backbone(model, (64, 64), graphs["backbone"])
    export_head(model, "det", (64, 64), graphs["det"])
    reasons = default_float_nodes(onnx.load(str(graphs["backbone"])))
    deform = [r for r in reasons.values() if "sampling_offsets" in r or "attention_weights" in r]
    n_attn = sum(isinstance(m, MSDeformAttn) for m in model.modules())
    assert len(deform) == 2 * n_attn
    det = default_float_nodes(onnx.load(str(graphs["det"])))
    assert sum("cls_pred" in r for r in det.values()) == sum("box_pred" in r for r in det.values()) == 3
    images = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    feeds = feeds_for_graphs(graphs, images)
    result = quantize_graphs(graphs, feeds, ["onnxruntime", "openvino"], Gate(min_cosine=0.99),
                             tmp_path / "out", sensitivity_samples=2, progress=False)
    assert result.passed, {b: r.rounds[-1].failures for b, r in result.backends.items()}
    assert all(o.cosine >= 0.99 for b in result.backends.values() for o in b.outputs)
