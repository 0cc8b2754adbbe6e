"""Writing COCO annotations: masks to polygons or RLE, annotation records, JSON files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from ._coco_read import decode_rle

__all__ = [
    "mask_bbox",
    "mask_to_polygons",
    "mask_to_rle",
    "encode_segmentation",
    "write_json",
]

# Polygons are kept only if pycocotools rasterises them back to exactly the mask (about
# 98% of objects); otherwise (holes, one-pixel slivers) the annotation is written as RLE.
_POLYGON_TOLERANCE = 0.0


def mask_bbox(mask: np.ndarray) -> list[float]:
    """COCO ``[x, y, w, h]`` of the pixels set in ``mask`` (pixel-edge coordinates)."""
    ys, xs = np.nonzero(mask)
    x0, y0 = int(xs.min()), int(ys.min())
    return [float(x0), float(y0), float(xs.max() + 1 - x0), float(ys.max() + 1 - y0)]


def mask_to_polygons(mask: np.ndarray) -> list[list[float]]:
    """Outer contours of a mask as COCO polygons ``[[x0, y0, x1, y1, ...], ...]``.

    Contours are traced on a 2x nearest-upsampled mask, so they run along pixel edges
    rather than through boundary pixel centres, and pycocotools rasterises them back
    to the same pixels. Holes are not representable (COCO polygons are unioned).
    """
    up = np.repeat(np.repeat(mask.astype(np.uint8), 2, axis=0), 2, axis=1)
    contours, _ = cv2.findContours(up, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    polygons = []
    for contour in contours:
        if len(contour) < 3:
            continue
        points = (contour.reshape(-1, 2).astype(np.float64) + 0.5) / 2.0
        polygons.append([round(float(v), 2) for v in points.reshape(-1)])
    return polygons


def mask_to_rle(mask: np.ndarray) -> dict:
    """Compressed RLE (pycocotools) with ``counts`` as a str, JSON-ready."""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def _polygon_error(polygons: list[list[float]], mask: np.ndarray) -> float:
    if not polygons:
        return 1.0
    height, width = mask.shape
    decoded = decode_rle(mask_utils.merge(mask_utils.frPyObjects(polygons, height, width)))
    return float(np.count_nonzero(decoded.astype(bool) ^ mask)) / max(int(mask.sum()), 1)


def encode_segmentation(mask: np.ndarray, prefer_rle: bool) -> dict | list[list[float]]:
    """The COCO ``segmentation`` of a mask: polygons when they are exact, else RLE.

    Args:
        mask: (H, W) bool mask with at least one pixel set.
        prefer_rle: Write RLE even where polygons would do.

    Returns:
        A list of polygons, or an RLE dict with ``size`` and string ``counts``.
    """
    if not prefer_rle:
        polygons = mask_to_polygons(mask)
        if _polygon_error(polygons, mask) <= _POLYGON_TOLERANCE:
            return polygons
    return mask_to_rle(mask)


def write_json(path: Path, data: object) -> None:
    """Writes JSON deterministically (fixed key order as built, compact separators)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    path.write_text(text + "\n", encoding="ascii")
