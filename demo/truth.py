"""The demo's ground truth: a generated validation scene and one image per class.

The scene is the first of ``NUM_CANDIDATES`` generated validation scenes (a fixed seed)
whose ground truth holds a person and at least ``MIN_OBJECTS`` objects, so that every task
has something to be scored on; the choice never looks at predictions. Generating needs
the ``[train]`` extra (the synthetic dataset's generator).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import DepthMap, Detections, Keypoints, Result, SegMap
from .constants import MIN_OBJECTS, NUM_CANDIDATES

__all__ = ["ClassificationTruth", "SceneTruth", "generate_truth", "truth_result"]


@dataclass(frozen=True)
class SceneTruth:
    """A generated validation scene and its ground truth.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        instances: the COCO instances document of this image (boxes, masks, crowd).
        keypoints: the COCO person-keypoints document of this image.
        semantic: (H, W) uint8: 0 background, category id, 255 ignore.
        depth: (H, W) float32 metres.
        seed: the dataset seed.
        image_id: the scene's id in the validation split.
    """

    image: np.ndarray = field(repr=False)
    instances: dict = field(repr=False)
    keypoints: dict = field(repr=False)
    semantic: np.ndarray = field(repr=False)
    depth: np.ndarray = field(repr=False)
    seed: int = 0
    image_id: int = 1

    @property
    def objects(self) -> int:
        """Annotated objects (crowd regions excluded)."""
        return sum(1 for a in self.instances["annotations"] if not a["iscrowd"])

    @property
    def persons(self) -> int:
        """Persons with at least one labelled keypoint."""
        return sum(1 for a in self.keypoints["annotations"]
                   if not a["iscrowd"] and a.get("num_keypoints", 0) > 0)

    @property
    def category_names(self) -> dict[int, str]:
        """The dataset's category names by id (the id is also the semantic label)."""
        return {int(c["id"]): c["name"] for c in self.instances["categories"]}


@dataclass(frozen=True)
class ClassificationTruth:
    """Generated classification images, one per class.

    Attributes:
        images: (H, W, 3) uint8 RGB images.
        names: the true class of each.
    """

    images: tuple[np.ndarray, ...] = field(repr=False)
    names: tuple[str, ...]


def _read_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im)


def _one_image(document: dict, image_id: int) -> dict:
    return {**document, "images": [i for i in document["images"] if i["id"] == image_id],
            "annotations": [a for a in document["annotations"] if a["image_id"] == image_id]}


def _pick_scene(instances: dict) -> int:
    """The first scene with a (non-crowd) person and >= MIN_OBJECTS objects, else the first."""
    person = {c["id"] for c in instances["categories"] if c["name"] == "person"}
    for image in instances["images"]:
        anns = [a for a in instances["annotations"]
                if a["image_id"] == image["id"] and not a["iscrowd"]]
        if len(anns) >= MIN_OBJECTS and any(a["category_id"] in person for a in anns):
            return int(image["id"])
    return int(instances["images"][0]["id"])


def generate_truth(root: Path, seed: int) -> tuple[SceneTruth, ClassificationTruth]:
    """Generates the validation scenes and the class images and reads back what is scored.

    Args:
        root: an empty folder for the generated dataset.
        seed: the dataset seed.

    Returns:
        The scored scene (see the module docstring) and the classification images.

    Raises:
        ModuleNotFoundError: torch (the generator's package) is not installed.
    """
    from ..training.data import SYNTHETIC_CLASSES, generate_synthetic_dataset

    generate_synthetic_dataset(root, num_train=0, num_val=NUM_CANDIDATES, seed=seed,
                               num_cls_train=0, num_cls_val=len(SYNTHETIC_CLASSES))
    docs = [json.loads((root / "annotations" / f"{kind}_val.json").read_text())
            for kind in ("instances", "person_keypoints")]
    image_id = _pick_scene(docs[0])
    name = f"{image_id:06d}.png"
    scene = SceneTruth(
        image=_read_png(root / "images" / "val" / name),
        instances=_one_image(docs[0], image_id), keypoints=_one_image(docs[1], image_id),
        semantic=_read_png(root / "semantic" / "val" / name),
        depth=_read_png(root / "depth" / "val" / name).astype(np.float32) / 1000.0,
        seed=seed, image_id=image_id)
    files = sorted((root / "classification" / "val").glob("*/*.png"), key=lambda p: p.name)
    classes = ClassificationTruth(tuple(_read_png(p) for p in files),
                                  tuple(p.parent.name for p in files))
    return scene, classes


def _xyxy(xywh: np.ndarray) -> np.ndarray:
    return np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1)


def _truth_detections(truth: SceneTruth) -> Detections:
    """Boxes and masks; labels index the categories in id order."""
    from ..training.evaluation import load_ground_truth

    names = truth.category_names
    ids = sorted(names)
    coco = load_ground_truth(truth.instances)
    anns = [a for a in truth.instances["annotations"] if not a["iscrowd"]]
    h, w = truth.semantic.shape
    xywh = np.array([a["bbox"] for a in anns], np.float32).reshape(-1, 4)
    return Detections(_xyxy(xywh), np.ones(len(anns)),
                      [ids.index(a["category_id"]) for a in anns],
                      tuple(names[i] for i in ids),
                      np.array([coco.annToMask(a) for a in anns], bool).reshape(-1, h, w))


def _truth_keypoints(truth: SceneTruth) -> Keypoints:
    persons = [a for a in truth.keypoints["annotations"] if not a["iscrowd"]]
    category = (truth.keypoints["categories"] or [{}])[0]
    kp = np.array([a["keypoints"] for a in persons], np.float32).reshape(
        len(persons), len(category.get("keypoints", ())) or 17, 3)
    kp[..., 2] = kp[..., 2] > 0
    pxywh = np.array([a["bbox"] for a in persons], np.float32).reshape(-1, 4)
    return Keypoints(kp, _xyxy(pxywh), np.ones(len(persons)),
                     tuple(category.get("keypoints", ())),
                     tuple((a - 1, b - 1) for a, b in category.get("skeleton", ())))


def truth_result(truth: SceneTruth) -> Result:
    """The ground truth as a :class:`~argus_edge.Result` (scores 1), to draw it like a
    prediction.

    Detection labels index the categories in id order; semantic labels are the dataset's
    (0 background, category id), ignore pixels shown as background.

    Args:
        truth: the scene.

    Returns:
        A result with ``det``, ``inst`` (the same detections, with masks), ``sem``,
        ``depth`` and ``pose``.
    """
    names = truth.category_names
    det = _truth_detections(truth)
    sem_names = ("background",) + tuple(names.get(i, str(i)) for i in range(1, max(names) + 1))
    sem = SegMap(np.where(truth.semantic == 255, 0, truth.semantic), sem_names)
    return Result(truth.image, {"det": det, "inst": det, "sem": sem,
                                "depth": DepthMap(truth.depth), "pose": _truth_keypoints(truth)})
