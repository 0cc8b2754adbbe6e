"""Top-down crop geometry (UDP, "unbiased data processing").

Coordinates are pixel centres (pixel ``i`` is at ``x = i``, as in cv2 and COCO
keypoints). The crop maps the box centre to the output centre ``(w - 1) / 2`` and the
box extent ``scale`` onto ``out_size - 1`` pixels, the unbiased mapping of UDP; the
pose head's heatmaps use the same convention, so decoding needs no half-pixel fix-ups.
"""

from __future__ import annotations

import numpy as np

__all__ = ["box_to_center_scale", "get_affine_transform", "affine_points", "invert_affine"]


def box_to_center_scale(
    bbox_xywh, aspect_ratio: float, padding: float = 1.25
) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of the crop around a COCO box.

    The box is grown to the crop's aspect ratio (width / height) without shrinking
    either side, then padded by ``padding``.

    Args:
        bbox_xywh: COCO ``[x, y, w, h]`` in pixel-edge coordinates.
        aspect_ratio: Crop width / height (192 / 256 for the 256x192 pose input).
        padding: Multiplier on the box size (1.25 in the paper's recipe).

    Returns:
        ``center`` (2,) in pixel-centre coordinates and ``scale`` (2,) = crop (w, h)
        in image pixels, both float64.
    """
    x, y, w, h = (float(v) for v in bbox_xywh)
    center = np.array([x + 0.5 * w - 0.5, y + 0.5 * h - 0.5])
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    else:
        w = h * aspect_ratio
    return center, np.array([w, h]) * padding


def get_affine_transform(
    center, scale, rot: float, out_size, *, inverse: bool = False
) -> np.ndarray:
    """The UDP affine map from the image to a crop (or back).

    ``crop = S @ R(rot) @ (p - center) + (out_size - 1) / 2`` with
    ``S = diag((out_size - 1) / scale)``; ``R`` rotates by ``rot`` degrees
    (positive = counter-clockwise as seen in the image, y pointing down).

    Args:
        center: (x, y) crop centre in the image.
        scale: (w, h) of the crop region in image pixels.
        rot: Rotation in degrees.
        out_size: (width, height) of the crop in pixels, e.g. (192, 256).
        inverse: Return the crop -> image map instead.

    Returns:
        (2, 3) float64 matrix for ``cv2.warpAffine`` / :func:`affine_points`.
    """
    cx, cy = (float(v) for v in center)
    sx = (float(out_size[0]) - 1.0) / float(scale[0])
    sy = (float(out_size[1]) - 1.0) / float(scale[1])
    theta = np.deg2rad(rot)
    c, s = np.cos(theta), np.sin(theta)
    linear = np.array([[c * sx, s * sx], [-s * sy, c * sy]])
    offset = np.array([(out_size[0] - 1.0) / 2.0, (out_size[1] - 1.0) / 2.0]) - linear @ [cx, cy]
    matrix = np.concatenate([linear, offset[:, None]], axis=1)
    return invert_affine(matrix) if inverse else matrix


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine matrix, or of a stack (..., 2, 3) of them."""
    matrix = np.asarray(matrix, np.float64)
    lin_inv = np.linalg.inv(matrix[..., :2])
    return np.concatenate([lin_inv, -lin_inv @ matrix[..., 2:]], axis=-1)


def affine_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Applies affine matrices to points; returns float64 of the points' shape.

    Args:
        points: (..., K, 2) points (x, y).
        matrix: one (2, 3) matrix for all points, or (..., 2, 3) with one matrix per
            leading index of ``points`` (e.g. one crop warp per person).
    """
    m = np.asarray(matrix, np.float64)
    return np.asarray(points, np.float64) @ np.swapaxes(m[..., :2], -1, -2) + m[..., None, :, 2]
