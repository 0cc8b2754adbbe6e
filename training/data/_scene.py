"""One synthetic scene: objects placed at sampled depths and drawn far to near.

Depth drives everything (the painter's algorithm): each object gets a distance, its
size in pixels follows a pinhole camera (focal length = the image's short side), and
objects are drawn from far to near, so every later-drawn object is strictly nearer than
everything drawn before it. Depth is then predictable from apparent size, and occlusion
from depth, as in real images.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._render import ObjectSpec, object_mask, paint_object
from ._shapes import SHAPE_CLASSES
from ._textures import background

__all__ = ["CLASS_NAMES", "SceneObject", "Scene", "render_scene"]

#: Category names; category id = index + 1 and semantic label = category id.
CLASS_NAMES: tuple[str, ...] = ("person", *SHAPE_CLASSES)

_PERSON_HEIGHT_M, _SHAPE_RADIUS_M = 1.7, 0.3
_PERSON_Z, _SHAPE_Z, _BACKGROUND_Z = (2.0, 6.2), (1.8, 7.5), (10.0, 13.0)
_MIN_GAP_M = 0.06
_MIN_VISIBLE_PX, _MIN_VISIBLE_FRACTION = 16, 0.1


@dataclass(frozen=True)
class SceneObject:
    """An object that stays visible enough to be annotated.

    Attributes:
        category_id: 1-based category id (``CLASS_NAMES[category_id - 1]``).
        visible_mask: (H, W) bool pixels where this object is the top-most one.
        draw_order: Position in the drawing order (0 is drawn first, i.e. farthest).
        depth: Distance in metres at the object's centre.
        keypoints: (17, 3) float32 ``x, y, v`` for persons, else ``None``.
        is_crowd: True for a crowd region (a cluster of small objects).
    """

    category_id: int
    visible_mask: np.ndarray
    draw_order: int
    depth: float
    keypoints: np.ndarray | None = None
    is_crowd: bool = False


@dataclass(frozen=True)
class Scene:
    """A rendered scene and its ground truth.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        semantic: (H, W) uint8; 0 background, category id, 255 ignore.
        depth: (H, W) float32 metres.
        objects: Annotated objects in drawing order (almost hidden ones are left out).
    """

    image: np.ndarray
    semantic: np.ndarray
    depth: np.ndarray
    objects: tuple[SceneObject, ...]


def _sample_specs(rng, height, width, max_shapes, max_persons, crowd) -> list[ObjectSpec]:
    focal = float(min(height, width))
    specs = []
    for _ in range(int(rng.integers(1, max_shapes + 1))):
        z = rng.uniform(*_SHAPE_Z)
        radius = focal * _SHAPE_RADIUS_M / z * rng.uniform(0.85, 1.15)
        kind = int(rng.integers(len(SHAPE_CLASSES)))
        center = (rng.uniform(0.05, 0.95) * width, rng.uniform(0.05, 0.95) * height)
        specs.append(ObjectSpec(2 + kind, z, center, radius, rng.uniform(0, 2 * np.pi)))
    for _ in range(int(rng.integers(0, max_persons + 1))):
        z = rng.uniform(*_PERSON_Z)
        size = min(focal * _PERSON_HEIGHT_M / z * rng.uniform(0.92, 1.08), 0.9 * height)
        y_lo, y_hi = 0.42 * size, height - 0.42 * size
        center = (rng.uniform(0.1, 0.9) * width, rng.uniform(y_lo, max(y_lo, y_hi)))
        specs.append(ObjectSpec(1, z, center, size, 0.0))
    if crowd:
        z = rng.uniform(*_SHAPE_Z)
        radius = focal * _SHAPE_RADIUS_M / z * 2.0
        kind = int(rng.integers(len(SHAPE_CLASSES)))
        center = (rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height)
        specs.append(ObjectSpec(2 + kind, z, center, radius, 0.0, crowd=True))
    return specs


def _separate_depths(depths: np.ndarray) -> np.ndarray:
    """Sorted far to near, with at least ``_MIN_GAP_M`` between neighbours."""
    z = np.sort(depths)[::-1].copy()
    for i in range(1, len(z)):
        z[i] = min(z[i], z[i - 1] - _MIN_GAP_M)
    return z


def _background_depth(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(*_BACKGROUND_Z)
    gy, gx = rng.uniform(0.05, 0.2), rng.uniform(-0.05, 0.05)
    plane = 1.0 + gy * (0.5 - ys / height) + gx * (xs / width - 0.5)
    return (base * plane).astype(np.float32)


def _object_depth(rng, mask, z, slack) -> np.ndarray:
    """A tilted plane through ``z`` at the mask's centroid, varying at most ``slack``."""
    ys, xs = np.nonzero(mask)
    cx, cy = xs.mean(), ys.mean()
    extent = max(np.abs(xs - cx).max(), np.abs(ys - cy).max(), 1.0)
    a = rng.uniform(-1.0, 1.0, 2) * slack / (2.0 * extent)
    return (z + a[0] * (xs - cx) + a[1] * (ys - cy)).astype(np.float32)


def _ignore_boundaries(semantic: np.ndarray) -> np.ndarray:
    """Marks a one-pixel band where the label changes as 255 (ignore)."""
    edge = np.zeros(semantic.shape, bool)
    edge[:, :-1] |= semantic[:, :-1] != semantic[:, 1:]
    edge[:-1, :] |= semantic[:-1, :] != semantic[1:, :]
    out = semantic.copy()
    out[edge] = 255
    return out


def _keypoint_visibility(keypoints: np.ndarray, top: np.ndarray, index: int) -> np.ndarray:
    height, width = top.shape
    out = np.zeros((17, 3), np.float32)
    out[:, :2] = keypoints
    ix, iy = np.round(keypoints[:, 0]).astype(int), np.round(keypoints[:, 1]).astype(int)
    inside = (ix >= 0) & (ix < width) & (iy >= 0) & (iy < height)
    visible = np.zeros(17, bool)
    visible[inside] = top[iy[inside], ix[inside]] == index
    out[:, 2] = np.where(inside, np.where(visible, 2.0, 1.0), 0.0)
    out[~inside, :2] = 0.0  # COCO writes unlabelled keypoints as (0, 0, 0)
    return out


def _visible_objects(drawn: list[tuple], top: np.ndarray) -> tuple[SceneObject, ...]:
    """The drawn objects that stay visible enough; ``top`` holds the top object's index."""
    objects = []
    for k, spec, z, full_area, figure in drawn:
        visible = top == k
        if visible.sum() < max(_MIN_VISIBLE_PX, _MIN_VISIBLE_FRACTION * full_area):
            continue  # (almost) fully occluded or outside the image: not annotated
        kps = None if figure is None else _keypoint_visibility(figure.keypoints, top, k)
        objects.append(SceneObject(spec.category_id, visible, k, z, kps, spec.crowd))
    return tuple(objects)


def render_scene(
    rng: np.random.Generator,
    height: int,
    width: int,
    *,
    max_shapes: int = 6,
    max_persons: int = 2,
    crowd: bool = False,
    ignore_boundaries: bool = True,
) -> Scene:
    """Renders a random scene with shapes, stick figures and optionally a crowd region.

    Args:
        rng: Source of randomness (the only one: same state, same scene).
        height: Image height in pixels.
        width: Image width in pixels.
        max_shapes: Shapes are drawn 1..max_shapes times.
        max_persons: Stick figures are drawn 0..max_persons times.
        crowd: Add one crowd region (a cluster of small shapes of one class).
        ignore_boundaries: Mark a one-pixel band along label changes as 255.

    Returns:
        The scene with its image, semantic map, depth map and annotated objects.
    """
    specs = _sample_specs(rng, height, width, max_shapes, max_persons, crowd)
    depths = _separate_depths(np.array([s.depth for s in specs]))
    specs = sorted(specs, key=lambda s: -s.depth)
    image = background(rng, height, width)
    depth = _background_depth(rng, height, width)
    top = np.full((height, width), -1, np.int32)
    semantic = np.zeros((height, width), np.uint8)
    drawn = []
    for k, spec in enumerate(specs):
        z = float(depths[k])
        gaps = [abs(depths[j] - z) for j in (k - 1, k + 1) if 0 <= j < len(depths)]
        slack = min([0.03 * z, *(g / 3.0 for g in gaps)])
        mask, figure = object_mask(spec, rng, height, width)
        if not mask.any():
            continue
        paint_object(image, mask, figure, rng)
        depth[mask] = _object_depth(rng, mask, z, slack)
        top[mask] = k
        semantic[mask] = spec.category_id
        drawn.append((k, spec, z, int(mask.sum()), figure))
    objects = _visible_objects(drawn, top)
    if ignore_boundaries:
        semantic = _ignore_boundaries(semantic)
    pixels = np.clip(np.round(image), 0, 255).astype(np.uint8)
    return Scene(pixels, semantic, depth, objects)
