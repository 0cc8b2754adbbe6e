"""ONNX graphs (backbone, heads, fused), the custom nodes (MSDeformSample, the legacy
ScaledDeformAttn), OpenVINO IR and the TensorRT entry points, each checked against the
PyTorch model.

Tolerances (float32 everywhere):
- feature maps f4..f32 (unit scale after GroupNorm): max abs error ≤ 1e-4;
- head outputs: max abs error ≤ 1e-4 · max(1, max |reference|), i.e. absolute for
  unit-scale outputs and relative for large-valued ones (box distances in pixels, depth);
- the custom-node graph run by ``onnx.reference.ReferenceEvaluator`` with the NumPy node:
  ≤ 1e-4 against PyTorch and against ONNX Runtime on the standard-op graph;
- the NumPy nodes alone against the PyTorch Injector / Extractor / MSDeformAttn: ≤ 1e-5;
- OpenVINO IR with INFERENCE_PRECISION_HINT=f32: ≤ 1e-4; FP16-compressed weights:
  cosine similarity ≥ 0.999 per map.
"""

from __future__ import annotations

import json
import shlex
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from conftest import TINY_IMAGE_SIZE, TINY_POSE_SIZE, make_tiny_model  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

from argus_edge import BackendUnavailableError, InvalidArgumentError, UnknownTaskError  # noqa: E402
from argus_edge.export import (  # noqa: E402
    GraphInfo,
    ScaledDeformAttnRef,
    build_engine,
    export_backbone,
    export_fused,
    export_head,
    scaled_deform_attn_numpy,
    trtexec_command,
)
from argus_edge.export.deform_op import scaled_deform_attn  # noqa: E402
from argus_edge.export.ms_deform_sample import (  # noqa: E402
    MSDeformSampleRef,
    ms_deform_sample,
    ms_deform_sample_numpy,
)
from argus_edge.training.models import Argus  # noqa: E402
from torch import nn  # noqa: E402
from argus_edge.training.models.adapter import Extractor, Injector, token_scale  # noqa: E402

# torch.export's own deprecation notice, raised inside torch (not by this code)
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")

SIZE = TINY_IMAGE_SIZE
POSE_SIZE = TINY_POSE_SIZE  # person crops: pose has its own input size
FEATURE_TOL = 1e-4
NODE_TOL = 1e-5
TASKS = ("cls", "det", "inst", "sem", "pose", "depth")
FUSED_TASKS = ("cls", "inst", "depth")  # fast test: wiring and naming; slow test: TASKS


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def model() -> Argus:
    """argus_tiny with all six heads, deformable attention and gamma made non-trivial."""
    return make_tiny_model()


@pytest.fixture(scope="module")
def inputs(model):
    """Batches of 1 and 3 images at SIZE with their 14/16-rescaled ViT inputs."""
    gen = torch.Generator().manual_seed(1)
    out = {}
    for b in (1, 3):
        images = torch.randn(b, 3, *SIZE, generator=gen)
        out[b] = {"images": images, "vit_images": model.vit_input(images)}
    return out


@pytest.fixture(scope="module")
def reference(model, inputs):
    with torch.no_grad():
        return {b: [f.numpy() for f in model.forward_features(**x)] for b, x in inputs.items()}


@pytest.fixture(scope="module")
def backbone(tiny_backbone_graphs):
    """The standard-op backbone (of conftest's tiny_model: the same weights as ``model``)."""
    path = tiny_backbone_graphs("standard")
    return path, GraphInfo.from_onnx(onnx.load(str(path)), "backbone_64x64")


@pytest.fixture(scope="module")
def backbone_custom(tiny_backbone_graphs):
    path = tiny_backbone_graphs("custom")
    return path, GraphInfo.from_onnx(onnx.load(str(path)), "backbone_64x64")


@pytest.fixture(scope="module")
def backbone_custom_v1(tiny_backbone_graphs):
    path = tiny_backbone_graphs("custom-v1")
    return path, GraphInfo.from_onnx(onnx.load(str(path)), "backbone_64x64")


def _feeds(x: dict) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in x.items()}


def _ort(path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _max_abs(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)  # no silent broadcasting
    return float(np.abs(a - b).max())


def _assert_close_scaled(out, ref, what: str) -> None:
    tol = FEATURE_TOL * max(1.0, float(np.abs(ref).max()))
    assert _max_abs(out, ref) <= tol, f"{what}: {_max_abs(out, ref):.3g} > {tol:.3g}"


# ----------------------------------------------------------------------------- backbone
def test_backbone_matches_pytorch_at_batch_1_and_3(backbone, inputs, reference):
    path, _ = backbone
    session = _ort(path)
    for b in (1, 3):
        outs = session.run(None, _feeds(inputs[b]))
        for name, out, ref in zip(("f4", "f8", "f16", "f32"), outs, reference[b]):
            assert out.shape == ref.shape
            assert _max_abs(out, ref) <= FEATURE_TOL, (b, name, _max_abs(out, ref))


def test_backbone_graph_info_and_clean_file(model, backbone):
    path, info = backbone
    d = model.cfg.vit.embed_dim
    assert info.name == "backbone_64x64" and info.opset == 18 and info.custom_ops == ()
    assert [(t.name, t.shape, t.dtype) for t in info.inputs] == [
        ("images", (-1, 3, 64, 64), "float32"), ("vit_images", (-1, 3, 56, 56), "float32")]
    assert [(t.name, t.shape) for t in info.outputs] == [
        ("f4", (-1, d, 16, 16)), ("f8", (-1, d, 8, 8)), ("f16", (-1, d, 4, 4)),
        ("f32", (-1, d, 2, 2))]
    assert GraphInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.name == info.name
    assert all(i.data_location == onnx.TensorProto.DEFAULT for i in proto.graph.initializer)
    # only the torch module path is kept (the quantizer names layers by it): no stack
    # traces, no local file paths
    keys = {p.key for n in proto.graph.node for p in n.metadata_props}
    assert keys == {"pkg.torch.onnx.name_scopes"}
    assert not any("/" in p.value for n in proto.graph.node for p in n.metadata_props)
    assert any(n.op_type == "GridSample" for n in proto.graph.node)
    assert model.vit.fixed_grid is None and not model.training  # caller's state is back


def test_export_is_deterministic(model, tmp_path):
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    export_head(model, "cls", SIZE, a)
    export_head(model, "cls", SIZE, b)
    assert a.read_bytes() == b.read_bytes()


def test_conv_transpose_exports_as_a_convolution_and_pixel_shuffle(model, backbone):
    """The adapter's stride-2 ConvTranspose leaves the graph as Conv + DepthToSpace (the
    CPU plugin ran ConvolutionBackpropData in f32 even in INT8); the model is untouched."""
    from argus_edge.export.conv_transpose import ConvTransposeAsConv, conv_transposes_as_convs

    up = nn.ConvTranspose2d(12, 8, 2, 2)
    x = torch.randn(2, 12, 5, 7, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert _max_abs(ConvTransposeAsConv(up)(x), up(x)) <= 1e-6
    with pytest.raises(ValueError):
        ConvTransposeAsConv(nn.ConvTranspose2d(4, 4, 3, 2))
    before = [type(m) for m in model.modules()]
    with conv_transposes_as_convs(model):
        assert any(isinstance(m, ConvTransposeAsConv) for m in model.modules())
    assert [type(m) for m in model.modules()] == before
    ops = {n.op_type for n in onnx.load(str(backbone[0])).graph.node}
    assert "DepthToSpace" in ops and "ConvTranspose" not in ops


def test_bad_arguments_raise_typed_errors(model, tmp_path):
    with pytest.raises(InvalidArgumentError, match="deform"):
        export_backbone(model, SIZE, tmp_path / "x.onnx", deform="fused")
    with pytest.raises(InvalidArgumentError):
        export_backbone(model, (60, 64), tmp_path / "x.onnx")
    with pytest.raises(UnknownTaskError, match="normal"):
        export_head(model, "normal", SIZE, tmp_path / "x.onnx")
    with pytest.raises(InvalidArgumentError, match="distinct"):
        export_fused(model, ["det", "det"], SIZE, tmp_path / "x.onnx")


# ----------------------------------------------------------------------------- heads
@pytest.mark.parametrize("task", TASKS)
def test_head_graph_matches_pytorch(model, task, tmp_path):
    size = POSE_SIZE if task == "pose" else SIZE
    images = torch.randn(3, 3, *size, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        feats = model.forward_features(images)
        ref = model.heads[task](feats)
    info = export_head(model, task, size, tmp_path / f"{task}.onnx")
    assert info.name == f"{task}_{size[0]}x{size[1]}"
    assert [t.name for t in info.outputs] == list(ref) == model.heads[task].output_names()
    assert [t.shape[0] for t in (*info.inputs, *info.outputs)] == [-1] * 4 + [-1] * len(ref)
    outs = _ort(tmp_path / f"{task}.onnx").run(
        None, {n: f.numpy() for n, f in zip(("f4", "f8", "f16", "f32"), feats)})
    for (name, r), out in zip(ref.items(), outs):
        _assert_close_scaled(out, r.numpy(), f"{task}.{name}")


def _check_fused(model, tasks, inputs, path, info, run) -> None:
    with torch.no_grad():
        ref = model(inputs[3]["images"], tasks=list(tasks), vit_images=inputs[3]["vit_images"])
    expected = [(f"{t}.{n}", r) for t in tasks for n, r in ref[t].items()]
    assert info.name == "fused_64x64"
    assert [t.name for t in info.outputs] == [n for n, _ in expected]
    outs = run(path, _feeds(inputs[3]))
    for (name, r), out in zip(expected, outs):
        _assert_close_scaled(out, r.numpy(), name)


def test_fused_custom_node_graph_matches_pytorch(model, inputs, tmp_path):
    """The fused graph with custom nodes, run by the ReferenceEvaluator (its exporter path
    differs from the standard-op one only by ``deform``, checked on the backbone above;
    the ORT run of the standard fused graph is the slow test below)."""
    path = tmp_path / "fused.onnx"
    info = export_fused(model, FUSED_TASKS, SIZE, path, deform="custom")
    assert info.custom_ops == ("ai.argus::MSDeformSample",)
    _check_fused(model, FUSED_TASKS, inputs, path, info, lambda p, feeds: ReferenceEvaluator(
        str(p), new_ops=[MSDeformSampleRef]).run(None, feeds))


@pytest.mark.slow
def test_fused_graph_matches_pytorch_in_onnxruntime(model, inputs, tmp_path):
    path = tmp_path / "fused.onnx"
    info = export_fused(model, TASKS, SIZE, path)
    assert info.custom_ops == ()
    _check_fused(model, TASKS, inputs, path, info, lambda p, feeds: _ort(p).run(None, feeds))


# ----------------------------------------------------------------------------- custom node
def _argus_nodes(path) -> tuple[onnx.ModelProto, list, list[dict]]:
    proto = onnx.load(str(path))
    nodes = [n for n in proto.graph.node if n.domain == "ai.argus"]
    attrs = [{a.name: onnx.helper.get_attribute_value(a) for a in n.attribute} for n in nodes]
    return proto, nodes, attrs


def test_custom_backbone_has_one_sample_node_per_injector_and_extractor(model, backbone_custom):
    path, info = backbone_custom
    proto, nodes, attrs = _argus_nodes(path)
    inters = model.adapter.interactions
    n_extractors = sum(1 + len(i.extra_extractors) for i in inters)
    assert len(nodes) == len(inters) + n_extractors
    assert {n.op_type for n in nodes} == {"MSDeformSample"}
    assert not any(n.op_type == "GridSample" for n in proto.graph.node)
    assert info.custom_ops == ("ai.argus::MSDeformSample",)
    assert {(o.domain, o.version) for o in proto.opset_import} == {("", 18), ("ai.argus", 1)}
    assert all(len(n.input) == 4 and set(a) == {"n_heads", "n_levels", "n_points",
                                                "spatial_shapes"}
               for n, a in zip(nodes, attrs))
    injectors = [a for a in attrs if a["n_levels"] == 3]
    assert len(injectors) == len(inters)
    assert all(a["spatial_shapes"] == [8, 8, 4, 4, 2, 2] for a in injectors)
    assert all(a["spatial_shapes"] == [4, 4] for a in attrs if a["n_levels"] == 1)
    # the projections around the nodes are standard MatMuls (what INT8 tooling quantizes)
    producers = {o: n for n in proto.graph.node for o in n.output}
    for node in nodes:
        for feed in node.input[2:]:  # offsets, logits
            assert producers[feed].op_type in ("MatMul", "Add", "Gemm"), producers[feed].op_type


def test_legacy_fused_backbone_has_one_node_per_injector_and_extractor(model,
                                                                       backbone_custom_v1):
    path, info = backbone_custom_v1
    proto, nodes, attrs = _argus_nodes(path)
    inters = model.adapter.interactions
    assert {n.op_type for n in nodes} == {"ScaledDeformAttn"}
    assert info.custom_ops == ("ai.argus::ScaledDeformAttn",)
    injectors = [a for a in attrs if a["token_scaling"] == 1]
    assert len(injectors) == len(inters)
    assert all(a["n_levels"] == 3 and a["spatial_shapes"] == [8, 8, 4, 4, 2, 2]
               for a in injectors)
    extractors = [(n, a) for n, a in zip(nodes, attrs) if a["token_scaling"] == 0]
    assert len(extractors) == sum(1 + len(i.extra_extractors) for i in inters)
    assert all(a["n_levels"] == 1 and a["spatial_shapes"] == [4, 4] for _, a in extractors)
    assert all(len(n.input) == 11 for n, _ in extractors)  # no gamma: 1
    assert all(len(n.input) == 12 for n, a in zip(nodes, attrs) if a["token_scaling"])


@pytest.mark.parametrize("deform", ["custom", "custom-v1"])
def test_custom_backbone_reference_evaluator_matches_pytorch_and_ort(
        deform, tiny_backbone_graphs, backbone, inputs, reference):
    evaluator = ReferenceEvaluator(str(tiny_backbone_graphs(deform)),
                                   new_ops=[MSDeformSampleRef, ScaledDeformAttnRef])
    outs = evaluator.run(None, _feeds(inputs[3]))
    ort_outs = _ort(backbone[0]).run(None, _feeds(inputs[3]))
    for out, ref, ort_out in zip(outs, reference[3], ort_outs):
        assert _max_abs(out, ref) <= FEATURE_TOL
        assert _max_abs(out, ort_out) <= FEATURE_TOL


def _node_args(module, query: torch.Tensor, feat: torch.Tensor) -> list[torch.Tensor]:
    attn = module.attn
    with torch.no_grad():
        value = attn.value_proj(module.feat_norm(feat))
    return [query, value, None, module.query_norm.weight, module.query_norm.bias,
            attn.sampling_offsets.weight, attn.sampling_offsets.bias,
            attn.attention_weights.weight, attn.attention_weights.bias,
            attn.output_proj.weight, attn.output_proj.bias]


def _random_tokens(shapes, b: int, dim: int, scale: float, gen) -> torch.Tensor:
    return scale * torch.randn(b, sum(h * w for h, w in shapes), dim, generator=gen)


@pytest.mark.parametrize("shapes", [[(6, 5), (3, 3), (2, 1)], [(3, 4)]])
def test_sample_node_matches_the_pytorch_attention(shapes):
    """MSDeformSample (torch op, SampleNodeAttention, NumPy) against MSDeformAttn: non-square
    levels, offsets large enough that samples fall outside the maps (zero padding)."""
    from argus_edge.export.ms_deform_sample import SampleNodeAttention
    from argus_edge.training.models.layers import MSDeformAttn

    torch.manual_seed(5)
    gen = torch.Generator().manual_seed(6)
    dim, heads, points = 32, 4, 3
    attn = MSDeformAttn(dim, len(shapes), heads, points, value_ratio=0.5)
    with torch.no_grad():
        for p in attn.parameters():
            p.normal_(std=0.5)
    query = torch.randn(2, 9, dim, generator=gen)
    feat = _random_tokens(shapes, 2, dim, 1.0, gen)
    ref = torch.rand(1, 9, 1, 2, generator=gen)
    attrs = dict(n_heads=heads, n_levels=len(shapes), n_points=points,
                 spatial_shapes=[v for hw in shapes for v in hw])
    with torch.no_grad():
        expected = attn(query, ref, feat, shapes)
        wrapped = SampleNodeAttention(attn)(query, ref, feat, shapes)
        value = attn.value_proj(feat)
        offsets, logits = attn.sampling_offsets(query), attn.attention_weights(query)
        torch_op = ms_deform_sample(value, ref.reshape(-1, 2), offsets, logits, **attrs)
        numpy_op = ms_deform_sample_numpy(value.numpy(), ref.reshape(-1, 2).numpy(),
                                          offsets.numpy(), logits.numpy(), **attrs)
        numpy_out = attn.output_proj(torch.from_numpy(numpy_op))
        torch_out = attn.output_proj(torch_op)
    assert offsets.abs().max() > 2  # some samples land outside the maps
    assert torch.equal(wrapped, expected)
    assert _max_abs(torch_out, expected) <= 1e-6
    assert _max_abs(numpy_out, expected) <= NODE_TOL


@pytest.mark.parametrize("kind", ["injector", "extractor"])
def test_numpy_node_matches_the_pytorch_modules(kind):
    """Non-square levels, large offsets (samples fall outside: zero padding), large token
    norms like DINOv2's (token scaling matters), random LayerNorm affine."""
    torch.manual_seed(3)
    gen = torch.Generator().manual_seed(4)
    dim, heads, points = 32, 4, 3
    if kind == "injector":
        module = Injector(dim, heads, points, 0.5, n_levels=3, gamma_init=0.0)
        feat_shapes, query_shape = [(6, 5), (3, 3), (2, 1)], [(3, 3)]
    else:
        module = Extractor(dim, heads, points, 0.5, cffn_ratio=0.25)
        feat_shapes, query_shape = [(3, 4)], [(6, 5), (3, 3), (2, 1)]
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(std=0.3)
    query = _random_tokens(query_shape, 2, dim, 20.0, gen)
    feat = _random_tokens(feat_shapes, 2, dim, 3.0, gen)
    ref = torch.rand(1, query.shape[1], 1, 2, generator=gen)
    with torch.no_grad():
        if kind == "injector":
            s = token_scale(query)
            expected = module(query * s, ref, feat, feat_shapes) / s
        else:
            expected = query + module.attn(module.query_norm(query), ref,
                                           module.feat_norm(feat), feat_shapes)
        args = _node_args(module, query, feat)
        args[2] = ref.reshape(-1, 2)
        gamma = module.gamma if kind == "injector" else None
        attrs = dict(n_heads=heads, n_levels=len(feat_shapes), n_points=points,
                     spatial_shapes=[v for hw in feat_shapes for v in hw],
                     token_scaling=kind == "injector", eps=1e-6)
        torch_op = scaled_deform_attn(*args, gamma, **attrs)
        numpy_op = scaled_deform_attn_numpy(*[a.numpy() for a in args],
                                            None if gamma is None else gamma.numpy(), **attrs)
    assert _max_abs(torch_op, expected) <= 1e-6
    assert _max_abs(numpy_op, expected.numpy()) <= NODE_TOL


# ----------------------------------------------------------------------------- OpenVINO
@pytest.mark.openvino
def test_openvino_ir_fp32_and_fp16_weights(backbone, inputs, reference, tmp_path):
    pytest.importorskip("openvino")
    from argus_edge.export import compile_ir, run_ir, to_openvino
    xml, bin32 = to_openvino(backbone[0], tmp_path / "f32" / "backbone.xml")
    outs = run_ir(compile_ir(xml, precision="f32"), _feeds(inputs[3]))
    for name, ref in zip(("f4", "f8", "f16", "f32"), reference[3]):
        assert _max_abs(outs[name], ref) <= FEATURE_TOL, (name, _max_abs(outs[name], ref))
    xml16, bin16 = to_openvino(backbone[0], tmp_path / "f16" / "backbone.xml",
                               compress_to_fp16=True)
    assert bin16.stat().st_size < 0.6 * bin32.stat().st_size
    outs = run_ir(compile_ir(xml16, precision="f32"), _feeds(inputs[1]))
    for name, ref in zip(("f4", "f8", "f16", "f32"), reference[1]):
        a, b = outs[name].ravel().astype(np.float64), ref.ravel().astype(np.float64)
        assert a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) >= 0.999, name


# ----------------------------------------------------------------------------- TensorRT
def test_trtexec_recipe(backbone):
    cmd = trtexec_command(backbone[0], "backbone.plan", fp16=True, int8=True, min_batch=1,
                          opt_batch=2, max_batch=4, workspace_gb=2)
    assert cmd == [
        "trtexec", f"--onnx={backbone[0]}", "--saveEngine=backbone.plan", "--int8", "--fp16",
        "--minShapes=images:1x3x64x64,vit_images:1x3x56x56",
        "--optShapes=images:2x3x64x64,vit_images:2x3x56x56",
        "--maxShapes=images:4x3x64x64,vit_images:4x3x56x56",
        "--memPoolSize=workspace:2048"]
    assert "--int8" not in trtexec_command(backbone[0], "b.plan")  # FP32 graph: no QDQ


def test_tensorrt_unavailable_raises_typed_error_naming_trtexec(backbone, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # import tensorrt → ImportError
    with pytest.raises(BackendUnavailableError, match="trtexec") as e:
        build_engine(backbone[0], "backbone.plan", fp16=True)
    assert shlex.join(trtexec_command(backbone[0], "backbone.plan", fp16=True)) in str(e.value)


@pytest.mark.gpu
def test_tensorrt_builds_an_engine(backbone, tmp_path):
    pytest.importorskip("tensorrt")
    plan = build_engine(backbone[0], tmp_path / "backbone.plan", max_batch=3)
    assert plan.stat().st_size > 0
