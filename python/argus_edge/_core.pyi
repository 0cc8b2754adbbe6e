"""Typing stubs for ``argus_edge._core``, the compiled C++ core (libargus bindings).

Use the public wrappers in :mod:`argus_edge` where there is one; every function here
raises the typed errors of :mod:`argus_edge._errors` (never crashes on bad input).
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

class Transform:
    """Affine map from image to tensor coordinates: ``tensor = image * scale + offset``.

    Coordinates are continuous pixel-edge coordinates (the image spans
    ``[0, image_width] x [0, image_height]``), so boxes map exactly.
    """

    def __init__(
        self,
        scale_x: float,
        scale_y: float,
        offset_x: float,
        offset_y: float,
        image_width: int,
        image_height: int,
    ) -> None:
        """Builds a transform by hand (``preprocess`` returns the one it used).

        Raises:
            InvalidArgumentError: a scale is not positive and finite, an offset is not
                finite, or an image size is negative.
        """

    @property
    def scale_x(self) -> float:
        """Tensor pixels per image pixel along x."""

    @property
    def scale_y(self) -> float:
        """Tensor pixels per image pixel along y."""

    @property
    def offset_x(self) -> float:
        """Tensor pixels of padding left of the image."""

    @property
    def offset_y(self) -> float:
        """Tensor pixels of padding above the image."""

    @property
    def image_width(self) -> int:
        """Width of the source image in pixels."""

    @property
    def image_height(self) -> int:
        """Height of the source image in pixels."""

    @property
    def matrix(self) -> npt.NDArray[np.float64]:
        """The 2x3 affine matrix image -> tensor, ``[[sx, 0, ox], [0, sy, oy]]``."""

    def to_image_points(self, points: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """Maps tensor-space points back to the image (not clipped).

        Args:
            points: (N, 2) array of (x, y).

        Returns:
            (N, 2) array, float32 if ``points`` is float32, otherwise float64.

        Raises:
            InvalidArgumentError: ``points`` is not an (N, 2) numeric array.
        """

    def to_image_boxes(self, boxes: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """Maps tensor-space xyxy boxes back to the image, clipped to the image.

        Args:
            boxes: (N, 4) array of (x1, y1, x2, y2).

        Returns:
            (N, 4) array, float32 if ``boxes`` is float32, otherwise float64.

        Raises:
            InvalidArgumentError: ``boxes`` is not an (N, 4) numeric array.
        """

def preprocess(
    image: npt.NDArray[np.uint8],
    size: tuple[int, int],
    policy: str = "letterbox",
    color: str = "RGB",
    mean: Sequence[float] = (123.675, 116.28, 103.53),
    std: Sequence[float] = (58.395, 57.12, 57.375),
) -> tuple[npt.NDArray[np.float32], Transform]:
    """Resizes (antialiased bilinear) and normalizes an image; runs without the GIL.

    Args:
        image: uint8 (H, W, 3). Rows with contiguous pixels are read in place at any row
            stride; other layouts are copied first.
        size: output (height, width).
        policy: ``"letterbox"`` (keep aspect ratio, centre, pad with 0 = mean colour) or
            ``"stretch"``.
        color: channel order of ``image``: ``"RGB"`` or ``"BGR"``; the output is RGB.
        mean: per-channel RGB mean in 0..255 units.
        std: per-channel RGB standard deviation in 0..255 units, non-zero.

    Returns:
        ``(tensor, transform)``: float32 (3, height, width) ``(pixel - mean) / std`` and
        the image -> tensor :class:`Transform`.

    Raises:
        ImageError: not a uint8 (H, W, 3) ndarray, or empty.
        InvalidArgumentError: bad size, policy, color, mean or std.
    """

def resize_bilinear(x: npt.NDArray[np.float32], size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """Antialiased bilinear resize of the last two axes, equal to
    ``torch.nn.functional.interpolate(x, size, mode="bilinear", align_corners=False,
    antialias=True)``.

    Args:
        x: float32 (C, H, W) or (N, C, H, W); any strides (non-contiguous input is copied).
        size: output (height, width).

    Returns:
        float32 array with the last two axes resized to ``size``.

    Raises:
        InvalidArgumentError: wrong dtype, ndim, an empty spatial size or a bad ``size``.
    """


def transform_for(
    image_size: tuple[int, int],
    size: tuple[int, int],
    policy: str = "letterbox",
) -> Transform:
    """The :class:`Transform` that :func:`preprocess` uses for an image of ``image_size``.

    Args:
        image_size: the image (height, width) in pixels.
        size: the model input (height, width).
        policy: ``"letterbox"`` or ``"stretch"``.

    Raises:
        InvalidArgumentError: non-positive sizes or an unknown policy.
    """
