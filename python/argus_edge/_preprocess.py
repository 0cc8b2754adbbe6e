"""Image preprocessing: the exact tensor the Argus graphs expect.

The work, and every check of the arguments, happens in the C++ core
(``argus_edge._core``), which the C API shares, so Python and firmware feed the model
bit-identical inputs. It never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ._core import Transform

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "preprocess"]

#: ImageNet channel means, RGB order, in 0..255 pixel units.
IMAGENET_MEAN: tuple[float, float, float] = (123.675, 116.28, 103.53)
#: ImageNet channel standard deviations, RGB order, in 0..255 pixel units.
IMAGENET_STD: tuple[float, float, float] = (58.395, 57.12, 57.375)

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
    return _import_core().preprocess(image, size, policy, color, mean, std)
