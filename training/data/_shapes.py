"""Geometry of the synthetic shape classes: outlines as polygons and their raster masks.

Each class has a geometry no other class shares (round; three corners; four right
angles; five spikes; four arms), so the label is recoverable from the silhouette alone.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["SHAPE_CLASSES", "shape_polygon", "rasterize_polygon"]

SHAPE_CLASSES: tuple[str, ...] = ("circle", "triangle", "rectangle", "star", "cross")

_SUBPIXEL_BITS = 4


def _rotate(points: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return points @ np.array([[c, s], [-s, c]])


def _polar(radii: np.ndarray, angles: np.ndarray) -> np.ndarray:
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=1)


def _outline(kind: str, radius: float, rng: np.random.Generator) -> np.ndarray:
    """Vertices of an upright shape of circumradius about ``radius``, centred at 0."""
    if kind == "circle":
        angles = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
        return _polar(np.full(64, radius), angles)
    if kind == "triangle":
        angles = np.deg2rad(np.array([-90.0, 30.0, 150.0]) + rng.uniform(-8.0, 8.0, 3))
        return _polar(np.full(3, radius * 1.15), angles)
    if kind == "rectangle":
        phi = np.arctan(1.0 / rng.uniform(1.0, 2.0))
        hw, hh = radius * np.cos(phi), radius * np.sin(phi)
        return np.array([[-hw, -hh], [hw, -hh], [hw, hh], [-hw, hh]])
    if kind == "star":
        outer = radius * 1.1
        inner = outer * rng.uniform(0.38, 0.5)
        radii = np.where(np.arange(10) % 2 == 0, outer, inner)
        return _polar(radii, np.linspace(-np.pi / 2, 1.5 * np.pi, 10, endpoint=False))
    if kind == "cross":
        t = radius * rng.uniform(0.28, 0.38)
        r = radius
        return np.array(
            [[-t, -r], [t, -r], [t, -t], [r, -t], [r, t], [t, t],
             [t, r], [-t, r], [-t, t], [-r, t], [-r, -t], [-t, -t]]
        )  # fmt: skip
    raise ValueError(f"unknown shape class {kind!r}; expected one of {SHAPE_CLASSES}")


def shape_polygon(
    kind: str,
    center: tuple[float, float],
    radius: float,
    angle: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The outline of one shape instance in image coordinates.

    Args:
        kind: One of :data:`SHAPE_CLASSES`.
        center: (x, y) centre in pixels.
        radius: Circumradius in pixels (the shape's size).
        angle: Rotation in radians.
        rng: Source of randomness for the class's free parameters (aspect, spikes).

    Returns:
        (M, 2) float64 vertices (x, y).

    Raises:
        ValueError: ``kind`` is not a shape class.
    """
    return _rotate(_outline(kind, radius, rng), angle) + np.asarray(center, np.float64)


def rasterize_polygon(polygon: np.ndarray, height: int, width: int) -> np.ndarray:
    """Fills a polygon (pixel-centre coordinates) into a (H, W) bool mask."""
    mask = np.zeros((height, width), np.uint8)
    pts = np.round(polygon * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1, lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    return mask.astype(bool)
