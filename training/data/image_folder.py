"""Classification from an ImageFolder tree: ``root/<class_name>/<image>``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from argus_edge._errors import InvalidArgumentError

from ._base import Sample, Transform, TransformedDataset
from ._io import IMAGE_EXTENSIONS, read_rgb

__all__ = ["ImageFolder"]


class ImageFolder(TransformedDataset):
    """Images labelled by their class folder; class folders sorted by name get ids 0..C-1.

    A sample holds ``image`` (H, W, 3) uint8 RGB, ``label`` (int) and ``path`` (str).
    Files are found recursively below each class folder and sorted.

    Args:
        root: Folder with one sub-folder per class.
        transform: Image transform, or ``None``.
        extensions: Lower-case file extensions counted as images.
        seed: Seed of the per-item augmentation streams.

    Raises:
        InvalidArgumentError: ``root`` is missing or holds no class folder with images.
    """

    def __init__(
        self,
        root: str | Path,
        transform: Transform | None = None,
        *,
        extensions: tuple[str, ...] = IMAGE_EXTENSIONS,
        seed: int = 0,
    ) -> None:
        super().__init__(transform, seed)
        self.root = Path(root)
        if not self.root.is_dir():
            raise InvalidArgumentError(f"ImageFolder root {str(self.root)!r} does not exist")
        #: Class names in label order.
        self.classes: list[str] = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        self.class_to_idx: dict[str, int] = {c: i for i, c in enumerate(self.classes)}
        #: (path, label) pairs in class, then file-name order.
        self.samples: list[tuple[Path, int]] = []
        for name in self.classes:
            for dirpath, dirnames, filenames in os.walk(self.root / name):
                dirnames.sort()
                for f in sorted(filenames):
                    if Path(f).suffix.lower() in extensions:
                        self.samples.append((Path(dirpath) / f, self.class_to_idx[name]))
        if not self.samples:
            raise InvalidArgumentError(f"no images found in class folders of {str(self.root)!r}")
        self.targets: list[int] = [label for _, label in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int, rng: np.random.Generator | None = None) -> Sample:
        """Reads sample ``index`` untransformed."""
        path, label = self.samples[index]
        return {"image": read_rgb(path), "label": label, "path": str(path)}
