"""The image → input-tensor transform the post-processing undoes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Letterbox:
    """Affine map ``input = image * scale + offset`` (per axis), in continuous pixel-edge
    coordinates. Same fields as ``argus_edge._core.Transform``, which can be passed
    wherever a :class:`Letterbox` is expected.

    Attributes:
        scale_x: input pixels per image pixel along x.
        scale_y: input pixels per image pixel along y.
        offset_x: input pixels of padding left of the image.
        offset_y: input pixels of padding above the image.
        image_width: original image width in pixels.
        image_height: original image height in pixels.
    """

    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float
    image_width: int
    image_height: int

    @classmethod
    def identity(cls, input_hw: tuple[int, int]) -> Letterbox:
        """The transform of an image that already is the input (height, width)."""
        return cls(1.0, 1.0, 0.0, 0.0, int(input_hw[1]), int(input_hw[0]))

    @classmethod
    def fit(cls, image_hw: tuple[int, int], input_hw: tuple[int, int]) -> Letterbox:
        """Aspect-preserving fit of an image into the input, centred: the C++ core's
        geometry (``argus_edge._core.transform_for``), as ``preprocess`` applies it."""
        from argus_edge._core import transform_for
        t = transform_for(tuple(image_hw), tuple(input_hw), "letterbox")
        return cls(t.scale_x, t.scale_y, t.offset_x, t.offset_y, t.image_width, t.image_height)


def boxes_to_image(boxes: np.ndarray, transform) -> np.ndarray:
    """(N, 4) xyxy input-pixel boxes → image pixels, clipped to the image (float32).

    Args:
        boxes: boxes in input-tensor pixels.
        transform: a :class:`Letterbox` (or anything with the same attributes).
    """
    b = np.asarray(boxes, np.float32).reshape(-1, 4).copy()
    b[:, 0::2] = (b[:, 0::2] - transform.offset_x) / transform.scale_x
    b[:, 1::2] = (b[:, 1::2] - transform.offset_y) / transform.scale_y
    b[:, 0::2] = b[:, 0::2].clip(0, transform.image_width)
    b[:, 1::2] = b[:, 1::2].clip(0, transform.image_height)
    return b
