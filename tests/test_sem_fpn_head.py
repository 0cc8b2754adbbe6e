"""The light FPN ``sem`` head (``decoder: fpn``): shapes, config selection and round
trips, the unknown-decoder error, exported-graph parity and one Session run.

Tolerances: the ONNX head graph against PyTorch, max abs error ≤ 1e-4 · max(1, max|ref|)
(tests/test_export_graphs.py's); the Session's label map against PyTorch's
``predict`` on the same image, identical on ≥ 99 % of pixels (argmax ties may flip where
two logits are within float rounding, and the Session's own resize of the ViT input
differs from PyTorch's by rounding).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from argus_edge.training.heads import (  # noqa: E402
    FPNSemHead,
    FPNSemHeadConfig,
    SemHeadConfig,
    UperNetHead,
    build_head,
    head_config_class,
    head_config_from_dict,
    list_decoders,
    register_head,
)
from argus_edge.training.models import PRESETS, Argus, ArgusConfig, create_model  # noqa: E402

# torch.export's own deprecation notice, raised inside torch (not by this code)
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")

ROOT = Path(__file__).resolve().parents[1]
C = 96  # argus_tiny's embed_dim
SIZE = (64, 64)


def _feats(size=(64, 96), batch=2, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, C, size[0] // s, size[1] // s, generator=gen)
            for s in (4, 8, 16, 32)]


def _tiny_sem_model(seed=0, **head) -> Argus:
    cfg = dataclasses.replace(PRESETS["argus_tiny"], input_size=SIZE, heads={
        "sem": FPNSemHeadConfig(num_classes=4, channels=32, class_names=("a", "b", "c", "d"),
                                **head)})
    torch.manual_seed(seed)
    return Argus(cfg).eval()


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("stride", [4, 8])
def test_logits_at_the_output_stride_and_aux_only_in_training(stride):
    head = build_head("sem", FPNSemHeadConfig(num_classes=5, channels=32, output_stride=stride), C)
    assert isinstance(head, FPNSemHead) and head.decoder == "fpn"
    assert head.decoder_kind == "label_map" and head.output_names() == ["logits"]
    feats = _feats()
    out = head.train()(feats)
    assert out["logits"].shape == (2, 5, 64 // stride, 96 // stride)
    assert out["aux_logits"].shape == (2, 5, 4, 6)
    seg = torch.randint(0, 5, (2, 64, 96))
    seg[:, :4] = 255
    loss = head.loss(out, {"seg": seg})
    assert set(loss) == {"loss", "loss_ce", "loss_aux"} and torch.isfinite(loss["loss"])
    loss["loss"].backward()
    # every parameter gets a gradient (DDP rejects unused ones): at stride 8 the head
    # builds no stride-4 lateral instead of leaving it idle
    assert all(p.grad is not None for p in head.parameters())
    with torch.no_grad():
        labels = head.eval().predict(head(feats))
    assert labels.shape == (2, 64, 96) and labels.dtype == torch.int64


def _gflops(cfg, channels: int = 768, side: int = 512) -> float:
    """GFLOPs of the head alone on argus_base-shaped maps, counted on the meta device
    (shapes only) as export/bench/_flops.py counts them."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        head = build_head("sem", cfg, channels).eval().requires_grad_(False)
        feats = [torch.zeros(1, channels, side // s, side // s) for s in (4, 8, 16, 32)]
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            head(feats)
    return counter.get_total_flops() / 1e9


def test_fpn_costs_a_fraction_of_upernet():
    fpn = _gflops(FPNSemHeadConfig(num_classes=150))                   # 128 channels
    assert _gflops(SemHeadConfig(num_classes=150, channels=128)) > 2 * fpn  # same width
    assert _gflops(SemHeadConfig(num_classes=150)) > 30 * fpn               # paper's 512
    assert _gflops(FPNSemHeadConfig(num_classes=150, output_stride=8)) < fpn / 3


# ----------------------------------------------------------------------------- configs
def test_config_dict_selects_the_decoder_and_round_trips_through_json():
    assert list_decoders("sem") == ["fpn", "upernet"]
    assert list_decoders("det") == []
    assert head_config_class("sem") is SemHeadConfig  # the default: the paper's UperNet
    assert head_config_class("sem", "fpn") is FPNSemHeadConfig
    cfg = head_config_from_dict("sem", {"decoder": "fpn", "num_classes": 3, "channels": 64})
    assert cfg == FPNSemHeadConfig(num_classes=3, channels=64) and cfg.decoder == "fpn"
    assert head_config_from_dict("sem", {"num_classes": 3}) == SemHeadConfig(num_classes=3)
    model = _tiny_sem_model()
    again = ArgusConfig.from_dict(json.loads(model.cfg.to_json()))
    assert again == model.cfg and again.heads["sem"].decoder == "fpn"
    assert json.loads(model.cfg.to_json())["heads"]["sem"]["decoder"] == "fpn"
    # configs written before the second decoder carry no "decoder": UperNet
    old = model.cfg.to_dict()
    old["heads"]["sem"] = {"num_classes": 4, "channels": 32}
    assert isinstance(ArgusConfig.from_dict(old).heads["sem"], SemHeadConfig)


def test_checkpoint_rebuilds_the_fpn_head(tmp_path):
    from argus_edge.training.checkpoint import load_checkpoint, save_checkpoint

    model = _tiny_sem_model()
    loaded = load_checkpoint(save_checkpoint(model, tmp_path / "m.safetensors")).eval()
    assert isinstance(loaded.heads["sem"], FPNSemHead) and loaded.cfg == model.cfg
    feats = _feats(SIZE, batch=1)
    with torch.no_grad():
        torch.testing.assert_close(loaded.heads["sem"](feats)["logits"],
                                   model.heads["sem"](feats)["logits"])


def test_presets_and_training_yaml_pick_the_fpn_head():
    from argus_edge.training.engine.config import load_train_config

    model = create_model("argus_tiny", input_size=SIZE,
                         heads={"sem": {"decoder": "fpn", "num_classes": 3}})
    assert isinstance(model.heads["sem"], FPNSemHead)
    cfg = load_train_config(ROOT / "training/configs/synthetic_sem_fpn.yaml")
    head_cfg = head_config_from_dict("sem", cfg.tasks["sem"].head)
    assert isinstance(head_cfg, FPNSemHeadConfig) and head_cfg.lovasz_weight == 2.0


def test_unknown_decoder_and_bad_fields_are_clear_errors():
    known = r"unknown decoder 'fpm' for task 'sem'; known: fpn, upernet"
    with pytest.raises(ValueError, match=known):
        head_config_from_dict("sem", {"decoder": "fpm"})
    with pytest.raises(ValueError, match="unknown decoder"):
        create_model("argus_tiny", heads={"sem": {"decoder": "segformer"}})
    with pytest.raises(ValueError, match="known: none named"):
        head_config_from_dict("det", {"decoder": "fpn"})
    with pytest.raises(TypeError, match="pool_scales"):  # an UperNet field
        head_config_from_dict("sem", {"decoder": "fpn", "pool_scales": [1, 2]})
    with pytest.raises(ValueError, match="output_stride"):
        FPNSemHeadConfig(output_stride=16)
    with pytest.raises((TypeError, ValueError)):  # the decoder is the class's, not a value
        dataclasses.replace(FPNSemHeadConfig(), decoder="upernet")
    with pytest.raises(ValueError, match="already registered"):
        register_head("sem", FPNSemHeadConfig, default=False)(type("Again", (FPNSemHead,), {}))
    with pytest.raises(ValueError, match="already registered"):
        register_head("sem", SemHeadConfig)(type("Again", (UperNetHead,), {}))


# ----------------------------------------------------------------------------- export
def test_exported_head_graph_matches_pytorch(tmp_path):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from argus_edge.export import export_head

    model = _tiny_sem_model()
    images = torch.randn(3, 3, *SIZE, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        feats = model.forward_features(images)
        ref = model.heads["sem"](feats)
    info = export_head(model, "sem", SIZE, tmp_path / "sem.onnx")
    assert [t.name for t in info.outputs] == list(ref) == ["logits"]
    sess = ort.InferenceSession(str(tmp_path / "sem.onnx"), providers=["CPUExecutionProvider"])
    (out,) = sess.run(None, {n: f.numpy() for n, f in zip(("f4", "f8", "f16", "f32"), feats)})
    expected = ref["logits"].numpy()
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() <= 1e-4 * max(1.0, float(np.abs(expected).max()))


@pytest.mark.slow  # 2-6 min on a 2-core CPU, almost all of it the backbone's ONNX export
def test_session_runs_a_bundle_with_the_fpn_head(tmp_path):
    pytest.importorskip("onnxruntime")
    from argus_edge import SegMap, Session, read_bundle
    from argus_edge.export.bundle_export import ExportOptions, export_bundle

    model = _tiny_sem_model(seed=3)
    bundle = export_bundle(model, tmp_path / "fpn.engine", ExportOptions(variants=("onnx-fp32",)))
    with read_bundle(bundle) as b:
        assert b.tasks["sem"]["classes"] == ["a", "b", "c", "d"]
        assert b.manifest["model"]["config"]["heads"]["sem"]["decoder"] == "fpn"
    image = np.random.default_rng(0).integers(0, 256, (*SIZE, 3), dtype=np.uint8)
    result = Session(bundle, backend="onnxruntime").run(image, tasks=["sem"])
    assert isinstance(result.sem, SegMap) and result.sem.labels.shape == SIZE
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (model.cfg.mean, model.cfg.std))
    x = (torch.from_numpy(image).permute(2, 0, 1)[None].float() - mean) / std
    with torch.no_grad():
        expected = model.heads["sem"].predict(model(x)["sem"], size=SIZE)[0].numpy()
    assert (result.sem.labels == expected).mean() >= 0.99
