"""The ``pose`` head: shapes, UDP targets, DARK decoding, affine, flip test, loss."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cv2 = pytest.importorskip("cv2")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from argus_edge.training.heads import PoseHead, PoseHeadConfig, build_head  # noqa: E402
from argus_edge.training.data.affine import (  # noqa: E402
    affine_points,
    get_affine_transform,
    invert_affine,
)
from argus_edge.training.heads import pose_codec as pc  # noqa: E402
from argus_edge.training.models import PRESETS, ArgusConfig  # noqa: E402
from argus_edge.training.models.argus import Argus  # noqa: E402

IN, HM = (256, 192), (64, 48)
SCALE = pc.crop_to_heatmap_scale(IN, HM)  # crop px → heatmap px, (x, y)
FLIP_INDEX = pc.flip_index_from_pairs(PoseHeadConfig().flip_pairs, 17)


@pytest.fixture
def single_thread():
    """Tiny convs gain nothing from threads, and a busy 2-core machine makes oneDNN's
    thread pool dozens of times slower; the training-loop tests run on one thread."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _feats(b: int = 2, c: int = 96, size=IN, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, c, size[0] // s, size[1] // s, generator=g) for s in (4, 8, 16, 32)]


def _interior_keypoints(rng, n: int, k: int = 17, margin: float = 6.0) -> np.ndarray:
    """Crop-pixel keypoints whose heatmap position is ≥ ``margin`` px from the border."""
    hm = rng.uniform([margin, margin], [HM[1] - 1 - margin, HM[0] - 1 - margin], (n, k, 2))
    return hm / SCALE


def _random_heatmaps(rng, n: int, k: int = 17) -> np.ndarray:
    """Network-like maps: a few Gaussian blobs, noise, some all-negative maps."""
    kps = rng.uniform([0, 0], [IN[1] - 1, IN[0] - 1], (n, k, 2))
    hm, _ = pc.encode_udp_heatmaps(kps, np.ones((n, k)), HM, IN, 2.0)
    other, _ = pc.encode_udp_heatmaps(kps[:, ::-1] * 0.7, np.ones((n, k)), HM, IN, 3.0)
    hm = hm * rng.uniform(0.2, 1.0, (n, k, 1, 1)) + 0.5 * other
    hm += rng.normal(0, 0.02, hm.shape)
    hm[rng.random((n, k)) < 0.1] = -0.05
    return hm.astype(np.float32)


def _decode_loop(heatmaps: np.ndarray, kernel: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """Per-person, per-keypoint transcription of mmpose's UDP DARK decode (cv2 blur,
    np.linalg.inv), plus this codebase's two guards. The vectorised decoder must match it."""
    n, k, h, w = heatmaps.shape
    kps, scores = np.zeros((n, k, 2)), np.zeros((n, k))
    border = (kernel - 1) // 2
    for i in range(n):
        for j in range(k):
            m = heatmaps[i, j].astype(np.float64)
            y, x = np.unravel_index(np.argmax(m), m.shape)
            scores[i, j], kps[i, j] = m[y, x], (x, y)
            if m[y, x] <= 0:
                continue
            padded = np.zeros((h + 2 * border, w + 2 * border))
            padded[border:-border, border:-border] = m
            blur = cv2.GaussianBlur(padded, (kernel, kernel), 0)[border:-border, border:-border]
            blur *= m.max() / blur.max()
            lg = np.pad(np.log(np.clip(blur, 1e-3, 50.0)), 1, mode="edge")
            py, px = y + 1, x + 1
            grad = np.array([0.5 * (lg[py, px + 1] - lg[py, px - 1]),
                             0.5 * (lg[py + 1, px] - lg[py - 1, px])])
            dxx = lg[py, px + 1] - 2 * lg[py, px] + lg[py, px - 1]
            dyy = lg[py + 1, px] - 2 * lg[py, px] + lg[py - 1, px]
            dxy = 0.5 * (lg[py + 1, px + 1] - lg[py, px + 1] - lg[py + 1, px] + 2 * lg[py, px]
                         - lg[py, px - 1] - lg[py - 1, px] + lg[py - 1, px - 1])
            hess = np.array([[dxx, dxy], [dxy, dyy]]) + np.finfo(np.float32).eps * np.eye(2)
            if hess[0, 0] < 0 and np.linalg.det(hess) > 0:
                kps[i, j] += np.clip(-np.linalg.inv(hess) @ grad, -1, 1)
    return kps / SCALE, scores


# ---------------------------------------------------------------------------- head
def test_config_defaults_and_validation():
    cfg = PoseHeadConfig()
    assert cfg.num_keypoints == len(cfg.keypoint_names) == 17
    assert len(cfg.skeleton) == 19 and len(cfg.flip_pairs) == 8
    assert (cfg.heatmap_size, cfg.input_size, cfg.sigma) == (HM, IN, 2.0)
    with pytest.raises(ValueError, match="stride 4"):
        PoseHeadConfig(heatmap_size=(32, 24))
    with pytest.raises(ValueError, match="disjoint"):
        PoseHeadConfig(flip_pairs=((1, 2), (2, 3)))


def test_forward_shapes_on_256x192_crops():
    head = build_head("pose", PoseHeadConfig(features=32), 96)
    assert isinstance(head, PoseHead)
    out = head(_feats(b=3))
    assert list(out) == ["heatmaps"] == head.output_names()
    assert out["heatmaps"].shape == (3, 17, 64, 48)


def test_argus_tiny_with_pose_and_depth_heads_round_trips_config():
    from argus_edge.training.heads import DepthHeadConfig
    cfg = dataclasses.replace(PRESETS["argus_tiny"], heads={
        "pose": PoseHeadConfig(features=32), "depth": DepthHeadConfig(features=32)})
    assert ArgusConfig.from_dict(json.loads(cfg.to_json())) == cfg
    torch.manual_seed(0)
    model = Argus(cfg).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, *IN), tasks=["pose", "depth"])
    assert out["pose"]["heatmaps"].shape == (2, 17, 64, 48)
    assert out["depth"]["depth"].shape == (2, 1, 64, 48)


# ---------------------------------------------------------------------------- targets
def test_udp_target_peak_at_the_udp_position():
    hm_xy = np.array([[20.0, 31.0], [7.25, 50.5]])  # heatmap px (x, y)
    kps = hm_xy / SCALE  # crop px: 20 · 191/47 = 81.28…, …
    heatmaps, weights = pc.encode_udp_heatmaps(kps[None], np.array([[2, 1]]), HM, IN)
    assert heatmaps.shape == (1, 2, 64, 48) and weights.tolist() == [[1.0, 1.0]]
    assert heatmaps[0, 0, 31, 20] == pytest.approx(1.0, abs=1e-6)
    assert np.unravel_index(heatmaps[0, 0].argmax(), HM) == (31, 20)
    # sub-pixel: value at a pixel is the exact Gaussian around (7.25, 50.5), σ = 2
    expect = np.exp(-((8 - 7.25) ** 2 + (52 - 50.5) ** 2) / 8.0)
    assert heatmaps[0, 1, 52, 8] == pytest.approx(expect, rel=1e-5)
    assert heatmaps[0, 1, 50, 20] == 0.0  # outside the ±3σ window


def test_invisible_and_far_outside_keypoints_get_zero_weight():
    kps = np.array([[[50.0, 60.0], [50.0, 60.0], [-100.0, 60.0], [np.nan, 3.0]]])
    heatmaps, weights = pc.encode_udp_heatmaps(kps, np.array([[2, 0, 2, 2]]), HM, IN)
    assert weights.tolist() == [[1.0, 0.0, 0.0, 0.0]]
    assert heatmaps[0, 1:].max() == 0.0 and heatmaps[0, 0].max() > 0.9


def test_encode_decode_round_trip_dark_beats_argmax():
    rng = np.random.default_rng(1)
    kps = _interior_keypoints(rng, 16)
    heatmaps, _ = pc.encode_udp_heatmaps(kps, np.ones(kps.shape[:2]), HM, IN)
    dark, scores = pc.decode_udp_heatmaps(heatmaps, IN)
    plain, _ = pc.decode_udp_heatmaps(heatmaps, IN, refine=False)
    err_dark = np.abs((dark - kps) * SCALE).max()
    err_plain = np.abs((plain - kps) * SCALE)
    assert err_dark < 0.05
    assert err_plain.max() > 0.3 and err_plain.mean() > 10 * err_dark
    assert np.all(scores > 0.6) and np.all(scores <= 1.0)


# ---------------------------------------------------------------------------- affine
def test_decode_through_affine_matches_hand_computation():
    center, box = np.array([300.0, 200.0]), np.array([150.0, 200.0])  # box (w, h)
    warp = get_affine_transform(center, box, 0.0, IN[::-1])
    heatmaps = np.zeros((1, 1, *HM), np.float32)
    heatmaps[0, 0, 32, 24] = 1.0  # a single-pixel peak: DARK leaves it at (24, 32)
    kps, scores = pc.decode_udp_heatmaps(heatmaps, IN, warp[None])
    # heatmap → crop: ×(in−1)/(hm−1); crop → image: ×box/(in−1) + centre − box/2
    x = 24 * (191 / 47) * (150 / 191) + 300 - 75
    y = 32 * (255 / 63) * (200 / 255) + 200 - 100
    np.testing.assert_allclose(kps[0, 0], [x, y], atol=1e-4)
    assert scores[0, 0] == 1.0
    # the box edges land on the first/last pixel centres
    corners = affine_points(np.array([[225.0, 100.0], [375.0, 300.0]]), warp)
    np.testing.assert_allclose(corners, [[0, 0], [191, 255]], atol=1e-9)


def test_rotated_crop_pipeline_recovers_image_keypoints():
    rng = np.random.default_rng(2)
    centers = rng.uniform(200, 400, (4, 2))
    boxes = np.stack([rng.uniform(90, 150, 4)] * 2, -1) * [1.0, 256 / 192]
    warps = np.stack([get_affine_transform(c, b, r, IN[::-1])
                      for c, b, r in zip(centers, boxes, rng.uniform(-40, 40, 4))])
    crop_kps = _interior_keypoints(rng, 4)
    image_kps = affine_points(crop_kps, invert_affine(warps))
    np.testing.assert_allclose(affine_points(image_kps, warps), crop_kps, atol=1e-9)
    heatmaps, _ = pc.encode_udp_heatmaps(crop_kps, np.ones((4, 17)), HM, IN)
    decoded, _ = pc.decode_udp_heatmaps(heatmaps, IN, warps)
    scale_px = boxes[:, None, :] / (np.array([IN[1], IN[0]]) - 1) / SCALE  # image px per hm px
    assert np.all(np.abs(decoded - image_kps) < 0.05 * scale_px.max(-1, keepdims=True))


# ---------------------------------------------------------------------------- flip test
def test_flip_test_of_a_mirrored_prediction_returns_the_same_keypoints():
    rng = np.random.default_rng(3)
    kps = _interior_keypoints(rng, 5)
    vis = np.ones((5, 17))
    heatmaps, _ = pc.encode_udp_heatmaps(kps, vis, HM, IN)
    # what a perfect model sees on the mirrored crop: x → W−1−x, left and right swapped
    flipped_kps = kps[:, FLIP_INDEX] * [-1, 1] + [IN[1] - 1, 0]
    flipped, _ = pc.encode_udp_heatmaps(flipped_kps, vis, HM, IN)
    fused = pc.fuse_flip_test(heatmaps, flipped, FLIP_INDEX)
    np.testing.assert_allclose(fused, heatmaps, atol=1e-6)  # UDP: no shift needed
    decoded, _ = pc.decode_udp_heatmaps(fused, IN)
    assert np.abs((decoded - kps) * SCALE).max() < 0.05


def test_flip_test_on_a_symmetric_heatmap_is_a_no_op():
    rng = np.random.default_rng(4)
    half = _interior_keypoints(rng, 1)[0]
    kps = half.copy()
    for a, b in PoseHeadConfig().flip_pairs:  # right = mirror of left
        kps[b] = [IN[1] - 1 - kps[a, 0], kps[a, 1]]
    kps[0, 0] = (IN[1] - 1) / 2  # the nose on the axis
    heatmaps, _ = pc.encode_udp_heatmaps(kps[None], np.ones((1, 17)), HM, IN)
    np.testing.assert_allclose(pc.flip_heatmaps_back(heatmaps, FLIP_INDEX), heatmaps,
                               atol=1e-6)
    with_flip, s1 = pc.decode_udp_heatmaps(pc.fuse_flip_test(heatmaps, heatmaps, FLIP_INDEX), IN)
    without, s0 = pc.decode_udp_heatmaps(heatmaps, IN)
    np.testing.assert_allclose(with_flip, without, atol=1e-4)
    np.testing.assert_allclose(s1, s0, atol=1e-6)


def test_head_predict_with_flip_and_warps():
    head = PoseHead(PoseHeadConfig(features=16), 96)
    rng = np.random.default_rng(5)
    kps = _interior_keypoints(rng, 2)
    hm, _ = pc.encode_udp_heatmaps(kps, np.ones((2, 17)), HM, IN)
    flipped, _ = pc.encode_udp_heatmaps(kps[:, FLIP_INDEX] * [-1, 1] + [IN[1] - 1, 0],
                                        np.ones((2, 17)), HM, IN)
    warps = np.stack([get_affine_transform((100.0, 120.0), (96.0, 128.0), 0.0, IN[::-1]),
                      get_affine_transform((50.0, 60.0), (48.0, 64.0), 15.0, IN[::-1])])
    out = head.predict({"heatmaps": torch.from_numpy(hm)}, warps=warps,
                       flipped_outputs={"heatmaps": torch.from_numpy(flipped)})
    assert out["keypoints"].shape == (2, 17, 2) and out["scores"].shape == (2, 17)
    expect = affine_points(kps, invert_affine(warps))
    np.testing.assert_allclose(out["keypoints"], expect, atol=0.05)


# ---------------------------------------------------------------------------- batching
@pytest.mark.parametrize("n", [1, 8, 32])
def test_vectorised_decoder_equals_per_person_loop(n):
    heatmaps = _random_heatmaps(np.random.default_rng(n), n)
    kps, scores = pc.decode_udp_heatmaps(heatmaps, IN)
    ref_kps, ref_scores = _decode_loop(heatmaps)
    np.testing.assert_allclose(kps, ref_kps, atol=1e-3)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 4),
       kernel=st.sampled_from([11, 13, 17]))  # OpenCV uses fixed taps for ≤ 9
def test_vectorised_decoder_matches_loop_hypothesis(seed, n, kernel):
    heatmaps = _random_heatmaps(np.random.default_rng(seed), n, k=5)
    kps, scores = pc.decode_udp_heatmaps(heatmaps, IN, blur_kernel=kernel)
    ref_kps, ref_scores = _decode_loop(heatmaps, kernel)
    np.testing.assert_allclose(kps, ref_kps, atol=1e-3)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-6)


# ---------------------------------------------------------------------------- loss
def test_mse_loss_ignores_zero_weight_joints():
    head = PoseHead(PoseHeadConfig(features=16), 96)
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 17, *HM, generator=g)
    weights = torch.ones(2, 17)
    weights[1, 4] = 0.0
    pred = torch.rand(2, 17, *HM, generator=g, requires_grad=True)
    loss = head.loss({"heatmaps": pred}, {"heatmaps": target, "target_weights": weights})
    w = weights[..., None, None]
    torch.testing.assert_close(loss["loss"], ((pred - target) ** 2 * w).mean())
    loss["loss"].backward()
    assert pred.grad[1, 4].abs().max() == 0 and pred.grad[0, 4].abs().max() > 0
    changed = pred.detach().clone()
    changed[1, 4] += 100.0
    again = head.loss({"heatmaps": changed}, {"heatmaps": target, "target_weights": weights})
    torch.testing.assert_close(again["loss"], loss["loss"].detach())


def test_loss_from_keypoints_equals_loss_from_encoded_heatmaps():
    head = PoseHead(PoseHeadConfig(features=16), 96)
    rng = np.random.default_rng(6)
    kps = np.concatenate([_interior_keypoints(rng, 2), rng.integers(0, 3, (2, 17, 1))], -1)
    hm, wt = pc.encode_udp_heatmaps(kps[..., :2], kps[..., 2], HM, IN)
    pred = torch.rand(2, 17, *HM)
    a = head.loss({"heatmaps": pred}, {"keypoints": torch.from_numpy(kps)})
    b = head.loss({"heatmaps": pred}, {"heatmaps": hm, "target_weights": wt})
    torch.testing.assert_close(a["loss"], b["loss"])


def test_pose_loss_falls_when_overfitting_a_tiny_target(single_thread):
    torch.manual_seed(0)
    cfg = PoseHeadConfig(features=16, input_size=(64, 48), heatmap_size=(16, 12), sigma=1.0)
    head = PoseHead(cfg, 32)
    feats = _feats(b=2, c=32, size=cfg.input_size)
    kps = np.random.default_rng(7).uniform([4, 4], [43, 59], (2, 17, 2))
    targets = {"keypoints": torch.from_numpy(kps), "keypoint_weights": torch.ones(2, 17)}
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        loss = head.loss(head(feats), targets)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
