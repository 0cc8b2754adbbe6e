"""Importing DINOv2 weights: official, Hugging Face and timm layouts, and every way to fail.

The Hugging Face tests build ``Dinov2WithRegistersModel`` offline with random weights and
compare its ``last_hidden_state`` with ``DinoV2.forward``. Hugging Face resizes the
position embedding exactly as the official register models do (bicubic, antialias=True,
exact output size, computed in float32; identity at the pretraining grid), so the two
agree at every size, square or not.
"""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from argus_edge._errors import CheckpointError, InvalidArgumentError  # noqa: E402
from argus_edge.training.models import PRESETS, DinoV2, ViTConfig, build_argus  # noqa: E402
from argus_edge.training.weights import (  # noqa: E402
    convert_dinov2_state_dict,
    detect_key_format,
    load_dinov2_weights,
)

SMALL = ViTConfig(embed_dim=48, depth=2, num_heads=2, pretrain_size=126)  # 9×9 pos grid
VIT_B = ViTConfig()  # dinov2_vitb14_reg4: 768 wide, 12 blocks, 12 heads, 518 px


# ---------------------------------------------------------------------------- helpers
def randomize_(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Give every parameter distinct random values, so no wrong mapping can hide.

    Norm weights stay near 1 and matrices have unit-gain scale, so attention is far from
    uniform (a q/k mix-up shows) and a 12-block ViT stays well scaled; LayerScales differ
    per channel and tokens/position embeddings vary spatially.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * noise)
            elif p.ndim >= 2 and not name.endswith(("token", "tokens", "embed", "embeddings")):
                p.copy_(noise / p[0].numel() ** 0.5)  # unit-variance outputs: sharp attention
            elif p.ndim == 1:
                p.copy_(0.1 * noise if name.endswith("bias") else 0.5 * noise)
            else:
                p.copy_(0.5 * noise)
    return module.eval()


def random_vit(cfg: ViTConfig = SMALL, seed: int = 0) -> DinoV2:
    return randomize_(DinoV2(cfg), seed)


def official_state(cfg: ViTConfig = SMALL, seed: int = 0) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in random_vit(cfg, seed).state_dict().items()}


def official_to_timm(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse direction, as timm's ``checkpoint_filter_fn`` does for reg4 models."""
    out = {k: v for k, v in state.items()
           if k not in ("mask_token", "register_tokens", "cls_token", "pos_embed")}
    out["reg_token"] = state["register_tokens"]
    out["cls_token"] = state["cls_token"] + state["pos_embed"][:, 0]
    out["pos_embed"] = state["pos_embed"][:, 1:]
    return out


def run(vit: DinoV2, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return vit.eval()(x)


def image(h: int = 126, w: int = 126, batch: int = 2, seed: int = 1) -> torch.Tensor:
    return torch.randn(batch, 3, h, w, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------- Hugging Face
def hf_model(cfg: ViTConfig, seed: int):
    transformers = pytest.importorskip("transformers")
    hcfg = transformers.Dinov2WithRegistersConfig(
        hidden_size=cfg.embed_dim, num_hidden_layers=cfg.depth, num_attention_heads=cfg.num_heads,
        mlp_ratio=int(cfg.mlp_ratio), num_register_tokens=cfg.num_registers,
        image_size=cfg.pretrain_size, patch_size=cfg.patch_size, layer_norm_eps=cfg.ln_eps)
    torch.manual_seed(seed)
    return randomize_(transformers.Dinov2WithRegistersModel(hcfg), seed)


def hf_output(model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(pixel_values=x).last_hidden_state


@pytest.fixture(scope="module")
def hf_small():
    return hf_model(SMALL, seed=3)


@pytest.fixture(scope="module")
def vit_b_pair():
    hf = hf_model(VIT_B, seed=4)
    ours = DinoV2(VIT_B).eval()
    load_dinov2_weights(ours, hf.state_dict())
    return hf, ours


@pytest.mark.transformers
@pytest.mark.parametrize("size", [(126, 126), (224, 224), (224, 308), (308, 224)])
def test_hf_parity_small(hf_small, size):
    assert detect_key_format(hf_small.state_dict()) == "hf"
    ours = DinoV2(SMALL)
    load_dinov2_weights(ours, hf_small.state_dict())
    x = image(*size)
    torch.testing.assert_close(run(ours, x), hf_output(hf_small, x), atol=1e-4, rtol=0)


@pytest.mark.transformers
@pytest.mark.parametrize("size", [(224, 224), (224, 308)])
def test_hf_parity_vit_b(vit_b_pair, size):
    hf, ours = vit_b_pair
    x = image(*size, batch=1)
    expected = hf_output(hf, x)
    assert expected.shape == (1, 1 + 4 + (size[0] // 14) * (size[1] // 14), 768)
    torch.testing.assert_close(run(ours, x), expected, atol=1e-4, rtol=0)


@pytest.mark.transformers
def test_hf_hub_file_names(hf_small):
    """Files on the Hub use transformers-4 names and the model prefix; both convert."""
    legacy = {"attention.q_proj.": "attention.attention.query.",
              "attention.k_proj.": "attention.attention.key.",
              "attention.v_proj.": "attention.attention.value.",
              "attention.o_proj.": "attention.output.dense."}
    hub = {}
    for key, value in hf_small.state_dict().items():
        for new, old in legacy.items():
            key = key.replace(new, old)
        hub["dinov2_with_registers." + key] = value
    assert any(".attention.attention.query." in k for k in hub)
    got = convert_dinov2_state_dict(hub)
    want = convert_dinov2_state_dict(hf_small.state_dict())
    assert got.keys() == want.keys() == DinoV2(SMALL).state_dict().keys()
    for k in want:
        assert torch.equal(got[k], want[k]), k


def test_hf_partial_qkv_is_an_error():
    state = {"embeddings.cls_token": torch.zeros(1, 1, 4),
             "encoder.layer.0.attention.q_proj.weight": torch.zeros(4, 4),
             "encoder.layer.0.attention.v_proj.weight": torch.zeros(4, 4)}
    with pytest.raises(CheckpointError, match="layer 0.*query/value"):
        convert_dinov2_state_dict(state)


# ---------------------------------------------------------------------------- official
@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_official_file_round_trip(tmp_path, suffix):
    src = random_vit(seed=5)
    path = tmp_path / f"dinov2{suffix}"
    if suffix == ".pth":
        torch.save(src.state_dict(), path)
    else:
        from safetensors.torch import save_file
        save_file(src.state_dict(), path)
    dst = DinoV2(SMALL)
    load_dinov2_weights(dst, path)
    x = image(126, 168)
    assert torch.equal(run(dst, x), run(src, x))


def test_prefixes_containers_and_chunked_blocks(tmp_path):
    state = official_state(seed=6)
    chunked = {k.replace("blocks.1.", "blocks.1.1.").replace("blocks.0.", "blocks.0.0."): v
               for k, v in state.items()}
    wrapped = {"model": {f"module.backbone.{k}": v for k, v in chunked.items()}, "epoch": 3}
    torch.save(wrapped, tmp_path / "train.pth")
    converted = convert_dinov2_state_dict({f"backbone.{k}": v for k, v in chunked.items()})
    assert converted.keys() == state.keys()
    dst = DinoV2(SMALL)
    load_dinov2_weights(dst, tmp_path / "train.pth", key_format="official")
    for k, v in dst.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_hf_snapshot_folder(tmp_path):
    from safetensors.torch import save_file
    state = official_state(seed=7)
    save_file(state, tmp_path / "model.safetensors")
    dst = DinoV2(SMALL)
    load_dinov2_weights(dst, tmp_path)
    assert torch.equal(dst.pos_embed, state["pos_embed"])


def test_build_argus_imports_backbone(tmp_path):
    cfg = PRESETS["argus_tiny"]
    state = official_state(cfg.vit, seed=8)
    torch.save(state, tmp_path / "tiny_vit.pth")
    model = build_argus(cfg, backbone_weights=str(tmp_path / "tiny_vit.pth"))
    for k, v in model.vit.state_dict().items():
        assert torch.equal(v, state[k]), k


def test_fixed_input_size_is_refreshed_after_loading():
    src = random_vit(seed=9)
    dst = DinoV2(SMALL)
    dst.fix_input_size(126, 168)
    load_dinov2_weights(dst, src.state_dict())
    x = image(126, 168)
    assert torch.equal(run(dst, x), run(src, x))


# ---------------------------------------------------------------------------- timm
def test_timm_round_trip():
    src = random_vit(seed=10)
    timm_state = official_to_timm(src.state_dict())
    assert timm_state["pos_embed"].shape == (1, 81, 48)
    assert detect_key_format(timm_state) == "timm"
    dst = DinoV2(SMALL)
    load_dinov2_weights(dst, timm_state)
    assert torch.count_nonzero(dst.mask_token) == 0
    assert torch.count_nonzero(dst.pos_embed[:, 0]) == 0
    for size in [(126, 126), (112, 154)]:
        x = image(*size)
        torch.testing.assert_close(run(dst, x), run(src, x), atol=1e-5, rtol=0)


def test_explicit_key_format_overrides_detection():
    timm_state = official_to_timm(official_state(seed=11))
    with pytest.raises(CheckpointError, match="official format.*unexpected: reg_token"):
        load_dinov2_weights(DinoV2(SMALL), timm_state, key_format="official")
    with pytest.raises(InvalidArgumentError, match="key_format"):
        load_dinov2_weights(DinoV2(SMALL), timm_state, key_format="torchhub")
    with pytest.raises(InvalidArgumentError, match="model.vit"):
        load_dinov2_weights(build_argus(PRESETS["argus_tiny"]), timm_state)


# ---------------------------------------------------------------------------- errors
def _load_fails(state_or_path, match: str, cfg: ViTConfig = SMALL) -> None:
    dst = DinoV2(cfg)
    before = {k: v.clone() for k, v in dst.state_dict().items()}
    with pytest.raises(CheckpointError, match=match):
        load_dinov2_weights(dst, state_or_path)
    for k, v in dst.state_dict().items():  # nothing was loaded partially
        assert torch.equal(v, before[k]), k


def test_missing_key():
    state = official_state()
    del state["blocks.1.mlp.fc2.bias"]
    _load_fails(state, r"official format.*1 missing: blocks\.1\.mlp\.fc2\.bias")


def test_unexpected_key():
    state = official_state()
    state["head.weight"] = torch.zeros(10, 48)
    _load_fails(state, r"1 unexpected: head\.weight")


def test_wrong_shape():
    state = official_state()
    state["blocks.0.attn.proj.weight"] = torch.zeros(48, 47)
    _load_fails(state, r"wrong shape: blocks\.0\.attn\.proj\.weight \(model \[48, 48\], "
                       r"file \[48, 47\]\)")


def test_wrong_depth_and_width():
    _load_fails(official_state(dataclasses.replace(SMALL, depth=3)), "depth 3 \\(model: 2\\)")
    wide = dataclasses.replace(SMALL, embed_dim=64)
    _load_fails(official_state(wide), "embed_dim 64 \\(model: 48\\)")
    vit_s = ViTConfig(embed_dim=384, depth=1, num_heads=6)  # one block is enough to tell
    _load_fails(official_state(vit_s), "ViT-S/14 weights", cfg=dataclasses.replace(VIT_B, depth=1))


def test_wrong_pretrain_grid():
    _load_fails(official_state(dataclasses.replace(SMALL, pretrain_size=98)),
                "pos_grid 7 \\(model: 9\\)")


class _Payload:
    """Unpickling this would run code: weights_only must refuse it."""

    ran = False

    def __reduce__(self):
        return (_mark_ran, ())


def _mark_ran():
    _Payload.ran = True
    return None


def test_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"cls_token": torch.zeros(1, 1, 48), "payload": _Payload()}, path)
    _load_fails(path, "weights_only=True")
    assert not _Payload.ran


def test_non_tensor_entries_are_refused(tmp_path):
    path = tmp_path / "mixed.pth"
    torch.save({"cls_token": torch.zeros(1, 1, 48), "note": "hello"}, path)
    _load_fails(path, "not tensors: note")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_dinov2_weights(DinoV2(SMALL), tmp_path / "nope.pth")


@pytest.mark.parametrize("content", [b"", b"garbage bytes, not weights" * 10,
                                     b"PK\x03\x04 not really a zip"])
def test_garbage_file(tmp_path, content):
    path = tmp_path / "garbage.pth"
    path.write_bytes(content)
    _load_fails(path, "PyTorch|safetensors")


def test_truncated_files(tmp_path):
    from safetensors.torch import save_file
    state = official_state()
    torch.save(state, tmp_path / "w.pth")
    save_file(state, tmp_path / "w.safetensors")
    for name in ("w.pth", "w.safetensors"):
        data = (tmp_path / name).read_bytes()
        (tmp_path / name).write_bytes(data[: len(data) // 2])
        _load_fails(tmp_path / name, "cannot read")


def test_unrecognisable_keys():
    with pytest.raises(CheckpointError, match="cannot tell the key format"):
        convert_dinov2_state_dict({"foo.weight": torch.zeros(1)})
