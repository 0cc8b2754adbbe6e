"""Reading COCO annotation files: a light index and segmentation decoding."""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from argus_edge._errors import InvalidArgumentError
from pycocotools import mask as mask_utils

__all__ = ["CocoIndex", "load_coco", "decode_segmentation", "decode_rle"]

# pycocotools' decode trips a numpy-2 DeprecationWarning on every call; it is harmless.
_PYCOCOTOOLS_NUMPY2 = "__array__ implementation doesn't accept a copy keyword"


def decode_rle(rle) -> np.ndarray:
    """pycocotools' ``decode`` as a contiguous (H, W) uint8 mask, quietly."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PYCOCOTOOLS_NUMPY2, category=DeprecationWarning)
        return np.ascontiguousarray(mask_utils.decode(rle), dtype=np.uint8)


@dataclass(frozen=True)
class CocoIndex:
    """A parsed COCO annotation file.

    Attributes:
        images: Image records sorted by id.
        annotations: Annotation records per image id (in file order).
        categories: Category records sorted by id.
    """

    images: tuple[dict, ...]
    annotations: dict[int, list[dict]]
    categories: tuple[dict, ...]


def load_coco(source: str | Path | dict) -> CocoIndex:
    """Parses a COCO JSON file or an already loaded COCO dict.

    Args:
        source: Path of the JSON file, or its parsed content.

    Returns:
        The index.

    Raises:
        InvalidArgumentError: The file is missing, not JSON, or lacks ``images``.
    """
    if isinstance(source, dict):
        data = source
    else:
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidArgumentError(
                f"cannot read COCO annotations {str(source)!r}: {exc}"
            ) from exc
    if not isinstance(data, dict) or "images" not in data:
        raise InvalidArgumentError("COCO annotations must be a dict with an 'images' list")
    by_image: dict[int, list[dict]] = defaultdict(list)
    for ann in data.get("annotations", []):
        by_image[int(ann["image_id"])].append(ann)
    images = tuple(sorted(data["images"], key=lambda im: int(im["id"])))
    categories = tuple(sorted(data.get("categories", []), key=lambda c: int(c["id"])))
    return CocoIndex(images, dict(by_image), categories)


def decode_segmentation(segmentation, height: int, width: int, bbox=None) -> np.ndarray:
    """Decodes a COCO ``segmentation`` (polygons, uncompressed or compressed RLE).

    Args:
        segmentation: A list of polygons, or an RLE dict whose ``counts`` is a list
            (uncompressed) or a str/bytes (compressed).
        height: Image height.
        width: Image width.
        bbox: ``[x, y, w, h]`` to fill when the segmentation is empty (box-only data).

    Returns:
        (H, W) uint8 mask of 0/1.

    Raises:
        InvalidArgumentError: The RLE size does not match the image size.
    """
    if isinstance(segmentation, dict):
        size = [int(v) for v in segmentation.get("size", (height, width))]
        if size != [height, width]:
            raise InvalidArgumentError(
                f"RLE size {size} does not match the image size {[height, width]}"
            )
        if isinstance(segmentation["counts"], list):
            rle = mask_utils.frPyObjects(segmentation, height, width)
        else:
            counts = segmentation["counts"]
            rle = {
                "size": size,
                "counts": counts.encode("ascii") if isinstance(counts, str) else counts,
            }
        return decode_rle(rle)
    polygons = [p for p in (segmentation or []) if len(p) >= 6]
    if not polygons:
        mask = np.zeros((height, width), np.uint8)
        if bbox is not None:
            x, y, w, h = bbox
            x0, y0 = int(np.floor(x)), int(np.floor(y))
            mask[max(y0, 0) : int(np.ceil(y + h)), max(x0, 0) : int(np.ceil(x + w))] = 1
        return mask
    rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    return decode_rle(rle)
