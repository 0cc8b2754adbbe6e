"""Monocular depth from image + depth map pairs (16-bit PNG in millimetres, or .npy metres)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from argus_edge._errors import ImageError, InvalidArgumentError

from ._base import Sample, Transform, TransformedDataset
from ._io import read_rgb, read_unchanged, write_png
from ._pairs import list_images, pair_by_stem

__all__ = ["DepthDataset", "read_depth", "write_depth_png"]

_MAX_UINT16 = 65535


def read_depth(path: str | Path, depth_scale: float = 1000.0) -> np.ndarray:
    """Reads a depth map as float32 metres; 0 (or non-finite in ``.npy``) means invalid.

    Args:
        path: A 16-bit PNG (units of ``1 / depth_scale`` metres) or a ``.npy`` array in metres.
        depth_scale: PNG units per metre (1000 for millimetres).

    Returns:
        (H, W) float32 metres, invalid pixels set to 0.

    Raises:
        ImageError: The file is unreadable, not single-channel, or a PNG is not 16-bit.
    """
    path = Path(path)
    if path.suffix.lower() == ".npy":
        try:
            depth = np.load(path, allow_pickle=False).astype(np.float32)
        except (OSError, ValueError) as exc:
            raise ImageError(f"cannot read depth {str(path)!r}: {exc}") from exc
        depth = np.squeeze(depth)
    else:
        raw = read_unchanged(path)
        if raw.dtype != np.uint16:
            raise ImageError(f"depth PNG {str(path)!r} is {raw.dtype}, expected 16-bit")
        depth = raw.astype(np.float32) / np.float32(depth_scale)
    if depth.ndim != 2:
        raise ImageError(f"depth {str(path)!r} must be single-channel, got shape {depth.shape}")
    depth[~np.isfinite(depth) | (depth < 0)] = 0.0
    return depth


def write_depth_png(path: str | Path, depth: np.ndarray, depth_scale: float = 1000.0) -> None:
    """Writes metres as a 16-bit PNG in ``1 / depth_scale`` units (0 = invalid).

    Raises:
        InvalidArgumentError: Depth is not 2-D or exceeds the 16-bit range.
    """
    depth = np.asarray(depth, np.float64)
    if depth.ndim != 2:
        raise InvalidArgumentError(f"depth must be (H, W), got shape {depth.shape}")
    valid = np.isfinite(depth) & (depth > 0)
    units = np.where(valid, np.round(depth * depth_scale), 0.0)
    if units.max(initial=0.0) > _MAX_UINT16:
        raise InvalidArgumentError(
            f"depth {units.max() / depth_scale:.1f} m does not fit 16-bit PNG"
        )
    write_png(path, units.astype(np.uint16))


class DepthDataset(TransformedDataset):
    """Images paired by stem with depth maps.

    A sample holds ``image`` (H, W, 3) uint8, ``depth`` (H, W) float32 metres (0 where
    invalid), ``depth_valid`` (H, W) bool and ``name`` (the file stem).

    Args:
        images_dir: Folder of the images.
        depth_dir: Folder of ``<stem>.png`` (16-bit) and/or ``<stem>.npy`` depth maps.
        transform: Joint transform, or ``None``.
        prefer: ``"png"`` or ``"npy"``: which file to read when both exist.
        depth_scale: PNG units per metre (1000: millimetres).
        seed: Seed of the per-item augmentation streams.

    Raises:
        InvalidArgumentError: A folder is missing, an image has no depth map, or
            ``prefer`` is unknown.
    """

    def __init__(
        self,
        images_dir: str | Path,
        depth_dir: str | Path,
        transform: Transform | None = None,
        *,
        prefer: str = "png",
        depth_scale: float = 1000.0,
        seed: int = 0,
    ) -> None:
        super().__init__(transform, seed)
        if prefer not in ("png", "npy"):
            raise InvalidArgumentError(f"prefer must be 'png' or 'npy', got {prefer!r}")
        order = (".png", ".npy") if prefer == "png" else (".npy", ".png")
        self.depth_scale = float(depth_scale)
        self.pairs = pair_by_stem(list_images(Path(images_dir)), Path(depth_dir), order)

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int, rng: np.random.Generator | None = None) -> Sample:
        """Reads pair ``index`` untransformed.

        Raises:
            ImageError: Unreadable files, or image and depth sizes differ.
        """
        image_path, depth_path = self.pairs[index]
        image = read_rgb(image_path)
        depth = read_depth(depth_path, self.depth_scale)
        if depth.shape != image.shape[:2]:
            raise ImageError(
                f"{depth_path.name}: depth {depth.shape} and image {image.shape[:2]} differ"
            )
        return {"image": image, "depth": depth, "depth_valid": depth > 0, "name": image_path.stem}
