"""Classification images: one dominant object of the labelled class, small distractors."""

from __future__ import annotations

import numpy as np

from ._render import PERSON_ID, ObjectSpec, object_mask, paint_object
from ._shapes import SHAPE_CLASSES
from ._textures import background

__all__ = ["render_classification_image"]

_MAX_DISTRACTOR_FRACTION = 0.15


def _main_spec(rng: np.random.Generator, category_id: int, height: int, width: int) -> ObjectSpec:
    side = float(min(height, width))
    cx = width * (0.5 + rng.uniform(-0.12, 0.12))
    if category_id == PERSON_ID:
        size = rng.uniform(0.62, 0.88) * height
        return ObjectSpec(
            PERSON_ID, 1.0, (cx, height * 0.5 + rng.uniform(-0.04, 0.04) * height), size, 0.0
        )
    cy = height * (0.5 + rng.uniform(-0.12, 0.12))
    return ObjectSpec(
        category_id, 1.0, (cx, cy), rng.uniform(0.28, 0.42) * side, rng.uniform(0, 2 * np.pi)
    )


def _distractor_spec(rng, category_id: int, main_area: int, height: int, width: int) -> ObjectSpec:
    others = [2 + i for i in range(len(SHAPE_CLASSES)) if 2 + i != category_id]
    kind = others[int(rng.integers(len(others)))]
    radius = np.sqrt(_MAX_DISTRACTOR_FRACTION * main_area / np.pi) * rng.uniform(0.35, 0.8)
    center = (rng.uniform(0.0, width), rng.uniform(0.0, height))
    return ObjectSpec(kind, 2.0, center, max(radius, 2.0), rng.uniform(0, 2 * np.pi))


def render_classification_image(
    rng: np.random.Generator, category_id: int, height: int, width: int
) -> np.ndarray:
    """An image whose label is unambiguous: one large object, distractors at most 15% of it.

    Args:
        rng: Source of randomness.
        category_id: 1-based category id of the dominant object.
        height: Image height in pixels.
        width: Image width in pixels.

    Returns:
        (H, W, 3) uint8 RGB image.
    """
    image = background(rng, height, width)
    main = _main_spec(rng, category_id, height, width)
    main_mask, main_figure = object_mask(main, rng, height, width)
    main_area = int(main_mask.sum())
    behind, in_front = [], []
    for _ in range(int(rng.integers(0, 4))):
        spec = _distractor_spec(rng, category_id, main_area, height, width)
        mask, _ = object_mask(spec, rng, height, width)
        if mask.any() and mask.sum() <= _MAX_DISTRACTOR_FRACTION * main_area:
            (behind if rng.random() < 0.7 else in_front).append(mask)
    for mask in behind:
        paint_object(image, mask, None, rng)
    paint_object(image, main_mask, main_figure, rng)
    for mask in in_front:
        paint_object(image, mask, None, rng)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)
