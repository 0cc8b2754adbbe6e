"""Procedural colours and textures for synthetic backgrounds and object fills.

Every pattern is a map ``p(x, y)`` in [0, 1] that blends two colours. Backgrounds use
muted colours and objects saturated ones, so objects stand out without being trivial.
"""

from __future__ import annotations

import colorsys
from functools import lru_cache

import cv2
import numpy as np

__all__ = ["background", "fill_texture", "object_color"]

BACKGROUND_KINDS = ("gradient", "noise", "stripes", "checker")
FILL_KINDS = ("solid", "stripes", "checker", "dots", "gradient", "noise")


@lru_cache(maxsize=8)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ys.setflags(write=False)
    xs.setflags(write=False)
    return ys, xs


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float32) * 255.0


def object_color(rng: np.random.Generator) -> np.ndarray:
    """A saturated, fairly bright RGB colour (float32, 0..255)."""
    return _hsv(rng.random(), rng.uniform(0.55, 1.0), rng.uniform(0.5, 1.0))


def _muted_color(rng: np.random.Generator) -> np.ndarray:
    return _hsv(rng.random(), rng.uniform(0.0, 0.4), rng.uniform(0.15, 0.9))


def _rotated(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = _grid(height, width)
    theta = rng.uniform(0.0, np.pi)
    c, s = np.float32(np.cos(theta)), np.float32(np.sin(theta))
    return xs * c + ys * s, -xs * s + ys * c


def _pattern(rng: np.random.Generator, kind: str, height: int, width: int) -> np.ndarray:
    """A (H, W) float32 blend map in [0, 1] of the given kind."""
    if kind == "solid":
        return np.zeros((height, width), np.float32)
    u, v = _rotated(rng, height, width)
    if kind == "gradient":
        lo, hi = float(u.min()), float(u.max())
        return (u - lo) / max(hi - lo, 1.0)
    if kind == "stripes":
        period = rng.uniform(4.0, 24.0)
        return (np.floor(u / period) % 2).astype(np.float32)
    if kind == "checker":
        cell = rng.uniform(4.0, 24.0)
        return ((np.floor(u / cell) + np.floor(v / cell)) % 2).astype(np.float32)
    if kind == "dots":
        cell = rng.uniform(6.0, 16.0)
        radius = cell * rng.uniform(0.2, 0.4)
        du, dv = u % cell - cell / 2, v % cell - cell / 2
        return (du * du + dv * dv < radius * radius).astype(np.float32)
    if kind == "noise":
        cells = int(rng.integers(3, 12))
        small = rng.random((cells, cells)).astype(np.float32)
        big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        return np.clip(big, 0.0, 1.0)
    raise ValueError(f"unknown texture kind {kind!r}")


def _blend(p: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    return c0 + p[..., None] * (c1 - c0)


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A random background (gradient, smooth noise, stripes or checker).

    Args:
        rng: Source of randomness.
        height: Image height in pixels.
        width: Image width in pixels.

    Returns:
        (H, W, 3) float32 RGB in 0..255 with mild pixel noise.
    """
    kind = BACKGROUND_KINDS[int(rng.integers(len(BACKGROUND_KINDS)))]
    img = _blend(_pattern(rng, kind, height, width), _muted_color(rng), _muted_color(rng))
    sigma = rng.uniform(0.0, 6.0)
    img += rng.standard_normal((height, width, 1), dtype=np.float32) * np.float32(sigma)
    return img


def fill_texture(
    rng: np.random.Generator, height: int, width: int, color: np.ndarray | None = None
) -> np.ndarray:
    """A textured fill for one object: a base colour and a lighter or darker variant.

    Args:
        rng: Source of randomness.
        height: Height of the region to fill.
        width: Width of the region to fill.
        color: Base RGB colour (0..255); a random saturated one when ``None``.

    Returns:
        (H, W, 3) float32 RGB in 0..255.
    """
    base = object_color(rng) if color is None else np.asarray(color, np.float32)
    kind = FILL_KINDS[int(rng.integers(len(FILL_KINDS)))]
    factor = rng.uniform(0.45, 0.75) if rng.random() < 0.5 else rng.uniform(1.3, 1.8)
    variant = np.clip(base * np.float32(factor), 0.0, 255.0)
    return _blend(_pattern(rng, kind, height, width), base, variant)
