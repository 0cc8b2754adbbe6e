"""Preprocessing and antialiased resize: numpy reference vs PyTorch, C++ core vs reference."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argus_edge import _core
from argus_edge._errors import ArgusError, ImageError, InvalidArgumentError
from argus_edge import IMAGENET_MEAN, IMAGENET_STD, preprocess
from reference.preprocess_ref import reference_preprocess, reference_transform, resize_bilinear_aa

# (in (H, W), out (h, w)): down, up, identity, odd, non-square, mixed, extreme factors.
RESIZE_CASES = [
    ((32, 32), (16, 16)),
    ((16, 16), (37, 37)),
    ((21, 13), (21, 13)),
    ((17, 23), (9, 31)),
    ((64, 48), (7, 5)),
    ((5, 97), (11, 10)),
    ((1, 1), (4, 6)),
    ((9, 7), (1, 1)),
    ((100, 3), (3, 100)),
]
IMAGE_CASES = [  # (H, W) image, (out_h, out_w)
    ((48, 64), (32, 32)),
    ((64, 48), (32, 32)),
    ((20, 30), (64, 48)),
    ((33, 17), (33, 17)),
    ((7, 91), (24, 40)),
    ((50, 50), (13, 29)),
]


def _random_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize(("in_hw", "out_hw"), RESIZE_CASES)
def test_reference_resize_matches_torch(in_hw, out_hw):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).uniform(-3.0, 5.0, (2, 3, *in_hw))
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(x), size=out_hw, mode="bilinear", align_corners=False, antialias=True
    ).numpy()
    np.testing.assert_allclose(resize_bilinear_aa(x, out_hw), expected, rtol=0, atol=1e-5 * 8.0)


@pytest.mark.parametrize(("in_hw", "out_hw"), RESIZE_CASES)
def test_core_resize_matches_reference(in_hw, out_hw):
    x = np.random.default_rng(2).uniform(0.0, 1.0, (3, *in_hw)).astype(np.float32)
    got = _core.resize_bilinear(x, out_hw)
    assert got.shape == (3, *out_hw) and got.dtype == np.float32
    np.testing.assert_allclose(got, resize_bilinear_aa(x, out_hw), rtol=0, atol=1e-5)
    batched = _core.resize_bilinear(np.stack([x, 2 * x]), out_hw)
    np.testing.assert_allclose(batched[1], 2 * got, rtol=1e-6, atol=1e-6)


def test_core_resize_identity_is_exact():
    x = np.random.default_rng(3).standard_normal((4, 19, 23)).astype(np.float32)
    np.testing.assert_array_equal(_core.resize_bilinear(x, (19, 23)), x)


@pytest.mark.parametrize("policy", ["letterbox", "stretch"])
@pytest.mark.parametrize(("in_hw", "out_hw"), IMAGE_CASES)
def test_preprocess_matches_reference(in_hw, out_hw, policy):
    image = _random_image(*in_hw)
    tensor, transform = preprocess(image, out_hw, policy=policy)
    expected, ref_t = reference_preprocess(image, out_hw, policy)
    assert tensor.shape == (3, *out_hw) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor, expected, rtol=0, atol=1e-4)
    for name in ("scale_x", "scale_y", "offset_x", "offset_y", "image_width", "image_height"):
        assert getattr(transform, name) == pytest.approx(getattr(ref_t, name), rel=1e-6)


def test_bgr_input_gives_the_rgb_tensor():
    image = _random_image(37, 53, seed=4)
    rgb, _ = preprocess(image, (32, 48))
    bgr, _ = preprocess(np.ascontiguousarray(image[..., ::-1]), (32, 48), color="BGR")
    bgr_view, _ = preprocess(image[..., ::-1], (32, 48), color="BGR")  # negative strides
    np.testing.assert_array_equal(bgr, rgb)
    np.testing.assert_array_equal(bgr_view, rgb)


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[10:60, 20:90],  # crop: contiguous pixels, larger row stride (no copy)
        lambda a: a[::2, ::3],  # strided pixels (copied)
        lambda a: np.asfortranarray(a[5:50, 7:77]),
        lambda a: a[::-1, :80],  # negative row stride
    ],
    ids=["crop", "strided", "fortran", "flipped"],
)
def test_non_contiguous_input(view):
    image = view(_random_image(100, 120, seed=5))
    tensor, _ = preprocess(image, (40, 40))
    contiguous, _ = preprocess(np.ascontiguousarray(image), (40, 40))
    np.testing.assert_array_equal(tensor, contiguous)
    np.testing.assert_allclose(tensor, reference_preprocess(image, (40, 40))[0], rtol=0, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(
    in_h=st.integers(1, 40),
    in_w=st.integers(1, 40),
    out_h=st.integers(1, 40),
    out_w=st.integers(1, 40),
    policy=st.sampled_from(["letterbox", "stretch"]),
    color=st.sampled_from(["RGB", "BGR"]),
    seed=st.integers(0, 2**16),
)
def test_random_sizes_match_reference(in_h, in_w, out_h, out_w, policy, color, seed):
    image = _random_image(in_h, in_w, seed)
    tensor, transform = preprocess(image, (out_h, out_w), policy=policy, color=color)
    expected, ref_t = reference_preprocess(image, (out_h, out_w), policy, color)
    np.testing.assert_allclose(tensor, expected, rtol=0, atol=1e-4)
    assert (transform.offset_x, transform.offset_y) == (ref_t.offset_x, ref_t.offset_y)


def test_letterbox_640x480_padding_and_transform():
    image = np.full((480, 640, 3), (200, 100, 50), dtype=np.uint8)
    tensor, t = preprocess(image, (512, 512))
    assert (t.scale_x, t.scale_y) == pytest.approx((0.8, 0.8))
    assert (t.offset_x, t.offset_y, t.image_width, t.image_height) == (0, 64, 640, 480)
    np.testing.assert_array_equal(tensor[:, :64], 0.0)
    np.testing.assert_array_equal(tensor[:, 448:], 0.0)
    inside = (np.array([200, 100, 50]) - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    expected = np.broadcast_to(inside[:, None, None], (3, 384, 512))
    np.testing.assert_allclose(tensor[:, 64:448], expected, atol=1e-5)
    np.testing.assert_allclose(t.matrix, [[0.8, 0, 0], [0, 0.8, 64]], rtol=1e-6)
    assert "offset_y=64" in repr(t)


def test_transform_round_trip_and_clipping():
    image = _random_image(90, 160)
    _, t = preprocess(image, (64, 64))
    points = np.random.default_rng(6).uniform([0, 0], [160, 90], (50, 2))
    in_tensor = points @ t.matrix[:, :2].T + t.matrix[:, 2]
    np.testing.assert_allclose(t.to_image_points(in_tensor), points, rtol=1e-5, atol=1e-4)
    ref = reference_transform(160, 90, (64, 64), "letterbox")
    np.testing.assert_allclose(in_tensor, ref.to_tensor(points), rtol=1e-6, atol=1e-4)
    boxes = np.array([[-10.0, -10.0, 70.0, 70.0], [10.0, 20.0, 30.0, 40.0]], dtype=np.float32)
    back = t.to_image_boxes(boxes)
    assert back.dtype == np.float32 and back.shape == (2, 4)
    np.testing.assert_allclose(back[0], [0, 0, 160, 90])
    expected = ref.to_image(boxes[1].reshape(2, 2)).reshape(4)
    np.testing.assert_allclose(back[1], expected, rtol=1e-5)


def test_astronaut_letterbox_matches_torch_pipeline():
    torch = pytest.importorskip("torch")
    data = pytest.importorskip("skimage.data")
    photo = data.astronaut()[40:440]  # 400 x 512, RGB
    tensor, t = preprocess(photo, (512, 512))
    assert (t.scale_x, t.offset_x, t.offset_y) == (1.0, 0, 56)
    np.testing.assert_array_equal(tensor[:, :56], 0.0)
    np.testing.assert_array_equal(tensor[:, 456:], 0.0)
    small, ts = preprocess(photo, (320, 320))
    chw = torch.from_numpy(photo).permute(2, 0, 1)[None].double()
    resized = torch.nn.functional.interpolate(
        chw, size=(250, 320), mode="bilinear", align_corners=False, antialias=True
    )[0]
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float64)[:, None, None]
    std = torch.tensor(IMAGENET_STD, dtype=torch.float64)[:, None, None]
    assert (ts.offset_x, ts.offset_y) == (0, 35)
    expected = ((resized - mean) / std).numpy()
    np.testing.assert_allclose(small[:, 35:285], expected, rtol=0, atol=1e-4)
    identity = (photo.transpose(2, 0, 1) - mean.numpy()) / std.numpy()
    np.testing.assert_allclose(tensor[:, 56:456], identity, rtol=0, atol=1e-5)


BAD_CALLS = [
    ("float image", lambda img: ((img.astype(np.float32), (8, 8)), {}), ImageError),
    ("2-D image", lambda img: ((img[..., 0], (8, 8)), {}), ImageError),
    ("4 channels", lambda img: ((np.zeros((4, 4, 4), np.uint8), (8, 8)), {}), ImageError),
    ("zero-size", lambda img: ((img[:0], (8, 8)), {}), ImageError),
    ("list", lambda img: ((img.tolist(), (8, 8)), {}), ImageError),
    ("policy", lambda img: ((img, (8, 8)), {"policy": "fit"}), InvalidArgumentError),
    ("color", lambda img: ((img, (8, 8)), {"color": "HSV"}), InvalidArgumentError),
    ("size zero", lambda img: ((img, (0, 8)), {}), InvalidArgumentError),
    ("size len", lambda img: ((img, (8, 8, 8)), {}), InvalidArgumentError),
    ("size float", lambda img: ((img, (8.5, 8)), {}), InvalidArgumentError),
    ("size str", lambda img: ((img, "88"), {}), InvalidArgumentError),
    ("std zero", lambda img: ((img, (8, 8)), {"std": (1.0, 0.0, 1.0)}), InvalidArgumentError),
    ("mean len", lambda img: ((img, (8, 8)), {"mean": (1.0, 2.0)}), InvalidArgumentError),
]


@pytest.mark.parametrize("entry", [preprocess, _core.preprocess], ids=["python", "core"])
@pytest.mark.parametrize(("case", "make_call", "error"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_raises_typed_error(entry, case, make_call, error):
    args, kwargs = make_call(_random_image(6, 5))
    with pytest.raises(error) as info:
        entry(*args, **kwargs)
    assert info.type is error, f"{case}: got {info.type.__name__}"
    assert isinstance(info.value, (ArgusError, ValueError))


@pytest.mark.parametrize(
    ("x", "size"),
    [
        (np.zeros((3, 4, 4)), (2, 2)),  # float64
        (np.zeros((4, 4), np.float32), (2, 2)),
        (np.zeros((3, 0, 4), np.float32), (2, 2)),
        (np.zeros((3, 4, 4), np.float32), (2, -1)),
        ([[1.0]], (2, 2)),
    ],
)
def test_resize_bad_input_raises(x, size):
    with pytest.raises(InvalidArgumentError):
        _core.resize_bilinear(x, size)


def test_missing_core_says_how_to_build(monkeypatch):
    module = importlib.import_module("argus_edge._preprocess")
    monkeypatch.setitem(sys.modules, "argus_edge._core", None)
    with pytest.raises(ImportError, match="pip install"):
        module.preprocess(_random_image(4, 4), (4, 4))
