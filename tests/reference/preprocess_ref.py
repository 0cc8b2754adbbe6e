"""Plain numpy references for resizing and preprocessing (float64, written from the
definitions, no shared code with the C++ core)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def aa_bilinear_weights(in_size: int, out_size: int) -> np.ndarray:
    """Dense (out_size, in_size) matrix of antialiased bilinear ("triangle") weights.

    Output sample i sits at input coordinate c = (i + 0.5) * in / out (pixel centres at
    j + 0.5). The triangle 1 - |d| / s has support s = max(in / out, 1): widened by the
    downscale factor, plain bilinear when upscaling. Rows are renormalised to sum 1, which
    is how the border is handled.
    """
    scale = in_size / out_size
    support = max(scale, 1.0)
    centers = (np.arange(out_size, dtype=np.float64) + 0.5) * scale
    dist = (np.arange(in_size, dtype=np.float64)[None, :] + 0.5 - centers[:, None]) / support
    weights = np.clip(1.0 - np.abs(dist), 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


def resize_bilinear_aa(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resizes the last two axes of ``x`` to ``size`` (float64 result)."""
    wy = aa_bilinear_weights(x.shape[-2], size[0])
    wx = aa_bilinear_weights(x.shape[-1], size[1])
    return wy @ np.asarray(x, dtype=np.float64) @ wx.T


@dataclass(frozen=True)
class RefTransform:
    """tensor = image * scale + offset, per axis."""

    scale_x: float
    scale_y: float
    offset_x: int
    offset_y: int
    image_width: int
    image_height: int

    @property
    def resized_size(self) -> tuple[int, int]:
        """(height, width) of the resized image inside the tensor."""
        return (round(self.image_height * self.scale_y), round(self.image_width * self.scale_x))

    def to_tensor(self, points: np.ndarray) -> np.ndarray:
        scale = np.array([self.scale_x, self.scale_y])
        return points * scale + np.array([self.offset_x, self.offset_y])

    def to_image(self, points: np.ndarray) -> np.ndarray:
        scale = np.array([self.scale_x, self.scale_y])
        return (points - np.array([self.offset_x, self.offset_y])) / scale


def reference_transform(
    width: int, height: int, size: tuple[int, int], policy: str
) -> RefTransform:
    """Where a width x height image lands in a ``size`` = (out_h, out_w) tensor."""
    out_h, out_w = size
    if policy == "stretch":
        return RefTransform(out_w / width, out_h / height, 0, 0, width, height)
    s = min(out_w / width, out_h / height)
    new_w = max(1, round(width * s))
    new_h = max(1, round(height * s))
    return RefTransform(
        new_w / width, new_h / height, (out_w - new_w) // 2, (out_h - new_h) // 2, width, height
    )


def reference_preprocess(
    image: np.ndarray,
    size: tuple[int, int],
    policy: str = "letterbox",
    color: str = "RGB",
    mean: tuple[float, float, float] = (123.675, 116.28, 103.53),
    std: tuple[float, float, float] = (58.395, 57.12, 57.375),
) -> tuple[np.ndarray, RefTransform]:
    """uint8 (H, W, 3) image -> (float64 (3, out_h, out_w) normalized RGB tensor, transform)."""
    height, width = image.shape[:2]
    rgb = image[..., ::-1] if color == "BGR" else image
    chw = np.transpose(rgb, (2, 0, 1)).astype(np.float64)
    t = reference_transform(width, height, size, policy)
    new_h, new_w = t.resized_size if policy == "letterbox" else size
    resized = resize_bilinear_aa(chw, (new_h, new_w))
    mean_ = np.asarray(mean, dtype=np.float64)[:, None, None]
    std_ = np.asarray(std, dtype=np.float64)[:, None, None]
    out = np.zeros((3, *size), dtype=np.float64)
    rows = slice(t.offset_y, t.offset_y + new_h)
    cols = slice(t.offset_x, t.offset_x + new_w)
    out[:, rows, cols] = (resized - mean_) / std_
    return out, t
