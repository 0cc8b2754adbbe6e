"""Geometric operations on whole samples: resize, window (crop / pad) and flip.

Each operation moves every spatial key of a sample together and returns a new dict
(the input is not modified). Boxes use pixel-edge coordinates (the image spans
``[0, W] x [0, H]``); keypoints and the ``affine`` matrices use pixel centres (pixel
``i`` is at ``i``), as COCO keypoints, cv2 and the UDP crop do.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = [
    "INSTANCE_KEYS",
    "resize_image",
    "resize_sample",
    "window_sample",
    "hflip_sample",
    "filter_instances",
]

#: Per-instance keys that are filtered together when instances are dropped.
INSTANCE_KEYS = ("boxes", "labels", "masks", "iscrowd", "keypoints", "areas")

# Per-pixel keys: name -> (leading spatial axis, fill value outside the image).
_DENSE = {"semantic": (0, 255), "depth": (0, 0.0), "depth_valid": (0, False), "masks": (1, 0)}


def resize_image(image: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """Antialiased bilinear resize of an (H, W, C) image.

    PIL's filter, which is the one torch's ``interpolate(..., antialias=True)`` and the
    runtime's preprocessing implement (they agree to ~1e-3 in 0..255 units), at a
    fraction of torch's CPU cost. uint8 in gives uint8 out (rounded); float in gives
    float32 out (no rounding).
    """
    out_h, out_w = int(out_hw[0]), int(out_hw[1])
    if image.shape[:2] == (out_h, out_w):
        return image.copy()
    if image.dtype == np.uint8 and image.shape[2] == 3:
        return np.asarray(Image.fromarray(image).resize((out_w, out_h), Image.BILINEAR))
    planes = np.asarray(image, np.float32)
    return np.stack(
        [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(planes[..., c]), mode="F").resize(
                    (out_w, out_h), Image.BILINEAR
                )
            )
            for c in range(planes.shape[2])
        ],
        axis=-1,
    ).astype(np.float32)


def _nearest_index(in_len: int, out_len: int) -> np.ndarray:
    # Pixel-centre aligned nearest neighbour: output centre (i + 0.5) * in / out.
    return np.minimum(
        ((np.arange(out_len) + 0.5) * (in_len / out_len)).astype(np.int64), in_len - 1
    )


def _update_affine(sample: dict, step: np.ndarray) -> None:
    """Composes a 3x3 pixel-centre map (current -> new) into ``affine`` / ``inverse_affine``."""
    if "affine" in sample:
        full = np.vstack([sample["affine"], [0.0, 0.0, 1.0]])
        sample["affine"] = (step @ full)[:2]
    if "inverse_affine" in sample:
        full = np.vstack([sample["inverse_affine"], [0.0, 0.0, 1.0]])
        sample["inverse_affine"] = (full @ np.linalg.inv(step))[:2]


def _mark_outside_keypoints(sample: dict, width: int, height: int) -> None:
    kps = sample.get("keypoints")
    if kps is None:
        return
    x, y = kps[..., 0], kps[..., 1]
    outside = (x < -0.5) | (x >= width - 0.5) | (y < -0.5) | (y >= height - 0.5)
    kps[..., 2] = np.where(outside, 0.0, kps[..., 2])
    if "keypoint_weights" in sample:
        sample["keypoint_weights"] = np.where(outside, 0.0, sample["keypoint_weights"]).astype(
            np.float32
        )


def resize_sample(sample: dict, out_hw: tuple[int, int]) -> dict:
    """Resizes the image (bilinear, antialiased) and dense targets (nearest) to ``out_hw``."""
    height, width = sample["image"].shape[:2]
    out_h, out_w = int(out_hw[0]), int(out_hw[1])
    sx, sy = out_w / width, out_h / height
    out = dict(sample)
    out["image"] = resize_image(sample["image"], (out_h, out_w))
    iy, ix = _nearest_index(height, out_h), _nearest_index(width, out_w)
    for key, (axis, _) in _DENSE.items():
        if key in sample:
            arr = sample[key]
            out[key] = (
                arr[:, iy[:, None], ix[None, :]] if axis == 1 else arr[iy[:, None], ix[None, :]]
            )
    if "boxes" in sample:
        out["boxes"] = (sample["boxes"] * np.array([sx, sy, sx, sy], np.float32)).astype(np.float32)
    if "keypoints" in sample:
        kps = sample["keypoints"].copy()
        kps[..., 0] = (kps[..., 0] + 0.5) * sx - 0.5
        kps[..., 1] = (kps[..., 1] + 0.5) * sy - 0.5
        out["keypoints"] = kps
    _update_affine(out, np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5], [0, 0, 1]]))
    return out


def _window(arr: np.ndarray, axis: int, x0: int, y0: int, w: int, h: int, fill) -> np.ndarray:
    """``arr[y0:y0+h, x0:x0+w]`` on spatial axes (axis, axis+1), filling outside with ``fill``."""
    height, width = arr.shape[axis], arr.shape[axis + 1]
    shape = (*arr.shape[:axis], h, w, *arr.shape[axis + 2 :])
    out = np.empty(shape, arr.dtype)
    out[...] = np.asarray(fill, dtype=arr.dtype)
    sy0, sy1 = max(y0, 0), min(y0 + h, height)
    sx0, sx1 = max(x0, 0), min(x0 + w, width)
    if sy1 > sy0 and sx1 > sx0:
        lead = (slice(None),) * axis
        out[(*lead, slice(sy0 - y0, sy1 - y0), slice(sx0 - x0, sx1 - x0))] = arr[
            (*lead, slice(sy0, sy1), slice(sx0, sx1))
        ]
    return out


def window_sample(sample: dict, x0: int, y0: int, w: int, h: int, image_fill) -> dict:
    """Cuts the ``w x h`` window at ``(x0, y0)``; parts outside the image are filled.

    A window inside the image is a crop; one reaching outside pads (letterbox padding is
    a window with negative offsets). Boxes are shifted and clipped to the window (boxes
    left empty are *not* dropped here), keypoints outside get ``v = 0`` and weight 0,
    and dense targets are filled with their ignore values (semantic 255, depth 0).
    """
    out = dict(sample)
    out["image"] = _window(sample["image"], 0, x0, y0, w, h, image_fill)
    for key, (axis, fill) in _DENSE.items():
        if key in sample:
            out[key] = _window(sample[key], axis, x0, y0, w, h, fill)
    if "boxes" in sample:
        boxes = sample["boxes"] - np.array([x0, y0, x0, y0], np.float32)
        out["boxes"] = np.clip(boxes, 0.0, np.array([w, h, w, h], np.float32)).astype(np.float32)
    if "keypoints" in sample:
        kps = sample["keypoints"].copy()
        kps[..., 0] -= x0
        kps[..., 1] -= y0
        out["keypoints"] = kps
        _mark_outside_keypoints(out, w, h)
    _update_affine(out, np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0, 0, 1]]))
    return out


def hflip_sample(sample: dict, flip_index) -> dict:
    """Mirrors left-right; keypoint rows are permuted by ``flip_index`` (left <-> right)."""
    width = sample["image"].shape[1]
    out = dict(sample)
    out["image"] = np.ascontiguousarray(sample["image"][:, ::-1])
    for key, (axis, _) in _DENSE.items():
        if key in sample:
            out[key] = np.ascontiguousarray(np.flip(sample[key], axis=axis + 1))
    if "boxes" in sample:
        b = sample["boxes"]
        out["boxes"] = np.stack(
            [width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], axis=1
        ).astype(np.float32)
    index = np.asarray(flip_index)
    if "keypoints" in sample:
        kps = sample["keypoints"][..., index, :].copy()
        kps[..., 0] = width - 1.0 - kps[..., 0]
        out["keypoints"] = kps
    if "keypoint_weights" in sample:
        out["keypoint_weights"] = sample["keypoint_weights"][..., index].copy()
    _update_affine(out, np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0, 0, 1]]))
    return out


def filter_instances(sample: dict, keep: np.ndarray) -> dict:
    """Keeps the instances where ``keep`` (N,) bool is set, in every per-instance key."""
    out = dict(sample)
    for key in INSTANCE_KEYS:
        if key in sample and not (key == "keypoints" and "boxes" not in sample):
            out[key] = sample[key][keep]
    return out
