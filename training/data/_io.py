"""Reading and writing image files (PNG/JPEG) with cv2, in RGB order."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from argus_edge._errors import ImageError

__all__ = ["IMAGE_EXTENSIONS", "read_rgb", "read_unchanged", "write_png"]

#: File extensions treated as images by the folder-based loaders (lower case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")

# Fixed zlib level: PNG bytes depend only on the pixels, so same seed -> same files.
_PNG_FLAGS = [cv2.IMWRITE_PNG_COMPRESSION, 3]


def read_unchanged(path: str | Path) -> np.ndarray:
    """Reads an image file as stored (bit depth and channels kept, BGR for colour).

    Raises:
        ImageError: The file is missing or not a readable image.
    """
    data = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else None
    image = None if data is None else cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageError(f"cannot read image {str(path)!r}: missing or not an image file")
    return image


def read_rgb(path: str | Path) -> np.ndarray:
    """Reads an image as (H, W, 3) uint8 RGB (grey is replicated, alpha dropped).

    Raises:
        ImageError: The file is missing or not a readable image.
    """
    image = read_unchanged(path)
    if image.dtype == np.uint16:
        image = (image // 257).astype(np.uint8)
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[..., None], 3, axis=2))
    if image.shape[2] == 4:
        image = image[..., :3]
    return np.ascontiguousarray(image[..., ::-1])


def write_png(path: str | Path, array: np.ndarray) -> None:
    """Writes (H, W) uint8/uint16 or (H, W, 3) uint8 RGB as PNG, creating folders.

    Raises:
        ImageError: The array has an unsupported dtype or shape, or writing failed.
    """
    if array.dtype not in (np.uint8, np.uint16) or array.ndim not in (2, 3):
        raise ImageError(f"cannot write {array.dtype} array of shape {array.shape} as PNG")
    pixels = array[..., ::-1] if array.ndim == 3 else array
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(pixels), _PNG_FLAGS)
    if not ok:
        raise ImageError(f"PNG encoding failed for {str(path)!r}")
    path.write_bytes(encoded.tobytes())
