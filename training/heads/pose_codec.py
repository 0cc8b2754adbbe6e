"""UDP heatmap codec for top-down pose: Gaussian targets, DARK decoding, flip test.

Coordinates follow unbiased data processing (UDP, Huang et al., 2020): pixel centres are
the integer coordinates, and the crop (``input_size`` = (H, W), e.g. 256×192) maps onto
the heatmap (``heatmap_size`` = (h, w), e.g. 64×48) by ``p_hm = p_crop · (hm − 1)/(in − 1)``
per axis, so the first and last pixel centres of both grids coincide. The crop itself
comes from the image through the UDP warp of ``data.affine.get_affine_transform``, which
maps the padded person box's edges onto those same first and last pixel centres.

Every function here is plain, vectorised numpy over people: it is the reference the C++
decoding kernel is tested against. Keypoints are (x, y) pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.affine import affine_points, invert_affine

# The log of the smoothed heatmap is taken after clipping to this range (mmpose's values).
_LOG_CLIP = (1e-3, 50.0)


def crop_to_heatmap_scale(input_size: Sequence[int], heatmap_size: Sequence[int]) -> np.ndarray:
    """The UDP factor (x, y) with ``p_hm = p_crop · factor``: (hm − 1)/(in − 1)."""
    return np.array([(heatmap_size[1] - 1) / (input_size[1] - 1),
                     (heatmap_size[0] - 1) / (input_size[0] - 1)])


def encode_udp_heatmaps(keypoints: np.ndarray, visible: np.ndarray,
                        heatmap_size: Sequence[int], input_size: Sequence[int],
                        sigma: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """UDP Gaussian heatmap targets and target weights.

    The Gaussian is centred on the exact (sub-pixel) heatmap position and cut to the
    pixels within 3σ + ½ of it: the ±3σ window around the nearest pixel of mmpose's
    ``generate_udp_gaussian_heatmaps``, except at exact half-pixel positions, where this
    window stays mirror-symmetric (so that targets are exactly flip-equivariant). A
    keypoint gets weight 1 when it is visible (v > 0), finite, and its window overlaps the
    heatmap; otherwise weight 0 and an all-zero map.

    Args:
        keypoints: (..., K, 2) crop pixel coordinates (x, y).
        visible: (..., K) COCO visibility (0, 1, 2) or any value > 0 for labelled.
        heatmap_size: (h, w).
        input_size: crop size (H, W).
        sigma: Gaussian standard deviation in heatmap pixels.

    Returns:
        ``(heatmaps, weights)``: (..., K, h, w) and (..., K) float32.
    """
    h, w = heatmap_size
    mu = np.asarray(keypoints, np.float64) * crop_to_heatmap_scale(input_size, heatmap_size)
    finite = np.isfinite(mu).all(-1)
    mu = np.where(finite[..., None], mu, 0.0)
    reach = 3.0 * sigma + 0.5
    inside = ((mu + reach >= 0) & (mu - reach <= [w - 1, h - 1])).all(-1)
    weights = ((np.asarray(visible) > 0) & finite & inside).astype(np.float32)

    def axis_profile(coord: np.ndarray, n: int) -> np.ndarray:
        dist = np.arange(n, dtype=np.float64) - coord[..., None]
        return np.where(np.abs(dist) <= reach, np.exp(-dist ** 2 / (2.0 * sigma ** 2)), 0.0)

    gx = axis_profile(mu[..., 0], w)
    gy = axis_profile(mu[..., 1], h)
    heatmaps = gy[..., :, None] * gx[..., None, :] * weights[..., None, None]
    return heatmaps.astype(np.float32), weights


def gaussian_blur(heatmaps: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK's modulation: Gaussian blur with zero padding, then rescale to the original max.

    Matches mmpose's ``gaussian_blur`` (``cv2.GaussianBlur`` on a zero-padded map, σ from
    OpenCV's rule ``0.3·((k − 1)/2 − 1) + 0.8``), separable and batched here. (For
    k ≤ 9 OpenCV substitutes fixed binomial-like taps; this function always uses the rule.)

    Args:
        heatmaps: (..., h, w).
        kernel: odd kernel size.

    Returns:
        The blurred maps, float64, same shape.
    """
    if kernel % 2 != 1:
        raise ValueError(f"the blur kernel size must be odd, got {kernel}")
    x = np.asarray(heatmaps, np.float64)
    border = (kernel - 1) // 2
    sigma = 0.3 * ((kernel - 1) * 0.5 - 1) + 0.8
    taps = np.exp(-(np.arange(kernel) - border) ** 2 / (2 * sigma ** 2))
    taps /= taps.sum()
    h, w = x.shape[-2:]
    pad = [(0, 0)] * (x.ndim - 2) + [(border, border), (border, border)]
    padded = np.pad(x, pad)
    rows = sum(t * padded[..., i:i + h, :] for i, t in enumerate(taps))
    out = sum(t * rows[..., :, i:i + w] for i, t in enumerate(taps))
    orig_max = x.max(axis=(-2, -1), keepdims=True)
    new_max = out.max(axis=(-2, -1), keepdims=True)
    ratio = np.divide(orig_max, new_max, out=np.ones_like(new_max), where=new_max > 0)
    return out * ratio


def heatmap_argmax(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer peak (x, y) and peak value of each map.

    Args:
        heatmaps: (..., h, w).

    Returns:
        ``(coords, scores)``: (..., 2) int64 and (...) float32. Ties go to the first
        index in row-major order.
    """
    h, w = heatmaps.shape[-2:]
    flat = np.asarray(heatmaps).reshape(*heatmaps.shape[:-2], h * w)
    idx = flat.argmax(-1)
    scores = np.take_along_axis(flat, idx[..., None], -1)[..., 0]
    return np.stack([idx % w, idx // w], axis=-1), scores.astype(np.float32)


def refine_dark_udp(heatmaps: np.ndarray, coords: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK sub-pixel refinement, UDP form (mmpose's ``refine_keypoints_dark_udp``).

    The blurred heatmap's log is approximated by its second-order Taylor expansion at the
    integer peak (central differences on the edge-padded log map) and the peak moves by
    the Newton step ``−H⁻¹∇``. Two guards, which do not change the result on well-formed
    peaks: the step is taken only where the Hessian is negative definite (a true maximum
    of the log map), and each component is clipped to ±1 pixel (the argmax is already
    within half a pixel of the true peak).

    Args:
        heatmaps: (..., h, w) raw heatmaps.
        coords: (..., 2) integer peaks from :func:`heatmap_argmax`.
        kernel: blur kernel size (11 for σ = 2).

    Returns:
        (..., 2) float64 refined heatmap coordinates.
    """
    logm = np.log(np.clip(gaussian_blur(heatmaps, kernel), *_LOG_CLIP))
    pad = [(0, 0)] * (logm.ndim - 2) + [(1, 1), (1, 1)]
    logm = np.pad(logm, pad, mode="edge")
    px, py = coords[..., 0] + 1, coords[..., 1] + 1

    def at(dx: int, dy: int) -> np.ndarray:
        lin = ((py + dy) * logm.shape[-1] + px + dx)[..., None]
        flat = logm.reshape(*logm.shape[:-2], -1)
        return np.take_along_axis(flat, lin, -1)[..., 0]

    c, xp, xm, yp, ym = at(0, 0), at(1, 0), at(-1, 0), at(0, 1), at(0, -1)
    gx, gy = 0.5 * (xp - xm), 0.5 * (yp - ym)
    hxx, hyy = xp - 2 * c + xm, yp - 2 * c + ym
    hxy = 0.5 * (at(1, 1) - xp - yp + 2 * c - xm - ym + at(-1, -1))
    eps = np.finfo(np.float32).eps
    hxx, hyy = hxx + eps, hyy + eps
    det = hxx * hyy - hxy * hxy
    concave = (hxx < 0) & (det > 0)
    safe_det = np.where(concave, det, 1.0)
    step_x = np.where(concave, -(hyy * gx - hxy * gy) / safe_det, 0.0)
    step_y = np.where(concave, -(hxx * gy - hxy * gx) / safe_det, 0.0)
    step = np.clip(np.stack([step_x, step_y], axis=-1), -1.0, 1.0)
    return coords + step


def decode_udp_heatmaps(heatmaps: np.ndarray, input_size: Sequence[int],
                        warps: np.ndarray | None = None, blur_kernel: int = 11,
                        refine: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps of N people → keypoints: argmax, DARK, UDP map to the crop, inverse warp.

    Args:
        heatmaps: (N, K, h, w).
        input_size: crop size (H, W) the heatmaps were predicted for.
        warps: (N, 2, 3) image→crop affines of the crops (the samples' ``affine``, from
            ``data.affine.get_affine_transform``); None returns crop pixel coordinates.
        blur_kernel: DARK blur kernel size.
        refine: apply DARK (False: integer argmax only).

    Returns:
        ``(keypoints, scores)``: (N, K, 2) float32 (x, y) image (or crop) pixels, and
        (N, K) float32 heatmap maxima. Maps whose max is ≤ 0 keep their argmax position.
    """
    heatmaps = np.asarray(heatmaps)
    if heatmaps.ndim != 4:
        raise ValueError(f"expected heatmaps (N, K, h, w), got shape {heatmaps.shape}")
    coords, scores = heatmap_argmax(heatmaps)
    kps = coords.astype(np.float64)
    if refine and heatmaps.size:
        kps = np.where((scores > 0)[..., None], refine_dark_udp(heatmaps, coords, blur_kernel),
                       kps)
    kps = kps / crop_to_heatmap_scale(input_size, heatmaps.shape[-2:])
    if warps is not None:
        kps = affine_points(kps, invert_affine(warps))
    return kps.astype(np.float32), scores


def flip_index_from_pairs(pairs: Sequence[Sequence[int]], num_keypoints: int) -> np.ndarray:
    """The permutation that swaps each left/right pair (an involution)."""
    index = np.arange(num_keypoints)
    for a, b in pairs:
        index[a], index[b] = b, a
    return index


def flip_heatmaps_back(flipped: np.ndarray, flip_index: np.ndarray) -> np.ndarray:
    """Heatmaps predicted on a horizontally flipped crop, in the unflipped crop's frame.

    Under UDP the flip maps crop column x to W − 1 − x and heatmap column u to w − 1 − u
    consistently, so mirroring the array is exact: no one-pixel shift is needed (the
    shift mmpose applies without UDP compensates for a misaligned pixel grid).

    Args:
        flipped: (..., K, h, w) heatmaps of the flipped crops.
        flip_index: (K,) left/right permutation (:func:`flip_index_from_pairs`).
    """
    return np.asarray(flipped)[..., flip_index, :, ::-1]


def fuse_flip_test(heatmaps: np.ndarray, flipped: np.ndarray,
                   flip_index: np.ndarray) -> np.ndarray:
    """Average of the heatmaps and the flipped crops' heatmaps mapped back."""
    return 0.5 * (np.asarray(heatmaps) + flip_heatmaps_back(flipped, flip_index))
