"""Instance masks from prototypes, back at image resolution (numpy reference).

For each detection: logits = coefficients · prototypes at stride 4; each image pixel
inside the detection's box samples those logits bilinearly at its centre mapped through
the letterbox transform (image → input → prototype pixels, edge-clamped like
``align_corners=False``); the pixel is foreground when the sampled logit exceeds
``logit(mask_threshold)``. Interpolating logits and thresholding in logit space equals
thresholding σ(logit) and needs no per-pixel sigmoid. Pixels outside the box are
background: cropping happens at image resolution, so mask edges at the box are exact.
"""

from __future__ import annotations

import math

import numpy as np

PROTO_STRIDE = 4


def assemble_mask_logits(coeffs: np.ndarray, protos: np.ndarray) -> np.ndarray:
    """(P, K) coefficients × (K, h, w) prototypes → (P, h, w) float32 mask logits."""
    coeffs = np.asarray(coeffs, np.float32).reshape(-1, protos.shape[0])
    k, h, w = protos.shape
    return (coeffs @ np.asarray(protos, np.float32).reshape(k, h * w)).reshape(-1, h, w)


def _logit(p: float) -> float:
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


def _sample_axis(pixels: np.ndarray, scale: float, offset: float,
                 n_src: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear taps (i0, i1, w1) of image pixel indices along one axis of the protos."""
    u = ((pixels + 0.5) * scale + offset) / PROTO_STRIDE - 0.5
    u = np.clip(u, 0.0, n_src - 1)
    i0 = np.floor(u).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_src - 1)
    return i0, i1, (u - i0).astype(np.float32)


def _pixel_span(lo: float, hi: float, n: int) -> np.ndarray:
    """Indices of the pixels whose centres c + 0.5 lie in [lo, hi), within [0, n)."""
    first = max(0, math.ceil(lo - 0.5))
    last = min(n, math.ceil(hi - 0.5))
    return np.arange(first, max(first, last), dtype=np.float64)


def paste_masks(mask_logits: np.ndarray, boxes: np.ndarray, transform,
                mask_threshold: float = 0.5) -> np.ndarray:
    """Masks at image resolution, cropped to their boxes and thresholded.

    Args:
        mask_logits: (P, h, w) logits at prototype resolution (stride 4 of the input).
        boxes: (P, 4) xyxy boxes in *image* pixels.
        transform: the image → input :class:`.letterbox.Letterbox` (or same attributes).
        mask_threshold: probability threshold.

    Returns:
        (P, image_height, image_width) bool masks.
    """
    p, h, w = mask_logits.shape
    img_h, img_w = int(transform.image_height), int(transform.image_width)
    out = np.zeros((p, img_h, img_w), dtype=bool)
    cut = _logit(mask_threshold)
    for n in range(p):
        x1, y1, x2, y2 = (float(v) for v in boxes[n])
        cols, rows = _pixel_span(x1, x2, img_w), _pixel_span(y1, y2, img_h)
        if not cols.size or not rows.size:
            continue
        x0, x1i, wx = _sample_axis(cols, transform.scale_x, transform.offset_x, w)
        y0, y1i, wy = _sample_axis(rows, transform.scale_y, transform.offset_y, h)
        m = mask_logits[n]
        vert = m[y0] * (1 - wy)[:, None] + m[y1i] * wy[:, None]  # (rows, w)
        val = vert[:, x0] * (1 - wx)[None] + vert[:, x1i] * wx[None]
        r0, c0 = int(rows[0]), int(cols[0])
        out[n, r0:r0 + rows.size, c0:c0 + cols.size] = val > cut
    return out
