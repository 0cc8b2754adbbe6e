"""Semantic segmentation from image + PNG label map pairs (ADE20K / Cityscapes style)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from argus_edge._errors import ImageError
from PIL import Image

from ..evaluation.segmentation import IGNORE_INDEX  # the label losses and metrics skip
from ._base import Sample, Transform, TransformedDataset
from ._io import read_rgb
from ._pairs import list_images, pair_by_stem

__all__ = ["SegmentationPNG", "IGNORE_INDEX", "read_label_png"]


def read_label_png(path: str | Path) -> np.ndarray:
    """Reads a single-channel label PNG as (H, W) uint8 (palette PNGs give their indices).

    Raises:
        ImageError: The file is missing, unreadable, or not an 8-bit single-channel image.
    """
    try:
        with Image.open(path) as img:
            if img.mode not in ("L", "P"):
                raise ImageError(
                    f"label map {str(path)!r} has mode {img.mode}, expected L or P (8-bit)"
                )
            return np.array(img, dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot read label map {str(path)!r}: {exc}") from exc


class SegmentationPNG(TransformedDataset):
    """Images paired by file stem with uint8 label PNGs; 255 is the ignore index.

    A sample holds ``image`` (H, W, 3) uint8 RGB, ``semantic`` (H, W) uint8 and
    ``name`` (the file stem).

    Args:
        images_dir: Folder of the images.
        labels_dir: Folder of ``<stem>.png`` label maps.
        transform: Joint transform, or ``None``.
        reduce_zero_label: ADE20K convention: label 0 ("other") becomes 255 and every
            other label is shifted down by one.
        seed: Seed of the per-item augmentation streams.

    Raises:
        InvalidArgumentError: A folder is missing or an image has no label map.
    """

    def __init__(
        self,
        images_dir: str | Path,
        labels_dir: str | Path,
        transform: Transform | None = None,
        *,
        reduce_zero_label: bool = False,
        seed: int = 0,
    ) -> None:
        super().__init__(transform, seed)
        self.reduce_zero_label = reduce_zero_label
        self.pairs = pair_by_stem(list_images(Path(images_dir)), Path(labels_dir), (".png",))

    def __len__(self) -> int:
        return len(self.pairs)

    def load(self, index: int, rng: np.random.Generator | None = None) -> Sample:
        """Reads pair ``index`` untransformed.

        Raises:
            ImageError: Unreadable files, or image and label sizes differ.
        """
        image_path, label_path = self.pairs[index]
        image = read_rgb(image_path)
        label = read_label_png(label_path)
        if label.shape != image.shape[:2]:
            raise ImageError(
                f"{label_path.name}: label {label.shape} and image {image.shape[:2]} differ"
            )
        if self.reduce_zero_label:
            label = np.where(
                label == 0, IGNORE_INDEX, np.where(label == IGNORE_INDEX, IGNORE_INDEX, label - 1)
            )
            label = label.astype(np.uint8)
        return {"image": image, "semantic": label, "name": image_path.stem}
