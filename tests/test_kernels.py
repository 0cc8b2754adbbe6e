"""Post-processing kernels of the C++ core (``argus_edge._core.kernels``) vs the numpy
references in the training code (the one definition of decoding), plus OpenCV's NMS.

Tolerances: indices, labels, keep sets, masks and boxes are compared exactly. Scores are
exact except the sigmoid itself: the C++ sigmoid is the correctly rounded float32 value,
the reference's ``exp(-logaddexp(0, -x))`` in float32 is a few ULP off (numpy's SIMD exp);
the pipeline is therefore tested twice, once with the reference's own sigmoid on logits
whose scores cannot collide, and once with the C++ sigmoid substituted into the reference
(everything exact). Keypoints: float32 results of float64 math, compared at 1e-5.

The references are loaded from their files without the training packages' ``__init__``
(which imports torch), so only the semantic/depth tests need torch.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from argus_edge._core import kernels as K
from argus_edge._core import transform_for
from argus_edge._errors import InvalidArgumentError

TRAINING = Path(__file__).resolve().parents[1] / "training"


def _load_reference(module: str):
    """Imports ``training/<module>`` under a private package name, creating the parent
    packages as empty namespaces so that no training ``__init__`` (torch) runs."""
    parts = module.split(".")
    for i in range(len(parts)):  # the root and every parent package of the module
        name = ".".join(["_argus_ref", *parts[:i]]) if i else "_argus_ref"
        if name not in sys.modules:
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            pkg = importlib.util.module_from_spec(spec)
            pkg.__path__ = [str(TRAINING.joinpath(*parts[:i]))]
            sys.modules[name] = pkg
    return importlib.import_module("_argus_ref." + module)


ref_nms = _load_reference("heads.dense.nms")
ref_post = _load_reference("heads.dense.postprocess")
ref_masks = _load_reference("heads.dense.mask_paste")
ref_letterbox = _load_reference("heads.dense.letterbox")
ref_pose = _load_reference("heads.pose_codec")
ref_affine = _load_reference("data.affine")
Letterbox = ref_letterbox.Letterbox

FAST = settings(max_examples=150, deadline=None)
MEDIUM = settings(max_examples=60, deadline=None)


def _ref_nms(boxes, scores, labels, iou, agnostic, max_det):
    keep = ref_nms.batched_nms(boxes, scores, labels, iou, agnostic)
    return keep if max_det < 0 else keep[:max_det]


# ---- NMS -----------------------------------------------------------------------------

@st.composite
def box_sets(draw, max_n: int = 150):
    """Boxes on a coarse grid (duplicates, exact IoU ties, zero-area and inverted boxes),
    scores from a small set (ties) or free, labels few or arbitrary. n >= 64 takes the
    kernel's spatial-grid path, smaller n the linear scan."""
    n = draw(st.integers(0, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 16, (n, 2)).astype(np.float64)
    wh = rng.integers(-3, 10, (n, 2)).astype(np.float64)
    if draw(st.booleans()):
        xy, wh = xy / 2, wh / 2
    boxes = np.concatenate([xy, xy + wh], axis=1)
    if n and draw(st.booleans()):  # exact duplicates
        boxes[rng.integers(0, n, n // 2)] = boxes[0]
    tied = draw(st.booleans())
    scores = (rng.integers(0, 5, n) / 4) if tied else rng.random(n)
    labels = rng.integers(0, 3, n) if draw(st.booleans()) else rng.integers(-100, 100, n)
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return boxes.astype(dtype), scores.astype(dtype), labels.astype(np.int64)


@FAST
@given(data=box_sets(), iou=st.sampled_from([0.0, 0.25, 1 / 3, 0.5, 0.7, 1.0, 0.4512]),
       agnostic=st.booleans(), max_det=st.sampled_from([-1, 0, 1, 3, 100]))
def test_nms_matches_reference(data, iou, agnostic, max_det):
    boxes, scores, labels = data
    got = K.nms(boxes, scores, labels, iou_threshold=iou, class_agnostic=agnostic,
                max_detections=max_det)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, _ref_nms(boxes, scores, labels, iou, agnostic, max_det))
    brute = ref_nms.nms_bruteforce(boxes, scores, iou, None if agnostic else labels)
    np.testing.assert_array_equal(got, brute if max_det < 0 else brute[:max_det])


@FAST
@given(data=box_sets(), thr=st.sampled_from([0.0, 0.25, 0.5, 0.9]), agnostic=st.booleans())
def test_nms_score_threshold_is_a_prefilter(data, thr, agnostic):
    boxes, scores, labels = data
    sub = np.flatnonzero(scores > thr)
    want = sub[ref_nms.batched_nms(boxes[sub], scores[sub], labels[sub], 0.5, agnostic)]
    got = K.nms(boxes, scores, labels, 0.5, agnostic, score_threshold=thr)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [500, 3000])
def test_nms_large_clustered_scenes(n):
    """Detector-like candidates (clusters around objects, some huge and some tiny boxes):
    the grid path against the reference, class-aware and agnostic."""
    rng = np.random.default_rng(n)
    centres = rng.uniform(0, 1000, (40, 2))
    owner = rng.integers(0, 40, n)
    size = np.where(rng.random((n, 1)) < 0.02, 900.0, rng.uniform(0, 120, (n, 1)))
    c = centres[owner] + rng.normal(0, 10, (n, 2))
    boxes = np.concatenate([c - size / 2, c + size * rng.uniform(0.3, 1.0, (n, 2))], axis=1)
    boxes = boxes.astype(np.float32)
    scores = rng.random(n).astype(np.float32)
    labels = rng.integers(0, 5, n)
    for iou in (0.0, 0.45, 0.7):
        for agnostic in (False, True):
            np.testing.assert_array_equal(K.nms(boxes, scores, labels, iou, agnostic),
                                          ref_nms.batched_nms(boxes, scores, labels, iou, agnostic))


def test_nms_edge_cases():
    empty = K.nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
    assert empty.shape == (0,) and empty.dtype == np.int64
    assert K.nms([], []).shape == (0,)
    same = np.tile([[0, 0, 10, 10]], (3, 1)).astype(np.float32)
    np.testing.assert_array_equal(K.nms(same, [0.5, 0.9, 0.9]), [1])  # tie: lower index
    points = np.tile([[3, 3, 3, 3]], (2, 1)).astype(np.float32)  # union 0: IoU 0
    np.testing.assert_array_equal(K.nms(points, [0.9, 0.8], iou_threshold=0.0), [0, 1])
    half = np.array([[0, 0, 2, 1], [1, 0, 3, 1]], np.float32)  # IoU exactly 1/3
    np.testing.assert_array_equal(K.nms(half, [0.9, 0.8], iou_threshold=1 / 3), [0, 1])
    np.testing.assert_array_equal(K.nms(half, [0.9, 0.8], iou_threshold=0.33), [0])
    np.testing.assert_array_equal(K.nms(half, [np.nan, 0.8], iou_threshold=1.0), [1, 0])
    with pytest.raises(InvalidArgumentError):
        K.nms(np.zeros((3, 4)), np.zeros(2))
    with pytest.raises(InvalidArgumentError):
        K.nms(np.zeros((2, 4)), np.zeros(2), labels=np.zeros(3))
    with pytest.raises(InvalidArgumentError):
        K.nms(np.zeros((2, 4)), np.zeros(2), iou_threshold=float("nan"))


@st.composite
def separated_boxes(draw):
    """Positive-area boxes with distinct scores, no IoU within 1e-9 of the threshold."""
    n = draw(st.integers(1, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    xy = rng.integers(0, 100, (n, 2)) / 2
    wh = rng.integers(2, 60, (n, 2)) / 2
    scores = (rng.permutation(n) + 1) / (n + 1)
    return xy, wh, scores.astype(np.float32)


@FAST
@given(data=separated_boxes(), iou=st.sampled_from([0.3, 0.4512, 0.6, 0.7771]))
def test_nms_matches_opencv(data, iou):
    """cv2.dnn.NMSBoxes takes (x, y, w, h) boxes; it keeps scores > score_threshold, sorts
    stably by score and suppresses when overlap > threshold, like ours. Differences: its
    overlap is 1 - (1 - I/U) (rounding), and two zero-area boxes count as identical
    (overlap 1, suppressed) where ours has IoU 0 (kept); ties are stable in both but
    compared here only without them. So: positive areas, distinct scores, IoU away from
    the threshold."""
    cv2 = pytest.importorskip("cv2")
    xy, wh, scores = data
    boxes = np.concatenate([xy, xy + wh], axis=1)
    ious = np.stack([ref_nms.iou_one_to_many(a, boxes) for a in boxes])
    assume(np.all(np.abs(ious - iou) > 1e-9))
    rects = [tuple(map(float, r)) for r in np.concatenate([xy, wh], axis=1)]
    want = np.asarray(cv2.dnn.NMSBoxes(rects, scores.tolist(), 0.0, iou), np.int64).reshape(-1)
    got = K.nms(boxes.astype(np.float32), scores, iou_threshold=iou, class_agnostic=True)
    np.testing.assert_array_equal(got, want)


# ---- box decoding and the dense pipeline ---------------------------------------------

def test_anchor_points_and_decode_boxes():
    for hw, strides in [((64, 96), (8, 16, 32)), ((32, 32), (4,)), ((16, 48), (16, 8))]:
        want, _ = ref_post.anchor_points(hw, strides)
        np.testing.assert_array_equal(K.anchor_points(hw, list(strides)), want)
    rng = np.random.default_rng(0)
    pts = rng.uniform(-5, 70, (50, 2)).astype(np.float32)
    ltrb = rng.uniform(-10, 40, (50, 4)).astype(np.float32)  # negative: inverted boxes
    np.testing.assert_array_equal(K.decode_boxes(pts, ltrb, (64, 48)),
                                  ref_post.decode_boxes(pts, ltrb, (64, 48)))
    with pytest.raises(InvalidArgumentError):
        K.anchor_points((60, 64), [8])


@FAST
@given(seed=st.integers(0, 2**32 - 1), thr=st.sampled_from([0.0, 0.05, 0.5, 0.731]),
       topk=st.sampled_from([0, 1, 7, 1000]))
def test_select_candidates_ties(seed, thr, topk):
    rng = np.random.default_rng(seed)
    scores = (rng.integers(0, 8, (int(rng.integers(0, 30)), 3)) / 8).astype(np.float32)
    want = ref_post.select_candidates(scores, thr, topk)
    got = K.select_candidates(scores, thr, topk)
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)


def test_sigmoid_is_correctly_rounded_and_close_to_reference():
    x = np.random.default_rng(0).normal(0, 8, 100_000).astype(np.float32)
    x = np.concatenate([x, np.float32([0, -np.inf, np.inf, 88, -88, 17, -17])])
    exact = (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32)
    got = K.sigmoid(x)
    np.testing.assert_array_equal(got, exact)
    np.testing.assert_allclose(got, ref_post.sigmoid(x), rtol=2e-6, atol=1e-30)


def _fit(image_hw, input_hw):
    t = transform_for(tuple(image_hw), tuple(input_hw), "letterbox")
    return Letterbox(t.scale_x, t.scale_y, t.offset_x, t.offset_y, t.image_width, t.image_height)


@st.composite
def head_outputs(draw, exact_logits: bool):
    """Raw dense-head outputs of one image. Logits on a 0.5 grid (ties; sigmoid values
    far apart), ltrb on a grid (duplicates, zero-area boxes), masks from values whose
    products and sums are exact in float32 (so BLAS order cannot matter)."""
    hw = draw(st.sampled_from([(32, 32), (64, 32), (32, 96), (64, 64)]))
    strides = draw(st.sampled_from([(8, 16, 32), (8,), (16, 32)]))
    c = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = sum((hw[0] // s) * (hw[1] // s) for s in strides)
    logits = (rng.integers(-12, 8, (n, c)) / 2 if exact_logits
              else rng.normal(-1, 3, (n, c))).astype(np.float32)
    ltrb = (rng.integers(0, 40, (n, 4)) / 2).astype(np.float32)
    k = draw(st.integers(1, 4))
    coeffs = (rng.integers(-2, 3, (n, k)) / 2).astype(np.float32)
    protos = (rng.integers(-8, 9, (k, hw[0] // 4, hw[1] // 4)) / 4).astype(np.float32)
    image_hw = draw(st.sampled_from([None, (40, 100), (17, 23), (64, 48), (90, 30)]))
    transform = None if image_hw is None else _fit(image_hw, hw)
    return logits, ltrb, hw, strides, coeffs, protos, transform


def _assert_detections_equal(want, got, exact_scores):
    assert set(got) == set(want)
    np.testing.assert_array_equal(got["labels"], want["labels"])
    assert got["labels"].dtype == np.int64
    np.testing.assert_array_equal(got["boxes"], want["boxes"])
    if exact_scores:
        np.testing.assert_array_equal(got["scores"], want["scores"])
    else:
        np.testing.assert_allclose(got["scores"], want["scores"], rtol=2e-6)
    if "masks" in want:
        assert got["masks"].dtype == np.bool_
        np.testing.assert_array_equal(got["masks"], want["masks"])


DETECTION_PARAMS = dict(
    score_threshold=st.sampled_from([0.05, 0.3, 0.5]),
    iou_threshold=st.sampled_from([0.0, 0.5, 0.6, 1.0]),
    pre_nms_topk=st.sampled_from([0, 5, 50, 1000]),
    max_detections=st.sampled_from([0, 1, 10, 100]),
    class_agnostic=st.booleans(),
    mask_threshold=st.sampled_from([0.0, 0.5, 0.7, 1.0]),
    with_masks=st.booleans(),
)


def _decode_both(out, params, same_sigmoid=False):
    logits, ltrb, hw, strides, coeffs, protos, transform = out
    with_masks = params.pop("with_masks")
    extra = dict(mask_coeffs=coeffs, protos=protos) if with_masks else {}
    with pytest.MonkeyPatch.context() as mp:
        if same_sigmoid:  # the reference with the C++ sigmoid
            mp.setattr(ref_post, "sigmoid", lambda x: K.sigmoid(np.asarray(x, np.float32)))
        want = ref_post.postprocess_detections(logits, ltrb, hw, strides, transform=transform,
                                               **extra, **params)
    got = K.decode_detections(logits, ltrb, hw, list(strides), transform=transform, **extra,
                              **params)
    return want, got


@MEDIUM
@given(out=head_outputs(exact_logits=True), **DETECTION_PARAMS)
def test_decode_detections_matches_reference(out, **params):
    want, got = _decode_both(out, params)
    _assert_detections_equal(want, got, exact_scores=False)


@MEDIUM
@given(out=head_outputs(exact_logits=False), **DETECTION_PARAMS)
def test_decode_detections_exact_with_the_same_sigmoid(out, **params):
    """Free float logits (near-equal scores): exact once both use the same sigmoid."""
    want, got = _decode_both(out, params, same_sigmoid=True)
    _assert_detections_equal(want, got, exact_scores=True)


def test_decode_detections_errors():
    logits, ltrb = np.zeros((10, 2), np.float32), np.zeros((10, 4), np.float32)
    with pytest.raises(InvalidArgumentError, match="points"):
        K.decode_detections(logits, ltrb, (32, 32), [8])
    with pytest.raises(InvalidArgumentError):
        K.decode_detections(logits, ltrb[:5], (32, 32), [8])
    n = 16
    with pytest.raises(InvalidArgumentError, match="protos"):
        K.decode_detections(np.zeros((n, 2), np.float32), np.zeros((n, 4), np.float32), (32, 32),
                            [8], mask_coeffs=np.zeros((n, 3)), protos=np.zeros((3, 4, 4)))


# ---- masks ---------------------------------------------------------------------------

@FAST
@given(seed=st.integers(0, 2**32 - 1), p=st.integers(0, 4),
       proto_hw=st.tuples(st.integers(1, 6), st.integers(1, 6)),
       image_hw=st.tuples(st.integers(1, 40), st.integers(1, 40)),
       threshold=st.sampled_from([0.0, 0.3, 0.5, 0.9, 1.0]))
def test_paste_masks_matches_reference(seed, p, proto_hw, image_hw, threshold):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (p, *proto_hw)).astype(np.float32)
    if p and rng.random() < 0.3:
        logits[:] = 0.0  # every sample exactly at logit(0.5)
    t = _fit(image_hw, (4 * proto_hw[0], 4 * proto_hw[1]))
    xy = rng.uniform(-5, max(image_hw) + 5, (p, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(-2, 30, (p, 2))], axis=1).astype(np.float32)
    want = ref_masks.paste_masks(logits, boxes, t, threshold)
    got = K.paste_masks(logits, boxes, t, threshold)
    assert got.dtype == np.bool_ and got.shape == (p, *image_hw)
    np.testing.assert_array_equal(got, want)


def test_assemble_mask_logits():
    rng = np.random.default_rng(0)
    coeffs = rng.normal(size=(7, 32)).astype(np.float32)
    protos = rng.normal(size=(32, 20, 24)).astype(np.float32)
    want = ref_masks.assemble_mask_logits(coeffs, protos)
    scale = np.abs(coeffs) @ np.abs(protos).reshape(32, -1)  # float32 rounding is relative to it
    got = K.assemble_mask_logits(coeffs, protos)
    assert np.all(np.abs(got - want).reshape(7, -1) <= 1e-5 * scale)
    assert K.assemble_mask_logits(np.zeros((0, 32)), protos).shape == (0, 20, 24)


# ---- pose heatmaps -------------------------------------------------------------------

@st.composite
def heatmap_batches(draw):
    """(N, K, h, w) maps: Gaussians (also centred outside the map or on its border),
    noise, flat maps, integer maps with tied maxima, non-positive maps."""
    n, k = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(2, 20)), draw(st.integers(2, 20))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    maps = np.empty((n, k, h, w), np.float32)
    yy, xx = np.mgrid[:h, :w]
    for i in range(n):
        for j in range(k):
            kind = rng.integers(0, 5)
            if kind == 0:
                cx, cy = rng.uniform(-2, w + 1), rng.uniform(-2, h + 1)
                maps[i, j] = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * rng.uniform(1, 3) ** 2))
            elif kind == 1:
                maps[i, j] = rng.random((h, w))
            elif kind == 2:
                maps[i, j] = rng.choice([0.0, 0.5, -1.0])
            elif kind == 3:
                maps[i, j] = rng.integers(0, 3, (h, w))
            else:
                maps[i, j] = -rng.random((h, w))
    return maps


def _random_warps(rng, n):
    return np.stack([ref_affine.get_affine_transform(rng.uniform(0, 500, 2), rng.uniform(20, 300, 2),
                                                     rng.uniform(-45, 45), (192, 256))
                     for _ in range(n)])


@MEDIUM
@given(maps=heatmap_batches(), seed=st.integers(0, 2**32 - 1),
       input_size=st.sampled_from([(256, 192), (64, 48), (2, 2), (37, 301)]),
       blur=st.sampled_from([1, 3, 5, 11]), refine=st.booleans(), warped=st.booleans())
def test_decode_heatmaps_matches_reference(maps, seed, input_size, blur, refine, warped):
    warps = _random_warps(np.random.default_rng(seed), maps.shape[0]) if warped else None
    want_kp, want_score = ref_pose.decode_udp_heatmaps(maps, input_size, warps, blur, refine)
    got_kp, got_score = K.decode_heatmaps(maps, input_size, warps, blur, refine)
    np.testing.assert_array_equal(got_score, want_score)
    assert got_kp.dtype == np.float32 and got_kp.shape == want_kp.shape
    np.testing.assert_allclose(got_kp, want_kp, rtol=1e-5, atol=1e-4)
    if not refine and not warped:  # integer argmax / UDP factor: one computation, exact
        np.testing.assert_array_equal(got_kp, want_kp)


def test_decode_heatmaps_threads_and_errors():
    rng = np.random.default_rng(0)
    maps = rng.random((9, 17, 16, 12)).astype(np.float32)
    warps = _random_warps(rng, 9)
    one = K.decode_heatmaps(maps, (64, 48), warps)
    many = K.decode_heatmaps(maps, (64, 48), warps, num_threads=4)
    np.testing.assert_array_equal(one[0], many[0])
    with pytest.raises(InvalidArgumentError, match="odd"):
        K.decode_heatmaps(maps, (64, 48), blur_kernel=4)
    with pytest.raises(InvalidArgumentError, match="singular"):
        K.decode_heatmaps(maps, (64, 48), np.zeros((9, 2, 3)))
    with pytest.raises(InvalidArgumentError):
        K.decode_heatmaps(maps[0], (64, 48))
    with pytest.raises(InvalidArgumentError):
        K.decode_heatmaps(maps, (64, 48), warps[:3])


@FAST
@given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 6))
def test_fuse_flip_matches_reference(seed, k):
    rng = np.random.default_rng(seed)
    pairs = [(a, a + 1) for a in range(0, k - 1, 2) if rng.random() < 0.7]
    flip_index = ref_pose.flip_index_from_pairs(pairs, k)
    a = rng.normal(size=(2, k, 5, 7)).astype(np.float32)
    b = rng.normal(size=(2, k, 5, 7)).astype(np.float32)
    want = ref_pose.fuse_flip_test(a, b, flip_index)
    np.testing.assert_array_equal(K.fuse_flip_heatmaps(a, b, flip_index), want)


# ---- semantic labels and depth (reference: the heads' torch `predict`) ---------------

@MEDIUM
@given(seed=st.integers(0, 2**32 - 1), c=st.integers(1, 6),
       in_hw=st.tuples(st.integers(2, 12), st.integers(1, 12)),
       out_hw=st.tuples(st.integers(60, 100), st.integers(70, 120)), ties=st.booleans())
def test_semantic_and_depth_match_torch(seed, c, in_hw, out_hw, ties):
    """Output sizes with H + W > 128 and inputs that are not also channels-last (a 1 x 1
    map with > 3 channels is): PyTorch's generic bilinear kernel, which the C++ reproduces
    bit for bit (see csrc/kernels/segmentation.h)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    logits = (rng.integers(0, 3, (2, c, *in_hw)) if ties else rng.normal(size=(2, c, *in_hw)))
    logits = logits.astype(np.float32)
    up = torch.nn.functional.interpolate(torch.from_numpy(logits), size=out_hw, mode="bilinear",
                                         align_corners=False)
    np.testing.assert_array_equal(K.semantic_argmax(logits, out_hw), up.argmax(1).numpy())
    np.testing.assert_array_equal(K.semantic_argmax(logits[0], out_hw), up[0].argmax(0).numpy())
    depth = np.ascontiguousarray(logits[:, :1])
    want = torch.nn.functional.interpolate(torch.from_numpy(depth), size=out_hw, mode="bilinear",
                                           align_corners=False)
    np.testing.assert_array_equal(K.resize_depth(depth, out_hw), want.numpy())


def _two_resizes(torch, m: np.ndarray, input_hw, t) -> np.ndarray:
    """The reference decoding: the map resized to the input (the heads' ``predict``), the
    image's window of it (its placement, rounded) resized to the image."""
    F = torch.nn.functional
    H, W = input_hw
    full = F.interpolate(torch.from_numpy(m)[None], size=(H, W), mode="bilinear",
                         align_corners=False)[0]
    x0, y0 = min(max(round(t.offset_x), 0), W - 1), min(max(round(t.offset_y), 0), H - 1)
    rw = min(max(round(t.image_width * t.scale_x), 1), W - x0)
    rh = min(max(round(t.image_height * t.scale_y), 1), H - y0)
    window = full[None, :, y0:y0 + rh, x0:x0 + rw]
    return F.interpolate(window, size=(t.image_height, t.image_width), mode="bilinear",
                         align_corners=False)[0].numpy()


@MEDIUM
@given(seed=st.integers(0, 2**32 - 1), c=st.integers(1, 12),
       input_hw=st.sampled_from([(64, 64), (128, 96), (40, 72)]),
       image_hw=st.tuples(st.integers(8, 300), st.integers(8, 300)))
def test_one_pass_dense_decoding_matches_two_resizes(seed, c, input_hw, image_hw):
    """label_map / value_map decode a stride-4 head map to the image in one pass (no
    C-channel map at the input's size): the composition of the reference's two resizes.
    Stated: labels equal on >= 99.5 % of pixels, values within 1e-5 of the map's range
    (measured: all labels, 1.2e-7 of the range, white-noise maps)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(c, input_hw[0] // 4, input_hw[1] // 4)).astype(np.float32)
    t = transform_for(image_hw, input_hw, "letterbox")
    ref = _two_resizes(torch, m, input_hw, t)
    labels = K.dense_to_image(m, input_hw, t, labels=True)
    assert labels.shape == image_hw and labels.dtype == np.int32
    assert (labels == ref.argmax(0)).mean() >= 0.995
    values = K.dense_to_image(m, input_hw, t)
    assert values.shape == (c, *image_hw) and values.dtype == np.float32
    assert np.abs(values - ref).max() <= 1e-5 * max(float(np.ptp(m)), 1e-6)


def test_dense_to_image_rejects_bad_input():
    t = transform_for((10, 10), (16, 16), "letterbox")
    for bad in (np.zeros((4, 4), np.float32), np.zeros((0, 4, 4), np.float32)):
        with pytest.raises(InvalidArgumentError):
            K.dense_to_image(bad, (16, 16), t)


def test_small_outputs_within_one_ulp_of_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(1, 1, 7, 5)).astype(np.float32)
    for size in [(23, 41), (3, 2), (7, 5)]:
        want = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode="bilinear",
                                               align_corners=False).numpy()
        np.testing.assert_allclose(K.resize_depth(x, size), want, rtol=3e-7, atol=1e-7)
    assert K.semantic_argmax(np.zeros((3, 2, 2), np.float32), (4, 4)).dtype == np.int32
    with pytest.raises(InvalidArgumentError):
        K.semantic_argmax(np.zeros((2, 2), np.float32), (4, 4))
