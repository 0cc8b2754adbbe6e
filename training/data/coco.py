"""COCO detection and instance segmentation (``instances_*.json``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from argus_edge._errors import ImageError

from ._base import Sample, Transform, TransformedDataset
from ._coco_read import decode_segmentation, load_coco
from ._io import read_rgb

__all__ = ["CocoDetection"]


class CocoDetection(TransformedDataset):
    """Images with boxes, labels, instance masks and crowd flags from a COCO JSON file.

    A sample (before any transform) holds:

    - ``image``: (H, W, 3) uint8 RGB.
    - ``boxes``: (N, 4) float32 ``x1, y1, x2, y2`` in pixels (pixel-edge coordinates).
    - ``labels``: (N,) int64 contiguous 0-based labels (see :attr:`cat_id_to_label`).
    - ``masks``: (N, H, W) uint8 0/1, decoded from polygons or RLE (if ``with_masks``).
    - ``iscrowd``: (N,) bool. Crowd regions stay in the arrays, flagged, so losses can
      ignore them and matching can treat them as "don't care".
    - ``keypoints``: (N, K, 3) float32 ``x, y, v`` when the file has keypoints.
    - ``image_id``: int; ``orig_size``: (2,) int64 (H, W).

    Images without annotations give N = 0 arrays of the right shapes.

    Args:
        annotations: Path of the COCO JSON file, or its parsed content.
        images_dir: Folder holding the ``file_name`` of every image.
        transform: Joint image/target transform (``(sample, rng) -> sample``), or ``None``.
        with_masks: Decode instance masks.
        seed: Seed of the per-item augmentation streams.
    """

    def __init__(
        self,
        annotations: str | Path | dict,
        images_dir: str | Path,
        transform: Transform | None = None,
        *,
        with_masks: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(transform, seed)
        index = load_coco(annotations)
        self.images_dir = Path(images_dir)
        self.with_masks = with_masks
        self._images = index.images
        self._annotations = index.annotations
        #: COCO category ids, sorted; label ``i`` is ``cat_ids[i]``.
        self.cat_ids: tuple[int, ...] = tuple(int(c["id"]) for c in index.categories)
        #: Category names in label order.
        self.class_names: tuple[str, ...] = tuple(str(c["name"]) for c in index.categories)
        self.cat_id_to_label: dict[int, int] = {c: i for i, c in enumerate(self.cat_ids)}
        self.label_to_cat_id: dict[int, int] = dict(enumerate(self.cat_ids))
        self.image_ids: tuple[int, ...] = tuple(int(im["id"]) for im in self._images)
        kp_names = [c.get("keypoints") for c in index.categories if c.get("keypoints")]
        self.num_keypoints = len(kp_names[0]) if kp_names else 0

    def __len__(self) -> int:
        return len(self._images)

    def _valid_annotations(self, image_id: int) -> list[dict]:
        anns = []
        for ann in self._annotations.get(image_id, []):
            w, h = ann["bbox"][2], ann["bbox"][3]
            if w > 0 and h > 0 and int(ann["category_id"]) in self.cat_id_to_label:
                anns.append(ann)
        return anns

    def load(self, index: int, rng: np.random.Generator | None = None) -> Sample:
        """Reads image ``index`` (in image-id order) and its annotations, untransformed.

        Raises:
            ImageError: The image is missing, unreadable, or its size differs from the JSON.
        """
        info = self._images[index]
        image = read_rgb(self.images_dir / info["file_name"])
        height, width = image.shape[:2]
        if (int(info.get("height", height)), int(info.get("width", width))) != (height, width):
            raise ImageError(
                f"{info['file_name']}: file is {height}x{width}, the JSON says "
                f"{info.get('height')}x{info.get('width')}"
            )
        anns = self._valid_annotations(int(info["id"]))
        boxes = np.array([a["bbox"] for a in anns], np.float32).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        sample: Sample = {
            "image": image,
            "boxes": boxes,
            "labels": np.array(
                [self.cat_id_to_label[int(a["category_id"])] for a in anns], np.int64
            ),
            "iscrowd": np.array([bool(a.get("iscrowd", 0)) for a in anns], bool),
            "image_id": int(info["id"]),
            "orig_size": np.array([height, width], np.int64),
        }
        if self.with_masks:
            masks = [
                decode_segmentation(a.get("segmentation"), height, width, a["bbox"]) for a in anns
            ]
            sample["masks"] = np.stack(masks) if masks else np.zeros((0, height, width), np.uint8)
        if self.num_keypoints:
            kps = np.zeros((len(anns), self.num_keypoints, 3), np.float32)
            for i, a in enumerate(anns):
                if a.get("keypoints"):
                    kps[i] = np.asarray(a["keypoints"], np.float32).reshape(-1, 3)
            sample["keypoints"] = kps
        return sample
