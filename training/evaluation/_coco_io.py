"""Loading COCO ground truth and result lists into pycocotools objects, quietly."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Union

from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

GroundTruth = Union[COCO, Mapping[str, Any], str, os.PathLike]

_REQUIRED_KEY = {"bbox": "bbox", "segm": "segmentation", "keypoints": "keypoints"}


@contextlib.contextmanager
def maybe_quiet(verbose: bool) -> Iterator[None]:
    """Swallow pycocotools' stdout chatter unless ``verbose``."""
    if verbose:
        yield
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            yield


def load_ground_truth(ground_truth: GroundTruth) -> COCO:
    """A ``COCO`` object from a COCO object (used as is), a dataset dict or a JSON path.

    Dicts are copied, never modified. Fields COCOeval needs but hand-built datasets often
    omit are filled in: annotation ``id`` (1..n), ``iscrowd`` (0), ``area`` (mask area when
    a segmentation is present, else box area) and ``num_keypoints`` (labelled keypoints,
    0 without any, which keypoint evaluation ignores).
    """
    if isinstance(ground_truth, COCO):
        return ground_truth
    if isinstance(ground_truth, (str, os.PathLike)):
        with open(ground_truth) as f:
            ground_truth = json.load(f)
    dataset = dict(ground_truth)
    dataset.setdefault("categories", [])
    coco = COCO()
    coco.dataset = dataset
    dataset["annotations"] = [dict(a) for a in dataset.get("annotations", [])]
    for i, ann in enumerate(dataset["annotations"], start=1):
        ann.setdefault("id", i)
        ann.setdefault("iscrowd", 0)
        if "num_keypoints" not in ann:  # 0 = ignored by keypoint evaluation
            ann["num_keypoints"] = sum(1 for v in ann.get("keypoints", [])[2::3] if v > 0)
    with maybe_quiet(False):
        coco.createIndex()
    for ann in dataset["annotations"]:  # after indexing: annToRLE looks up the image size
        if "area" not in ann:
            if ann.get("segmentation"):
                ann["area"] = float(mask_utils.area(coco.annToRLE(ann)))
            else:
                ann["area"] = float(ann["bbox"][2] * ann["bbox"][3])
    return coco


def load_results(coco_gt: COCO, predictions: Iterable[Mapping[str, Any]], iou_type: str,
                 verbose: bool = False) -> COCO:
    """Results as a ``COCO`` object; an empty list gives an empty one (pycocotools crashes).

    Input dicts are copied. For ``segm`` a ``bbox`` field is dropped so areas come from the
    masks, as detectron2 does (else COCO's small/medium/large use the box area).

    Raises:
        ValueError: on a result missing its ``iou_type`` field or naming an unknown image.
    """
    key = _REQUIRED_KEY[iou_type]
    anns = []
    for pred in predictions:
        ann = dict(pred)
        missing = {"image_id", "category_id", "score", key} - ann.keys()
        if missing:
            raise ValueError(f"{iou_type} result lacks {sorted(missing)}: {sorted(ann)}")
        if iou_type == "segm":
            ann.pop("bbox", None)
        anns.append(ann)
    unknown = {a["image_id"] for a in anns} - set(coco_gt.getImgIds())
    if unknown:
        raise ValueError(f"results name image ids absent from the ground truth: {sorted(unknown)[:10]}")
    if anns:
        with maybe_quiet(verbose):
            return coco_gt.loadRes(anns)
    empty = COCO()
    empty.dataset = {"images": list(coco_gt.dataset["images"]),
                     "categories": list(coco_gt.dataset["categories"]), "annotations": []}
    with maybe_quiet(False):
        empty.createIndex()
    return empty
