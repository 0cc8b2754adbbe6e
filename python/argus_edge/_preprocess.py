"""Image preprocessing: the exact tensor the Argus graphs expect.

The work happens in the C++ core (``argus_edge._core``), which the C API shares, so
Python and firmware feed the model bit-identical inputs. This module adds argument
checks with messages written for Python callers. It never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from ._errors import ImageError, InvalidArgumentError

if TYPE_CHECKING:
    from ._core import Transform

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "preprocess"]

#: ImageNet channel means, RGB order, in 0..255 pixel units.
IMAGENET_MEAN: tuple[float, float, float] = (123.675, 116.28, 103.53)
#: ImageNet channel standard deviations, RGB order, in 0..255 pixel units.
IMAGENET_STD: tuple[float, float, float] = (58.395, 57.12, 57.375)

_POLICIES = ("letterbox", "stretch")
_COLORS = ("RGB", "BGR")
_BUILD_HINT = (
    "the compiled core argus_edge._core is not available. Build it from the repository "
    "root with `pip install .`, or for development `pip install -e . --no-build-isolation`"
)


def _import_core() -> ModuleType:
    """Returns ``argus_edge._core``, importing it on first use.

    Raises:
        ImportError: the compiled module is missing or cannot be loaded; the message says
            how to build it.
    """
    try:
        return importlib.import_module("argus_edge._core")
    except ImportError as exc:
        raise ImportError(f"{_BUILD_HINT} ({exc})") from exc


def _check_image(image: object) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise ImageError(
            f"image must be a numpy.ndarray of uint8 with shape (H, W, 3), got "
            f"{type(image).__name__}; convert it with np.asarray(image, dtype=np.uint8)"
        )
    if image.dtype != np.uint8:
        hint = " (scale 0..1 floats by 255 and round)" if image.dtype.kind == "f" else ""
        raise ImageError(f"image dtype must be uint8, got {image.dtype}{hint}")
    if image.ndim != 3 or image.shape[2] != 3:
        rgba = image.ndim == 3 and image.shape[2] == 4
        hint = " (drop the alpha channel: image[..., :3])" if rgba else ""
        raise ImageError(f"image must have shape (H, W, 3), got {image.shape}{hint}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"image is empty: shape {image.shape}")
    return image


def _check_size(size: object) -> tuple[int, int]:
    ok = (
        isinstance(size, Sequence)
        and not isinstance(size, str)
        and len(size) == 2
        and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size)
    )
    if not ok or min(size) <= 0:  # type: ignore[call-overload]
        raise InvalidArgumentError(
            f"size must be a (height, width) pair of positive ints, got {size!r}"
        )
    return int(size[0]), int(size[1])  # type: ignore[index]


def _check_triple(values: object, name: str) -> tuple[float, float, float]:
    try:
        triple = tuple(float(v) for v in values)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        triple = ()
    if len(triple) != 3 or not all(np.isfinite(triple)):
        raise InvalidArgumentError(f"{name} must be 3 finite numbers (R, G, B), got {values!r}")
    return triple  # type: ignore[return-value]


def preprocess(
    image: np.ndarray,
    size: tuple[int, int],
    policy: str = "letterbox",
    color: str = "RGB",
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> tuple[np.ndarray, Transform]:
    """Resizes and normalizes an image into the model's input tensor.

    Resizing is antialiased bilinear, numerically the same as
    ``torch.nn.functional.interpolate(..., mode="bilinear", antialias=True)``.

    Args:
        image: uint8 array of shape (H, W, 3). Any strides are accepted; images whose
            pixels are contiguous within each row (e.g. crops of a bigger image) are read
            without a copy.
        size: output (height, width) in pixels.
        policy: ``"letterbox"`` keeps the aspect ratio: the image is scaled by
            ``min(width_out / W, height_out / H)``, centred, and the border is filled with
            the mean colour (0 after normalization). ``"stretch"`` resizes to exactly
            ``size``.
        color: channel order of ``image``, ``"RGB"`` or ``"BGR"`` (OpenCV). The output is
            RGB either way.
        mean: per-channel mean, RGB order, in 0..255 pixel units.
        std: per-channel standard deviation, RGB order, in 0..255 pixel units.

    Returns:
        A pair ``(tensor, transform)``: ``tensor`` is a float32 array of shape
        (3, height, width) holding ``(pixel - mean) / std``; ``transform`` maps image
        coordinates to tensor coordinates (``tensor = image * scale + offset``) and back,
        e.g. ``transform.to_image_boxes(boxes)`` for detections.

    Raises:
        ImageError: ``image`` is not a uint8 (H, W, 3) numpy array, or it is empty.
        InvalidArgumentError: bad ``size``, ``policy``, ``color``, ``mean`` or ``std``
            (std must be non-zero).
        ImportError: the compiled core is not built.
    """
    image = _check_image(image)
    out_size = _check_size(size)
    if policy not in _POLICIES:
        raise InvalidArgumentError(f"policy must be one of {_POLICIES}, got {policy!r}")
    if color not in _COLORS:
        raise InvalidArgumentError(f"color must be one of {_COLORS}, got {color!r}")
    mean3 = _check_triple(mean, "mean")
    std3 = _check_triple(std, "std")
    if 0.0 in std3:
        raise InvalidArgumentError(f"std must be non-zero, got {std!r}")
    return _import_core().preprocess(image, out_size, policy, color, mean3, std3)
