"""Rasterising and painting one synthetic object (shape, stick figure or crowd cluster)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._shapes import SHAPE_CLASSES, rasterize_polygon, shape_polygon
from ._stick_figures import StickFigure, draw_face, rasterize_figure, sample_stick_figure
from ._textures import fill_texture

__all__ = ["ObjectSpec", "object_mask", "paint_object", "PERSON_ID"]

PERSON_ID = 1  # category id of "person"; shapes follow in SHAPE_CLASSES order


@dataclass(frozen=True)
class ObjectSpec:
    """What to draw, before any pixels exist.

    Attributes:
        category_id: 1 for a person, ``2 + SHAPE_CLASSES.index(kind)`` for a shape.
        depth: Distance in metres (drives the drawing order).
        center: (x, y) in pixels; the pelvis for a person.
        size: Circumradius of a shape, standing height of a person, or the radius of a
            crowd cluster, in pixels.
        angle: Rotation in radians (shapes only).
        crowd: Draw a cluster of small shapes annotated as one crowd region.
    """

    category_id: int
    depth: float
    center: tuple[float, float]
    size: float
    angle: float
    crowd: bool = False


def _crowd_mask(spec: ObjectSpec, rng, height: int, width: int) -> np.ndarray:
    kind = SHAPE_CLASSES[spec.category_id - 2]
    mask = np.zeros((height, width), bool)
    member = max(3.0, spec.size * 0.28)
    for _ in range(int(rng.integers(6, 14))):
        offset = rng.uniform(-1.0, 1.0, 2) * spec.size
        center = (spec.center[0] + offset[0], spec.center[1] + offset[1])
        radius = member * rng.uniform(0.8, 1.2)
        poly = shape_polygon(kind, center, radius, rng.uniform(0, 2 * np.pi), rng)
        mask |= rasterize_polygon(poly, height, width)
    return mask


def object_mask(
    spec: ObjectSpec, rng: np.random.Generator, height: int, width: int
) -> tuple[np.ndarray, StickFigure | None]:
    """Rasterises an object's full (unoccluded) silhouette inside the image.

    Args:
        spec: The object to draw.
        rng: Source of randomness (pose, shape parameters).
        height: Image height in pixels.
        width: Image width in pixels.

    Returns:
        A (H, W) bool mask, and the posed figure for a person (else ``None``).
    """
    if spec.category_id == PERSON_ID:
        figure = sample_stick_figure(rng, spec.size, spec.center)
        return rasterize_figure(figure, height, width), figure
    if spec.crowd:
        return _crowd_mask(spec, rng, height, width), None
    kind = SHAPE_CLASSES[spec.category_id - 2]
    poly = shape_polygon(kind, spec.center, spec.size, spec.angle, rng)
    return rasterize_polygon(poly, height, width), None


def paint_object(
    image: np.ndarray, mask: np.ndarray, figure: StickFigure | None, rng: np.random.Generator
) -> None:
    """Paints a textured fill into ``image`` (H, W, 3 float32) where ``mask`` is set.

    A person also gets dark eye and nose dots, drawn now so that objects drawn later
    cover them.
    """
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    texture = fill_texture(rng, int(y1 - y0), int(x1 - x0))
    region = image[y0:y1, x0:x1]
    local = mask[y0:y1, x0:x1]
    region[local] = texture[local]
    if figure is not None:
        face = np.zeros_like(image)
        draw_face(face, figure, np.array([1.0, 1.0, 1.0]))
        dots = (face[..., 0] > 0) & mask
        image[dots] = rng.uniform(0.0, 40.0)
