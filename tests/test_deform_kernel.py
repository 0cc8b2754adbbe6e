"""The ``ai.argus::MSDeformSample`` and legacy fused ``ai.argus::ScaledDeformAttn`` kernels
(``argus_edge._core``) and their OpenVINO extension, against the NumPy references of
``docs/custom_ops.md`` and the PyTorch model.

Tolerances (float32):
- the kernel on the contract's unit inputs (those of
  ``test_numpy_node_matches_the_pytorch_modules``: token norms ≈ 20·√D): ≤ 1e-5;
- the kernel on random injector / extractor nodes, every ISA of this CPU: ≤ 1e-4;
- argus_tiny's backbone with either node in OpenVINO (f32): ≤ 1e-4 against PyTorch and
  against the standard-op graph in OpenVINO.

The OpenVINO tests need the extension library: ``make test-cpp`` builds it into
``build/cpp`` (``-DARGUS_WITH_OPENVINO=ON``), ``$ARGUS_OPENVINO_EXTENSION`` names another
build; they skip, saying so, when there is none.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from argus_edge import BackendUnavailableError, InvalidArgumentError, _core
from argus_edge._extensions import (
    OPENVINO_EXTENSION_ENV,
    openvino_extension_name,
    openvino_extension_path,
)

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from argus_edge.export.deform_op import scaled_deform_attn_numpy  # noqa: E402
from argus_edge.export.ms_deform_sample import ms_deform_sample_numpy  # noqa: E402
from argus_edge.training.models.adapter import Extractor, Injector  # noqa: E402

# torch.export's own deprecation notice, raised inside torch (not by this code)
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")

ISAS = _core.deform_isas()
KERNEL_TOL = 1e-4
CONTRACT_TOL = 1e-5
FEATURE_TOL = 1e-4
SIZE = (64, 64)


def _max_abs(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.float64) - b).max())


# ----------------------------------------------------------------------------- kernel
def _random_node(seed: int, *, batch: int, queries: int, dim: int, heads: int, head_dim: int,
                 points: int, shapes: list[tuple[int, int]], token_scaling: bool, gamma: bool,
                 query_std: float):
    """Random inputs and attributes of one node; offsets reach outside the maps."""
    rng = np.random.default_rng(seed)
    levels, dv = len(shapes), heads * head_dim
    lp, s = heads * levels * points, sum(h * w for h, w in shapes)

    def f(*shape, std=1.0, mean=0.0):
        return (mean + std * rng.standard_normal(shape)).astype(np.float32)

    args = [f(batch, queries, dim, std=query_std), f(batch, s, dv),
            rng.random((queries, 2), dtype=np.float32), f(dim, std=0.3, mean=1.0),
            f(dim, std=0.3), f(2 * lp, dim, std=1.5 / np.sqrt(dim)), f(2 * lp, std=1.5),
            f(lp, dim, std=0.1), f(lp, std=0.3), f(dim, dv, std=1 / np.sqrt(dv)),
            f(dim, std=0.1), f(dim, std=0.5) if gamma else None]
    attrs = dict(n_heads=heads, n_levels=levels, n_points=points,
                 spatial_shapes=[v for hw in shapes for v in hw],
                 token_scaling=token_scaling, eps=1e-6)
    return args, attrs


NODES = {
    "injector": dict(batch=2, queries=45, dim=64, heads=4, head_dim=8, points=4,
                     shapes=[(7, 6), (4, 3), (2, 2)], token_scaling=True, gamma=True,
                     query_std=20.0),
    "extractor": dict(batch=2, queries=70, dim=64, heads=4, head_dim=8, points=4,
                      shapes=[(5, 6)], token_scaling=False, gamma=False, query_std=1.0),
    # argus_base widths (D 768, 12 heads of 32 channels), small maps; Q=1 and B=3
    "injector_base": dict(batch=1, queries=50, dim=768, heads=12, head_dim=32, points=4,
                          shapes=[(8, 8), (4, 4), (2, 2)], token_scaling=True, gamma=True,
                          query_std=1.0),
    "single_query": dict(batch=3, queries=1, dim=40, heads=2, head_dim=9, points=3,
                         shapes=[(1, 1), (3, 2)], token_scaling=True, gamma=True,
                         query_std=3.0),
}


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("node", list(NODES))
def test_kernel_matches_numpy_reference(node, isa):
    args, attrs = _random_node(7, **NODES[node])
    expected = scaled_deform_attn_numpy(*args, **attrs)
    out = _core.scaled_deform_attn(*args, **attrs, isa=isa)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    assert _max_abs(out, expected) <= KERNEL_TOL


def _unit_node(kind: str):
    """The inputs of test_export_graphs.test_numpy_node_matches_the_pytorch_modules."""
    torch.manual_seed(3)
    gen = torch.Generator().manual_seed(4)
    dim, heads, points = 32, 4, 3
    if kind == "injector":
        module = Injector(dim, heads, points, 0.5, n_levels=3, gamma_init=0.0)
        feat_shapes, query_shapes = [(6, 5), (3, 3), (2, 1)], [(3, 3)]
    else:
        module = Extractor(dim, heads, points, 0.5, cffn_ratio=0.25)
        feat_shapes, query_shapes = [(3, 4)], [(6, 5), (3, 3), (2, 1)]
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(std=0.3)
        query = 20.0 * torch.randn(2, sum(h * w for h, w in query_shapes), dim, generator=gen)
        feat = 3.0 * torch.randn(2, sum(h * w for h, w in feat_shapes), dim, generator=gen)
        ref = torch.rand(1, query.shape[1], 1, 2, generator=gen).reshape(-1, 2)
        attn = module.attn
        tensors = [query, attn.value_proj(module.feat_norm(feat)), ref,
                   module.query_norm.weight, module.query_norm.bias,
                   attn.sampling_offsets.weight, attn.sampling_offsets.bias,
                   attn.attention_weights.weight, attn.attention_weights.bias,
                   attn.output_proj.weight, attn.output_proj.bias,
                   module.gamma if kind == "injector" else None]
    attrs = dict(n_heads=heads, n_levels=len(feat_shapes), n_points=points,
                 spatial_shapes=[v for hw in feat_shapes for v in hw],
                 token_scaling=kind == "injector", eps=1e-6)
    return [None if t is None else t.detach().numpy() for t in tensors], attrs


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("kind", ["injector", "extractor"])
def test_kernel_meets_the_contract_tolerance_on_its_unit_inputs(kind, isa):
    args, attrs = _unit_node(kind)
    out = _core.scaled_deform_attn(*args, **attrs, isa=isa)
    assert _max_abs(out, scaled_deform_attn_numpy(*args, **attrs)) <= CONTRACT_TOL


def test_kernel_is_independent_of_thread_count_and_converts_inputs():
    args, attrs = _random_node(1, **NODES["extractor"])
    one = _core.scaled_deform_attn(*args, **attrs, num_threads=1)
    three = _core.scaled_deform_attn(*args, **attrs, num_threads=3)
    np.testing.assert_array_equal(one, three)
    as_f64 = [a if a is None else a.astype(np.float64) for a in args]
    np.testing.assert_array_equal(_core.scaled_deform_attn(*as_f64, **attrs), one)
    transposed = args[:]
    transposed[0] = np.asfortranarray(args[0])  # non-contiguous views are copied
    np.testing.assert_array_equal(_core.scaled_deform_attn(*transposed, **attrs), one)


def test_isa_selection(monkeypatch):
    assert ISAS[0] == "scalar" and _core.deform_isa("scalar") == "scalar"
    monkeypatch.delenv("ARGUS_DEFORM_ISA", raising=False)
    assert _core.deform_isa() == ISAS[-1]
    monkeypatch.setenv("ARGUS_DEFORM_ISA", "scalar")
    assert _core.deform_isa() == "scalar"
    monkeypatch.setenv("ARGUS_DEFORM_ISA", "sse9")
    with pytest.raises(InvalidArgumentError, match="unknown ISA"):
        _core.deform_isa()
    for isa in {"avx2", "avx512"} - set(ISAS):
        with pytest.raises(BackendUnavailableError):
            _core.deform_isa(isa)


def test_bad_arguments_raise_typed_errors():
    args, attrs = _random_node(2, **NODES["extractor"])
    bad_value = args[:]
    bad_value[1] = args[1][:, :-1]
    with pytest.raises(InvalidArgumentError, match="value must have shape"):
        _core.scaled_deform_attn(*bad_value, **attrs)
    with pytest.raises(InvalidArgumentError, match="spatial_shapes"):
        _core.scaled_deform_attn(*args, **{**attrs, "spatial_shapes": [5]})
    with pytest.raises(InvalidArgumentError, match=r"offset_weight must have shape \(40, 64\)"):
        _core.scaled_deform_attn(*args, **{**attrs, "n_heads": 5})
    with pytest.raises(InvalidArgumentError, match="unknown ISA"):
        _core.scaled_deform_attn(*args, **attrs, isa="neon")


# ----------------------------------------------------------------------------- MSDeformSample
def _random_sample(seed: int, *, batch: int, queries: int, heads: int, head_dim: int,
                   points: int, shapes: list[tuple[int, int]], non_finite: bool = True, **_):
    """Random MSDeformSample inputs: offsets of a few pixels (many samples fall outside the
    maps), and, unless told otherwise, a NaN, an inf and a huge offset."""
    rng = np.random.default_rng(seed)
    lp = heads * len(shapes) * points
    value = rng.standard_normal((batch, sum(h * w for h, w in shapes), heads * head_dim))
    offsets = 4.0 * rng.standard_normal((batch, queries, 2 * lp))
    if non_finite:
        offsets[0, 0, :3] = (np.nan, np.inf, -1e30)
    args = [value.astype(np.float32), rng.random((queries, 2), dtype=np.float32),
            offsets.astype(np.float32),
            rng.standard_normal((batch, queries, lp)).astype(np.float32)]
    attrs = dict(n_heads=heads, n_levels=len(shapes), n_points=points,
                 spatial_shapes=[v for hw in shapes for v in hw])
    return args, attrs


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("node", list(NODES))
def test_sample_kernel_matches_numpy_reference(node, isa):
    args, attrs = _random_sample(8, **NODES[node])
    expected = ms_deform_sample_numpy(*args, **attrs)
    assert np.isfinite(expected).all()  # a non-finite offset contributes 0
    out = _core.ms_deform_sample(*args, **attrs, isa=isa)
    assert out.dtype == np.float32 and out.shape == expected.shape
    assert _max_abs(out, expected) <= KERNEL_TOL


def test_sample_kernel_is_independent_of_thread_count():
    args, attrs = _random_sample(3, **NODES["injector"])
    one = _core.ms_deform_sample(*args, **attrs, num_threads=1)
    np.testing.assert_array_equal(_core.ms_deform_sample(*args, **attrs, num_threads=3), one)
    as_f64 = [a.astype(np.float64) for a in args]
    np.testing.assert_array_equal(_core.ms_deform_sample(*as_f64, **attrs), one)


def test_sample_kernel_bad_arguments_raise_typed_errors():
    args, attrs = _random_sample(4, **NODES["extractor"])
    with pytest.raises(InvalidArgumentError, match="ms_deform_sample: value must have shape"):
        _core.ms_deform_sample(args[0][:, :-1], *args[1:], **attrs)
    with pytest.raises(InvalidArgumentError, match="logits must have shape"):
        _core.ms_deform_sample(*args[:3], args[3][..., :-1], **attrs)
    with pytest.raises(InvalidArgumentError, match="offsets must have shape"):
        _core.ms_deform_sample(*args, **{**attrs, "n_points": 3})
    with pytest.raises(InvalidArgumentError, match="spatial_shapes"):
        _core.ms_deform_sample(*args, **{**attrs, "spatial_shapes": [5]})
    with pytest.raises(InvalidArgumentError, match="not divisible by n_heads"):
        _core.ms_deform_sample(*args, **{**attrs, "n_heads": 5})
    with pytest.raises(InvalidArgumentError, match="3-D"):
        _core.ms_deform_sample(args[0][0], *args[1:], **attrs)


def test_extension_locator(monkeypatch, tmp_path):
    fake = tmp_path / openvino_extension_name()
    fake.write_bytes(b"")
    monkeypatch.setenv(OPENVINO_EXTENSION_ENV, str(fake))
    assert openvino_extension_path() == fake.resolve()
    monkeypatch.setenv(OPENVINO_EXTENSION_ENV, str(tmp_path / "missing.so"))
    with pytest.raises(BackendUnavailableError, match=OPENVINO_EXTENSION_ENV):
        openvino_extension_path()


# ----------------------------------------------------------------------------- OpenVINO
def _built_extension() -> Path | None:
    """$ARGUS_OPENVINO_EXTENSION (must exist when set), next to _core, else build/cpp."""
    if os.environ.get(OPENVINO_EXTENSION_ENV):
        return openvino_extension_path()
    try:
        return openvino_extension_path()
    except BackendUnavailableError:
        dev = Path(__file__).resolve().parents[1] / "build" / "cpp" / openvino_extension_name()
        return dev if dev.is_file() else None


@pytest.fixture(scope="module")
def ov_core():
    """An openvino.Core with the argus extension added."""
    ov = pytest.importorskip("openvino")
    path = _built_extension()
    if path is None:
        pytest.skip("the OpenVINO extension is not built: `make test-cpp` builds "
                    f"build/cpp/{openvino_extension_name()} (-DARGUS_WITH_OPENVINO=ON), or "
                    f"set {OPENVINO_EXTENSION_ENV}")
    core = ov.Core()
    core.add_extension(str(path))
    return core


def _compile(core, model):
    return core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})


@pytest.fixture(scope="module")
def tiny_batches(tiny_model):
    """Inputs (batches 1 and 3) of argus_tiny (conftest.make_tiny_model) at 64x64 and its
    PyTorch features."""
    gen = torch.Generator().manual_seed(1)
    batches = {}
    for b in (1, 3):
        images = torch.randn(b, 3, *SIZE, generator=gen)
        feeds = {"images": images, "vit_images": tiny_model.vit_input(images)}
        with torch.no_grad():
            feats = [f.numpy() for f in tiny_model.forward_features(**feeds)]
        batches[b] = ({k: v.numpy() for k, v in feeds.items()}, feats)
    return batches


NODE_TYPES = {"custom": "MSDeformSample", "custom-v1": "ScaledDeformAttn"}


@pytest.mark.openvino
@pytest.mark.parametrize("deform", list(NODE_TYPES))
def test_custom_backbone_in_openvino_matches_pytorch_and_standard_graph(
        ov_core, tiny_model, tiny_backbone_graphs, tiny_batches, deform):
    n_nodes = sum(1 + len(blk.extra_extractors) + 1 for blk in tiny_model.adapter.interactions)
    model = ov_core.read_model(str(tiny_backbone_graphs(deform)))
    assert sum(op.get_type_name() == NODE_TYPES[deform] for op in model.get_ops()) == n_nodes
    assert not any(op.get_type_name() == "GridSample" for op in model.get_ops())
    custom = _compile(ov_core, model)
    standard = _compile(ov_core, str(tiny_backbone_graphs("standard")))
    for feeds, expected in tiny_batches.values():
        out, std = custom(feeds), standard(feeds)
        for name, ref in zip(("f4", "f8", "f16", "f32"), expected):
            assert _max_abs(out[name], ref) <= FEATURE_TOL, name
            assert _max_abs(out[name], std[name]) <= FEATURE_TOL, name


@pytest.mark.openvino
@pytest.mark.parametrize("deform", list(NODE_TYPES))
def test_custom_node_survives_openvino_ir(ov_core, tiny_backbone_graphs, tiny_batches, tmp_path,
                                          deform):
    import openvino as ov

    xml = tmp_path / "backbone_custom.xml"
    ov.save_model(ov_core.read_model(str(tiny_backbone_graphs(deform))), str(xml),
                  compress_to_fp16=False)
    feeds, expected = tiny_batches[1]
    out = _compile(ov_core, ov_core.read_model(str(xml)))(feeds)
    for name, ref in zip(("f4", "f8", "f16", "f32"), expected):
        assert _max_abs(out[name], ref) <= FEATURE_TOL, name


@pytest.mark.openvino
def test_single_sample_node_in_openvino(ov_core, tmp_path):
    """A hand-written MSDeformSample node, every input a graph input; wrong shapes at run
    time raise instead of reading out of bounds."""
    from onnx import TensorProto, helper, save_model

    args, attrs = _random_sample(9, **NODES["injector"])
    names = ["value", "reference_points", "offsets", "logits"]
    node = helper.make_node("MSDeformSample", names, ["output"], domain="ai.argus", **attrs)
    graph = helper.make_graph(
        [node], "node",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["b", "q", "c"] if a.ndim == 3
                                       else ["q", 2]) for n, a in zip(names, args)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)])
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                         helper.make_opsetid("ai.argus", 1)])
    save_model(onnx_model, str(tmp_path / "node.onnx"))
    compiled = _compile(ov_core, ov_core.read_model(str(tmp_path / "node.onnx")))
    out = compiled(dict(zip(names, args)))["output"]
    assert _max_abs(out, ms_deform_sample_numpy(*args, **attrs)) <= KERNEL_TOL
    with pytest.raises(RuntimeError, match="logits must be"):
        compiled(dict(zip(names, [*args[:3], args[3][..., :-1]])))


@pytest.mark.openvino
@pytest.mark.parametrize("gamma", ["omitted", "empty", "given"])
def test_single_onnx_node_defaults_and_optional_gamma(ov_core, tmp_path, gamma):
    """A hand-written node: token_scaling and eps left to their defaults (0, 1e-6); gamma
    omitted, given as the empty name, or given."""
    from onnx import TensorProto, helper, numpy_helper, save_model

    args, attrs = _random_node(5, **{**NODES["extractor"], "gamma": gamma == "given"})
    names = ["query", "value", "reference_points", "norm_weight", "norm_bias",
             "offset_weight", "offset_bias", "attn_weight", "attn_bias", "output_weight",
             "output_bias", "gamma"]
    inits = [numpy_helper.from_array(a, n) for n, a in zip(names[2:], args[2:]) if a is not None]
    inputs = names[:11] + {"omitted": [], "empty": [""], "given": ["gamma"]}[gamma]
    node = helper.make_node("ScaledDeformAttn", inputs, ["output"], domain="ai.argus",
                            n_heads=attrs["n_heads"], n_levels=attrs["n_levels"],
                            n_points=attrs["n_points"], spatial_shapes=attrs["spatial_shapes"])
    graph = helper.make_graph(
        [node], "node", [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape)
                         for n, a in zip(names[:2], args[:2])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, args[0].shape)], inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18),
                                                         helper.make_opsetid("ai.argus", 1)])
    save_model(onnx_model, str(tmp_path / "node.onnx"))
    compiled = _compile(ov_core, ov_core.read_model(str(tmp_path / "node.onnx")))
    out = compiled({"query": args[0], "value": args[1]})["output"]
    expected = scaled_deform_attn_numpy(*args, **{**attrs, "token_scaling": False})
    assert _max_abs(out, expected) <= KERNEL_TOL
