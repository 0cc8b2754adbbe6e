"""The ``depth`` head and its losses: shapes, units, SILog, gradient matching, masking."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from argus_edge.training.heads import DepthHead, DepthHeadConfig, build_head  # noqa: E402
from argus_edge.training.heads.depth_losses import (  # noqa: E402
    gradient_matching_loss,
    log_residual,
    silog_loss,
)


@pytest.fixture
def single_thread():
    """Tiny convs gain nothing from threads, and a busy 2-core machine makes oneDNN's
    thread pool dozens of times slower; the training-loop test runs on one thread."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _feats(b: int = 2, c: int = 96, size=(64, 96), seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, c, size[0] // s, size[1] // s, generator=g) for s in (4, 8, 16, 32)]


def _depth(b: int = 2, size=(32, 48), seed: int = 0) -> torch.Tensor:
    """Smooth positive depth maps with some structure (a plane plus a bump), metres."""
    g = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size[0]), torch.linspace(0, 1, size[1]),
                            indexing="ij")
    a = torch.rand(b, 1, 1, generator=g) * 2 + 1
    return a + 3 * ys + torch.exp(-((xs - 0.5) ** 2 + (ys - 0.4) ** 2) * 20)


def _losses(pred, gt, valid=None):
    r, m = log_residual(pred, gt, valid)
    return silog_loss(r, m), gradient_matching_loss(r, m)


# ---------------------------------------------------------------------------- head
def test_forward_shapes_units_and_predict_size():
    cfg = DepthHeadConfig(features=32, max_depth=20.0, init_depth=3.0)
    head = build_head("depth", cfg, 96)
    assert isinstance(head, DepthHead)
    out = head(_feats(b=2))
    assert list(out) == ["depth"] == head.output_names()
    d = out["depth"]
    assert d.shape == (2, 1, 16, 24)  # stride 4 of a 64×96 input
    assert torch.all(d > 0) and torch.all(d < cfg.max_depth)
    assert d.mean().item() == pytest.approx(3.0, rel=0.05)  # init_depth
    assert head.predict(out).shape == (2, 64, 96)
    assert head.predict(out, size=(30, 50)).shape == (2, 30, 50)


def test_config_rejects_init_depth_outside_range():
    with pytest.raises(ValueError, match="init_depth"):
        DepthHeadConfig(max_depth=5.0, init_depth=5.0)


# ---------------------------------------------------------------------------- SILog
@pytest.mark.parametrize("k", [0.5, 2.0, 7.3])
def test_silog_of_a_scaled_prediction_is_the_hand_constant(k):
    gt = _depth()
    silog, grad = _losses(k * gt, gt)
    assert silog.item() == pytest.approx(10 * math.sqrt(1 - 0.85) * abs(math.log(k)), rel=1e-4)
    assert grad.item() == pytest.approx(0.0, abs=1e-5)


def test_silog_matches_a_hand_computation_per_image():
    gt = _depth(b=2, size=(8, 8))
    noise = torch.randn(2, 8, 8, generator=torch.Generator().manual_seed(1)) * 0.2
    pred = gt * torch.exp(noise)
    r, m = log_residual(pred, gt)
    expect = np.mean([10 * np.sqrt((d ** 2).mean() - 0.85 * d.mean() ** 2)
                      for d in noise.double().numpy()])
    assert silog_loss(r, m).item() == pytest.approx(expect, rel=1e-4)
    assert silog_loss(*log_residual(gt, gt)).item() < 2e-3  # only the sqrt's ε


# ---------------------------------------------------------------------------- gradient matching
def test_gradient_matching_is_zero_for_exact_and_scaled_predictions():
    gt = _depth()
    for pred in (gt, 3.5 * gt):
        assert _losses(pred, gt)[1].item() == pytest.approx(0.0, abs=1e-5)
    bumped = gt.clone()
    bumped[:, 10:20, 10:20] *= 1.5
    assert _losses(bumped, gt)[1].item() > 0.01


def test_gradient_matching_hand_value_single_scale():
    gt = torch.ones(1, 2, 2)
    pred = torch.tensor([[[1.0, math.e], [1.0, 1.0]]])  # residual [[0, 1], [0, 0]]
    r, m = log_residual(pred, gt)
    # |∂x| pairs: (0,1)→1, (0,0)→0; |∂y|: (0,0)→0, (1,0)→1 → 2 over 4 valid pixels
    assert gradient_matching_loss(r, m, scales=1).item() == pytest.approx(0.5, rel=1e-6)
    # scale 1 (every second pixel) sees one pixel and no pairs
    assert gradient_matching_loss(r, m, scales=2).item() == pytest.approx(0.5, rel=1e-6)


# ---------------------------------------------------------------------------- masking
def test_invalid_pixels_are_ignored():
    gt = _depth()
    pred = gt * torch.exp(torch.randn(gt.shape, generator=torch.Generator().manual_seed(2)) * .1)
    holes = torch.zeros_like(gt, dtype=torch.bool)
    holes[:, 5:15, 20:40] = True
    gt_holes = torch.where(holes, torch.zeros_like(gt), gt)
    base = _losses(pred, gt_holes)
    wild = torch.where(holes, torch.full_like(pred, 1e-9), pred)  # garbage under the holes
    for a, b in zip(base, _losses(wild, gt_holes)):
        assert torch.isfinite(a) and a.item() == pytest.approx(b.item(), rel=1e-6)
    # an explicit mask does the same as zeros in the ground truth
    for a, b in zip(base, _losses(pred, gt, valid=~holes)):
        assert a.item() == pytest.approx(b.item(), rel=1e-6)
    nan_gt = torch.where(holes, torch.full_like(gt, float("nan")), gt)
    for a, b in zip(base, _losses(pred, nan_gt)):
        assert a.item() == pytest.approx(b.item(), rel=1e-6)


def test_no_valid_pixel_gives_zero_loss_with_a_graph():
    head = DepthHead(DepthHeadConfig(features=16), 96)
    out = head(_feats(b=1))
    loss = head.loss(out, {"depth": torch.zeros(1, 64, 96)})
    assert loss["loss"].item() == 0.0 and loss["loss"].requires_grad
    loss["loss"].backward()


def test_head_loss_is_computed_at_target_resolution():
    head = DepthHead(DepthHeadConfig(features=16), 96)
    out = head(_feats(b=2))
    gt = _depth(b=2, size=(64, 96))
    loss = head.loss(out, {"depth": gt[:, None]})
    assert set(loss) == {"loss", "loss_silog", "loss_grad"}
    r, m = log_residual(head.predict(out, size=(64, 96)), gt)
    assert loss["loss_silog"].item() == pytest.approx(silog_loss(r, m).item(), rel=1e-5)
    total = loss["loss_silog"] + 0.5 * loss["loss_grad"]
    assert loss["loss"].item() == pytest.approx(total.item(), rel=1e-5)


def test_depth_loss_falls_when_overfitting_a_tiny_target(single_thread):
    torch.manual_seed(0)
    head = DepthHead(DepthHeadConfig(features=16), 32)
    feats = _feats(b=2, c=32, size=(32, 32))
    gt = _depth(b=2, size=(32, 32))
    gt[:, :4] = 0.0  # unknown rows
    opt = torch.optim.Adam(head.parameters(), lr=5e-3)
    losses = []
    for _ in range(30):
        loss = head.loss(head(feats), {"depth": gt})["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
