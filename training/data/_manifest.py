"""The manifest of a synthetic dataset: what was generated, where, and in which formats."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from argus_edge._errors import InvalidArgumentError

__all__ = ["SyntheticManifest", "FORMAT_VERSION"]

FORMAT_VERSION = 1

#: File formats of the synthetic layout, recorded in ``manifest.json``.
FORMATS: dict[str, str] = {
    "images": "images/{split}/{id:06d}.png, RGB 8-bit",
    "instances": "annotations/instances_{split}.json, COCO detection (polygons, RLE, iscrowd)",
    "keypoints": "annotations/person_keypoints_{split}.json, COCO keypoints (17, skeleton 1-based)",
    "semantic": "semantic/{split}/{id:06d}.png, uint8: 0 background, category id, 255 ignore",
    "depth": "depth/{split}/{id:06d}.png, uint16 mm (0 invalid); some also .npy float32 metres",
    "classification": "classification/{split}/{class_name}/{id:06d}.png, ImageFolder",
}


@dataclass(frozen=True)
class SyntheticManifest:
    """Describes a generated synthetic dataset (the content of ``manifest.json``).

    Attributes:
        root: Dataset root folder.
        seed: Seed it was generated from.
        image_size: (height, width) of the scene images.
        classification_image_size: (height, width) of the classification images.
        class_names: Category names; category id and semantic label = index + 1.
        keypoint_names: The 17 COCO keypoint names.
        skeleton: COCO skeleton links, 1-based.
        counts: Per split: ``images``, ``instances``, ``crowd``, ``persons``,
            ``classification`` counts.
        format_version: Version of the on-disk layout.
        options: The scene options used (``SyntheticOptions`` as a dict).
    """

    root: Path
    seed: int
    image_size: tuple[int, int]
    classification_image_size: tuple[int, int]
    class_names: tuple[str, ...]
    keypoint_names: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    options: dict = field(default_factory=dict)

    def images_dir(self, split: str) -> Path:
        """Folder of the scene images of ``split``."""
        return self.root / "images" / split

    def instances_json(self, split: str) -> Path:
        """COCO detection / instance segmentation JSON of ``split``."""
        return self.root / "annotations" / f"instances_{split}.json"

    def keypoints_json(self, split: str) -> Path:
        """COCO person keypoints JSON of ``split``."""
        return self.root / "annotations" / f"person_keypoints_{split}.json"

    def semantic_dir(self, split: str) -> Path:
        """Folder of the uint8 semantic label PNGs of ``split``."""
        return self.root / "semantic" / split

    def depth_dir(self, split: str) -> Path:
        """Folder of the depth maps (16-bit PNG in mm, some ``.npy``) of ``split``."""
        return self.root / "depth" / split

    def classification_dir(self, split: str) -> Path:
        """ImageFolder root of the classification images of ``split``."""
        return self.root / "classification" / split

    def to_json(self) -> dict:
        """The JSON-ready content of ``manifest.json`` (``root`` is not stored)."""
        return {
            "format_version": self.format_version,
            "generator": "argus_edge.training.data.synthetic",
            "seed": self.seed,
            "image_size": list(self.image_size),
            "classification_image_size": list(self.classification_image_size),
            "class_names": list(self.class_names),
            "keypoint_names": list(self.keypoint_names),
            "skeleton": [list(link) for link in self.skeleton],
            "counts": self.counts,
            "options": self.options,
            "formats": FORMATS,
        }

    @classmethod
    def load(cls, root: str | Path) -> SyntheticManifest:
        """Reads ``root/manifest.json``.

        Raises:
            InvalidArgumentError: The manifest is missing or not a synthetic manifest.
        """
        path = Path(root) / "manifest.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                root=Path(root),
                seed=int(data["seed"]),
                image_size=tuple(data["image_size"]),
                classification_image_size=tuple(data["classification_image_size"]),
                class_names=tuple(data["class_names"]),
                keypoint_names=tuple(data["keypoint_names"]),
                skeleton=tuple(tuple(link) for link in data["skeleton"]),
                counts=data["counts"],
                format_version=int(data["format_version"]),
                options=dict(data.get("options", {})),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidArgumentError(f"not a synthetic dataset manifest: {path} ({exc})") from exc
