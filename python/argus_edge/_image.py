"""Turning what users pass as an image into an array for the core.

Conversions only: files and PIL images are decoded to RGB, uint8 grayscale and RGBA
arrays become RGB, other pixel layouts are made contiguous. What an image array may be
(dtype, shape, size) is checked once, by the core (``csrc/python/image_arg.h``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._errors import ImageError, ImageNotFoundError

__all__ = ["as_image", "read_image"]



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


def as_image(image: Any, color: str = "RGB") -> tuple[Any, str]:
    """One image as (array, color) for the core.

    Args:
        image: a path (str / PathLike), a PIL image, or a numpy array: uint8 (H, W, 3)
            (``color`` says RGB or BGR), (H, W) grayscale or (H, W, 4) with alpha
            (dropped) are converted; other arrays go to the core as they are, which
            says what is wrong with them.
        color: channel order of a numpy array (``"RGB"`` or ``"BGR"``, checked by the
            core).

    Returns:
        The array and its colour order (RGB for decoded files and PIL images).

    Raises:
        ImageNotFoundError: a path that does not exist.
        ImageError: an unreadable file, or an object that is none of the above.
    """
    if isinstance(image, (str, bytes, os.PathLike)):
        return read_image(image), "RGB"
    if _is_pil(image):
        return np.asarray(image.convert("RGB")), "RGB"
    if not isinstance(image, np.ndarray):
        raise ImageError(f"image must be a path, a PIL image or a numpy array, "
                         f"got {type(image).__name__}")
    if image.dtype == np.uint8 and image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim == 3 and image.shape[2] == 3 and (
            image.strides[2] != 1 or image.strides[1] != 3 or image.strides[0] < 0):
        image = np.ascontiguousarray(image)
    return image, color


def _is_pil(obj: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        return False
    return isinstance(obj, Image.Image)
