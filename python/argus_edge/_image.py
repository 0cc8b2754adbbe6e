"""Turning what users pass as an image into an (H, W, 3) uint8 array for the core."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._errors import ImageError, ImageNotFoundError, InvalidArgumentError

__all__ = ["as_image", "read_image"]

_COLORS = ("RGB", "BGR")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Reads an image file as (H, W, 3) uint8 RGB (EXIF orientation applied).

    Raises:
        ImageNotFoundError: the file is missing (an ImageError and a FileNotFoundError).
        ImageError: the file is unreadable or not an image Pillow can decode.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    shown = os.fsdecode(path)
    if not os.path.exists(path):
        raise ImageNotFoundError(f"image file {shown!r} does not exist", shown)
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            return np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ImageError(f"cannot read image {shown!r}: {e}") from e


def as_image(image: Any, color: str = "RGB") -> tuple[np.ndarray, str]:
    """One image as (array, color) for the core.

    Args:
        image: a path (str / PathLike), a PIL image, or a numpy uint8 array of shape
            (H, W, 3) (``color`` says RGB or BGR), (H, W) grayscale or (H, W, 4) with
            alpha (dropped).
        color: channel order of a numpy array: ``"RGB"`` or ``"BGR"`` (OpenCV).

    Returns:
        (H, W, 3) uint8 array with contiguous pixels, and its colour order.

    Raises:
        ImageError: wrong type, dtype, shape or size zero, or an unreadable file.
        InvalidArgumentError: ``color`` is not RGB or BGR.
    """
    if color not in _COLORS:
        raise InvalidArgumentError(f"color must be 'RGB' or 'BGR', got {color!r}")
    if isinstance(image, (str, bytes, os.PathLike)):
        return read_image(image), "RGB"
    if _is_pil(image):
        return np.asarray(image.convert("RGB")), "RGB"
    if not isinstance(image, np.ndarray):
        raise ImageError(f"image must be a path, a PIL image or a numpy array, "
                         f"got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ImageError(f"image dtype must be uint8 (0..255), got {image.dtype}; "
                         "convert with (x * 255).clip(0, 255).astype(np.uint8) if it is "
                         "float in [0, 1]")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim != 3 or image.shape[2] != 3:
        raise ImageError(f"image must have shape (H, W, 3), (H, W) or (H, W, 4), "
                         f"got {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"image is empty: shape {image.shape}")
    if image.strides[2] != 1 or image.strides[1] != 3 or image.strides[0] < 0:
        image = np.ascontiguousarray(image)
    return image, color


def _is_pil(obj: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        return False
    return isinstance(obj, Image.Image)
