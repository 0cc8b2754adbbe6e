"""The Argus backbone: sizes, shapes, freezing, deformable attention, token scaling."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from argus_edge.training.models import (  # noqa: E402
    PRESETS,
    ArgusConfig,
    create_model,
    list_models,
)
from argus_edge.training.models.adapter import token_scale  # noqa: E402
from argus_edge.training.models.layers import (  # noqa: E402
    MSDeformAttn,
    ms_deform_attn_core,
    reference_points,
)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return create_model("argus_tiny").eval()


def test_registry_has_the_four_sizes():
    assert {"argus_tiny", "argus_small", "argus_base", "argus_large"} <= set(list_models())
    with pytest.raises(KeyError, match="unknown model"):
        create_model("argus_huge")


def test_argus_base_exact_parameter_counts_and_shapes():
    torch.manual_seed(0)
    model = create_model("argus_base").eval()
    n = model.num_parameters()
    assert n["vit"] == 86_583_552
    assert n["adapter"] == 13_680_608
    assert n["total"] == 100_264_160
    assert n["trainable"] == n["adapter"]
    assert round(100 * n["adapter"] / n["total"], 2) == 13.64
    with torch.inference_mode():
        maps = model.forward_features(torch.randn(1, 3, 512, 512))
    assert [tuple(m.shape) for m in maps] == [
        (1, 768, 128, 128), (1, 768, 64, 64), (1, 768, 32, 32), (1, 768, 16, 16)]
    assert all(torch.isfinite(m).all() for m in maps)


@pytest.mark.parametrize("name,dim,blocks", [("argus_small", 384, 12), ("argus_large", 1024, 24)])
def test_other_sizes_build(name, dim, blocks):
    model = create_model(name)
    assert model.cfg.vit.embed_dim == dim and len(model.vit.blocks) == blocks
    assert model.num_parameters()["trainable"] == model.num_parameters()["adapter"]


def test_tiny_non_square_shapes(tiny):
    with torch.inference_mode():
        maps = tiny.forward_features(torch.randn(2, 3, 64, 96))
    d = tiny.cfg.vit.embed_dim
    assert [tuple(m.shape) for m in maps] == [
        (2, d, 16, 24), (2, d, 8, 12), (2, d, 4, 6), (2, d, 2, 3)]


def test_gradients_reach_only_the_adapter():
    torch.manual_seed(0)
    model = create_model("argus_tiny").train()
    # gamma and the offset/attention projections start at 0, which blocks gradients to
    # the injectors and the query norms at step 0: perturb them for the test
    for inter in model.adapter.interactions:
        torch.nn.init.constant_(inter.injector.gamma, 0.1)
    for m in model.adapter.modules():
        if isinstance(m, MSDeformAttn):
            torch.nn.init.normal_(m.sampling_offsets.weight, std=0.01)
            torch.nn.init.normal_(m.attention_weights.weight, std=0.01)
    maps = model.forward_features(torch.randn(2, 3, 64, 64))
    sum((m * torch.randn_like(m)).sum() for m in maps).backward()
    assert all(p.grad is None for p in model.vit.parameters())
    missing = [k for k, p in model.adapter.named_parameters()
               if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
    assert not model.vit.training  # the frozen ViT stays in eval mode


def test_rejects_sizes_that_are_not_multiples_of_32(tiny):
    with pytest.raises(ValueError, match="multiples of 32"):
        tiny.forward_features(torch.randn(1, 3, 64, 80))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        tiny.forward_features(torch.randn(3, 64, 64))


def test_vit_sees_the_image_rescaled_by_14_16(tiny):
    cfg = tiny.cfg
    assert cfg.vit_input_size(512, 512) == (448, 448)
    assert PRESETS["argus_base"].vit_input_size(512, 768) == (448, 672)
    x = torch.randn(1, 3, 64, 96)
    vit_x = tiny.vit_input(x)
    assert tuple(vit_x.shape[-2:]) == (56, 84)
    with torch.inference_mode():
        a = tiny.forward_features(x)
        b = tiny.forward_features(x, vit_images=vit_x)
    for m1, m2 in zip(a, b):
        torch.testing.assert_close(m1, m2, rtol=0, atol=0)
    with pytest.raises(ValueError, match="vit_images"):
        tiny.forward_features(x, vit_images=torch.randn(1, 3, 64, 96))


def test_fixed_input_size_matches_dynamic_and_rejects_other_sizes():
    torch.manual_seed(1)
    model = create_model("argus_tiny").eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.inference_mode():
        dynamic = model.forward_features(x)
        model.fix_input_size(64, 96)
        fixed = model.forward_features(x)
    for a, b in zip(dynamic, fixed):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(ValueError, match="fixed"):
        model.forward_features(torch.randn(1, 3, 64, 64))
    model.vit.release_input_size()
    model.forward_features(torch.randn(1, 3, 64, 64))


def test_zero_gamma_adapter_leaves_the_vit_untouched():
    """With the injectors' gamma at 0 (their init), cls, registers and patches pass through
    the interactions unchanged: the last block's output equals the plain ViT's."""
    torch.manual_seed(2)
    model = create_model("argus_tiny").eval()
    captured = {}
    model.vit.blocks[-1].register_forward_hook(lambda m, i, o: captured.setdefault("out", o))
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        model.forward_features(x)
        plain = model.vit.forward_features(model.vit_input(x))["x_prenorm"]
    torch.testing.assert_close(captured["out"], plain, rtol=1e-5, atol=1e-5)


def test_token_scale_normalises_mean_norm_per_image():
    x = torch.randn(3, 50, 64) * torch.tensor([0.1, 1.0, 40.0])[:, None, None]
    scaled = x * token_scale(x)
    torch.testing.assert_close(scaled.norm(dim=-1).mean(-1), torch.full((3,), 8.0))


def test_injector_update_is_relative_to_token_norm():
    """Scaling the ViT tokens by k scales the injector's update by k as well."""
    torch.manual_seed(3)
    model = create_model("argus_tiny").eval()
    inter = model.adapter.interactions[0]
    torch.nn.init.constant_(inter.injector.gamma, 1.0)
    h = w = 64
    c_shapes = [(h // 8, w // 8), (h // 16, w // 16), (h // 32, w // 32)]
    grid = c_shapes[1]
    d = model.cfg.vit.embed_dim
    c = torch.randn(1, sum(a * b for a, b in c_shapes), d)
    x = torch.randn(1, 5 + grid[0] * grid[1], d)
    ref_v, ref_c = reference_points([grid]), reference_points(c_shapes)
    with torch.inference_mode():
        out1, _ = inter(x, c, [], 5, grid, c_shapes, ref_v, ref_c)
        out2, _ = inter(7.0 * x, c, [], 5, grid, c_shapes, ref_v, ref_c)
    torch.testing.assert_close(out2 - 7.0 * x, 7.0 * (out1 - x), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out1[:, :5], x[:, :5])  # cls + registers kept


def test_config_json_round_trip():
    for cfg in PRESETS.values():
        again = ArgusConfig.from_dict(__import__("json").loads(cfg.to_json()))
        assert again == cfg
    with pytest.raises(TypeError):
        ArgusConfig.from_dict({**PRESETS["argus_tiny"].to_dict(), "bogus": 1})


def test_interaction_indexes_must_cover_all_blocks():
    cfg = PRESETS["argus_tiny"]
    from argus_edge.training.models import Argus
    for indexes, message in ((((0, 0), (2, 2), (3, 3), (3, 3)), "cover"),
                             (((0, 1), (2, 3)), "4 interactions")):
        bad = dataclasses.replace(cfg, adapter=dataclasses.replace(
            cfg.adapter, interaction_indexes=indexes))
        with pytest.raises(ValueError, match=message):
            Argus(bad)


# --------------------------------------------------------------- deformable attention
def test_deformable_attention_init_follows_deformable_detr():
    attn = MSDeformAttn(dim=48, n_levels=3, n_heads=4, n_points=2, value_ratio=0.5)
    assert attn.value_proj.out_features == 24
    assert torch.all(attn.sampling_offsets.weight == 0)
    assert torch.all(attn.attention_weights.weight == 0)
    assert torch.all(attn.attention_weights.bias == 0)
    bias = attn.sampling_offsets.bias.view(4, 3, 2, 2)
    for h in range(4):
        theta = 2 * math.pi * h / 4
        d = torch.tensor([math.cos(theta), math.sin(theta)])
        d = d / d.abs().max()
        for p in range(2):
            torch.testing.assert_close(bias[h, :, p], (p + 1) * d.expand(3, 2))


def _bilinear_zero_pad(img: np.ndarray, x: float, y: float) -> np.ndarray:
    """img (C,H,W); (x, y) in pixels with centres at +0.5 (align_corners=False)."""
    c, h, w = img.shape
    x, y = x - 0.5, y - 0.5
    x0, y0 = math.floor(x), math.floor(y)
    out = np.zeros(c)
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                out += wy * wx * img[:, yy, xx]
    return out


def test_deformable_attention_core_matches_brute_force():
    rng = np.random.default_rng(0)
    b, m, dh, lq, p = 2, 3, 4, 5, 2
    shapes = [(6, 7), (3, 4)]
    s = sum(h * w for h, w in shapes)
    value = rng.standard_normal((b, s, m, dh)).astype(np.float32)
    loc = rng.uniform(-0.2, 1.2, (b, lq, m, len(shapes), p, 2)).astype(np.float32)
    wts = rng.uniform(0, 1, (b, lq, m, len(shapes), p)).astype(np.float32)
    got = ms_deform_attn_core(torch.from_numpy(value), shapes, torch.from_numpy(loc),
                              torch.from_numpy(wts)).numpy()
    expected = np.zeros((b, lq, m * dh))
    starts = np.cumsum([0] + [h * w for h, w in shapes])
    for bi in range(b):
        for q in range(lq):
            for hd in range(m):
                acc = np.zeros(dh)
                for lvl, (h, w) in enumerate(shapes):
                    img = value[bi, starts[lvl]:starts[lvl + 1], hd].T.reshape(dh, h, w)
                    for pt in range(p):
                        x, y = loc[bi, q, hd, lvl, pt] * (w, h)
                        acc += wts[bi, q, hd, lvl, pt] * _bilinear_zero_pad(img, x, y)
                expected[bi, q, hd * dh:(hd + 1) * dh] = acc
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_reference_points_are_pixel_centres():
    ref = reference_points([(2, 4)])
    assert ref.shape == (1, 8, 1, 2)
    torch.testing.assert_close(ref[0, :4, 0, 0], torch.tensor([0.125, 0.375, 0.625, 0.875]))
    torch.testing.assert_close(ref[0, ::4, 0, 1], torch.tensor([0.25, 0.75]))
