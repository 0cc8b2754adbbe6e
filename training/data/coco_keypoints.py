"""Top-down COCO keypoints: one affine person crop per annotated instance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ._base import Sample, Transform, TransformedDataset
from ._coco_meta import COCO_FLIP_INDEX, COCO_FLIP_PAIRS
from ._coco_read import load_coco
from ._io import read_rgb
from .affine import affine_points, box_to_center_scale, get_affine_transform, invert_affine

__all__ = ["CocoKeypoints", "TopDownAugment"]


@dataclass(frozen=True)
class TopDownAugment:
    """Random jitter of the crop box (ViTPose / mmpose top-down recipe).

    Attributes:
        scale_range: Multiplier range of the crop scale.
        rotation: Maximum rotation in degrees (uniform in ``[-rotation, rotation]``).
        rotation_prob: Probability of rotating at all.
        shift: Maximum centre shift as a fraction of the crop scale.
        shift_prob: Probability of shifting.
    """

    scale_range: tuple[float, float] = (0.75, 1.25)
    rotation: float = 40.0
    rotation_prob: float = 0.6
    shift: float = 0.16
    shift_prob: float = 0.3

    def __call__(self, center, scale, rng: np.random.Generator):
        """Returns jittered ``(center, scale, rotation_degrees)``."""
        if rng.random() < self.shift_prob:
            center = center + rng.uniform(-self.shift, self.shift, 2) * scale
        scale = scale * rng.uniform(*self.scale_range)
        rot = (
            rng.uniform(-self.rotation, self.rotation) if rng.random() < self.rotation_prob else 0.0
        )
        return center, scale, float(rot)


class CocoKeypoints(TransformedDataset):
    """Top-down pose samples: the affine crop of every person with a labelled keypoint.

    The person box is grown to the input aspect ratio, padded by ``padding`` and warped
    to ``input_size`` with the UDP transform of :func:`get_affine_transform`; the inverse
    is kept so predictions map back to the image. Heatmap targets are the pose head's
    business and are not built here.

    A sample holds:

    - ``image``: (h, w, 3) uint8 crop (256x192 by default).
    - ``keypoints``: (K, 3) float32 ``x, y, v`` in crop pixel-centre coordinates
      (``v`` as in COCO: 0 unlabelled, 1 occluded, 2 visible).
    - ``keypoint_weights``: (K,) float32, 1 where labelled and inside the crop.
    - ``affine`` / ``inverse_affine``: (2, 3) float64 image -> crop and crop -> image.
    - ``center``, ``scale``: (2,) float64 crop centre and size in image pixels;
      ``rotation``: float degrees.
    - ``bbox``: (4,) float32 COCO ``x, y, w, h``; ``area``: float;
      ``image_id``, ``ann_id``: int.

    Args:
        annotations: ``person_keypoints_*.json`` path or its parsed content.
        images_dir: Folder of the images.
        transform: Joint transform applied to the crop sample (flip, photometric,
            normalise), or ``None``.
        input_size: Crop (width, height).
        padding: Box padding factor.
        augment: Box jitter applied before cropping, or ``None`` for evaluation.
        min_keypoints: Skip instances with fewer labelled keypoints.
        seed: Seed of the per-item augmentation streams.
    """

    #: Left/right keypoint pairs (0-based) that a horizontal flip swaps.
    flip_pairs: tuple[tuple[int, int], ...] = COCO_FLIP_PAIRS
    #: The same as a permutation: ``keypoints[flip_index]`` swaps sides.
    flip_index: tuple[int, ...] = COCO_FLIP_INDEX

    def __init__(
        self,
        annotations: str | Path | dict,
        images_dir: str | Path,
        transform: Transform | None = None,
        *,
        input_size: tuple[int, int] = (192, 256),
        padding: float = 1.25,
        augment: TopDownAugment | None = None,
        min_keypoints: int = 1,
        seed: int = 0,
    ) -> None:
        super().__init__(transform, seed)
        index = load_coco(annotations)
        self.images_dir = Path(images_dir)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.padding = float(padding)
        self.augment = augment
        files = {int(im["id"]): im["file_name"] for im in index.images}
        self._items: list[tuple[str, dict]] = []
        for image_id in sorted(index.annotations):
            for ann in index.annotations[image_id]:
                kps = np.asarray(ann.get("keypoints") or [], np.float32).reshape(-1, 3)
                labelled = int((kps[:, 2] > 0).sum()) if len(kps) else 0
                if (
                    ann.get("iscrowd", 0)
                    or labelled < max(min_keypoints, 1)
                    or image_id not in files
                ):
                    continue
                if ann["bbox"][2] <= 0 or ann["bbox"][3] <= 0:
                    continue
                self._items.append((files[image_id], ann))
        cats = [c for c in index.categories if c.get("keypoints")]
        #: Keypoint names from the file's category (COCO's 17 for COCO data).
        self.keypoint_names: tuple[str, ...] = tuple(cats[0]["keypoints"]) if cats else ()

    def __len__(self) -> int:
        return len(self._items)

    def load(self, index: int, rng: np.random.Generator | None = None) -> Sample:
        """Reads instance ``index`` and crops it (``rng`` drives the box jitter)."""
        file_name, ann = self._items[index]
        image = read_rgb(self.images_dir / file_name)
        w, h = self.input_size
        center, scale = box_to_center_scale(ann["bbox"], w / h, self.padding)
        rot = 0.0
        if self.augment is not None:
            center, scale, rot = self.augment(center, scale, rng or self.rng(index))
        matrix = get_affine_transform(center, scale, rot, (w, h))
        crop = cv2.warpAffine(
            image,
            matrix,
            (w, h),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
        kps = np.asarray(ann["keypoints"], np.float32).reshape(-1, 3).copy()
        kps[:, :2] = affine_points(kps[:, :2], matrix)
        inside = (
            (kps[:, 0] >= -0.5)
            & (kps[:, 0] < w - 0.5)
            & (kps[:, 1] >= -0.5)
            & (kps[:, 1] < h - 0.5)
        )
        return {
            "image": crop,
            "keypoints": kps,
            "keypoint_weights": ((kps[:, 2] > 0) & inside).astype(np.float32),
            "affine": matrix,
            "inverse_affine": invert_affine(matrix),
            "center": center.astype(np.float64),
            "scale": scale.astype(np.float64),
            "rotation": rot,
            "bbox": np.asarray(ann["bbox"], np.float32),
            "area": float(ann.get("area", ann["bbox"][2] * ann["bbox"][3])),
            "image_id": int(ann["image_id"]),
            "ann_id": int(ann["id"]),
        }
