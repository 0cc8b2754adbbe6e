"""Synthetic multitask dataset, written to disk in the formats the real datasets use.

Scenes of textured shapes and articulated stick figures on varied backgrounds, with COCO
instances and keypoints JSON, ADE20K-style label PNGs, depth maps and an ImageFolder
classification split. Deterministic: the same seed and options give byte-identical
files, whatever the number of worker processes (each image has its own random stream).

Command line::

    python -m argus_edge.training.data.synthetic --out data/synthetic --num-train 200 --num-val 50
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from argus_edge._errors import InvalidArgumentError

from ._classification import render_classification_image
from ._coco_meta import COCO_KEYPOINT_NAMES, COCO_SKELETON
from ._coco_write import encode_segmentation, mask_bbox, mask_to_rle, write_json
from ._io import write_png
from ._manifest import SyntheticManifest
from ._scene import CLASS_NAMES, render_scene

__all__ = ["SYNTHETIC_CLASSES", "SyntheticOptions", "generate_synthetic_dataset", "main"]

#: Category names of the synthetic set; category id = semantic label = index + 1.
SYNTHETIC_CLASSES: tuple[str, ...] = CLASS_NAMES

_SPLIT_CODES = {"train": 0, "val": 1}
_MAX_DEPTH_MM = 65535


@dataclass(frozen=True)
class SyntheticOptions:
    """Scene content options (they change the data, so they belong to the seed).

    Attributes:
        max_shapes: Each scene has 1..max_shapes shapes.
        max_persons: Each scene has 0..max_persons stick figures.
        crowd_every: Every n-th scene (1-based id % n == 2) has a crowd region; 0: none.
        rle_every: About one annotation in n is written as RLE even if polygons would do.
        depth_npy_every: Scenes whose id % n == 0 also get a ``.npy`` depth; 0: none.
        ignore_boundaries: Mark a one-pixel band along label changes as 255.
    """

    max_shapes: int = 6
    max_persons: int = 2
    crowd_every: int = 8
    rle_every: int = 5
    depth_npy_every: int = 10
    ignore_boundaries: bool = True


def _annotation_records(scene, image_id: int, options: SyntheticOptions) -> list[dict]:
    records = []
    for index, obj in enumerate(scene.objects):
        prefer_rle = options.rle_every > 0 and (image_id * 7 + index) % options.rle_every == 0
        segm = (
            mask_to_rle(obj.visible_mask)
            if obj.is_crowd
            else encode_segmentation(obj.visible_mask, prefer_rle)
        )
        record = {
            "category_id": obj.category_id,
            "bbox": mask_bbox(obj.visible_mask),
            "area": float(obj.visible_mask.sum()),
            "segmentation": segm,
            "iscrowd": int(obj.is_crowd),
            "draw_order": obj.draw_order,
            "depth": round(obj.depth, 4),
        }
        if obj.keypoints is not None:
            kps = np.round(obj.keypoints.astype(np.float64), 2)
            record["keypoints"] = [
                float(v) if i % 3 < 2 else int(v) for i, v in enumerate(kps.reshape(-1))
            ]
            record["num_keypoints"] = int((obj.keypoints[:, 2] > 0).sum())
        records.append(record)
    return records


def _render_scene_files(
    root: Path,
    split: str,
    image_id: int,
    seed: int,
    size: tuple[int, int],
    options: SyntheticOptions,
) -> list[dict]:
    rng = np.random.default_rng([seed, _SPLIT_CODES[split], 0, image_id])
    crowd = options.crowd_every > 0 and image_id % options.crowd_every == 2
    scene = render_scene(
        rng,
        *size,
        max_shapes=options.max_shapes,
        max_persons=options.max_persons,
        crowd=crowd,
        ignore_boundaries=options.ignore_boundaries,
    )
    name = f"{image_id:06d}"
    write_png(root / "images" / split / f"{name}.png", scene.image)
    write_png(root / "semantic" / split / f"{name}.png", scene.semantic)
    depth_mm = np.clip(np.round(scene.depth * 1000.0), 1, _MAX_DEPTH_MM).astype(np.uint16)
    write_png(root / "depth" / split / f"{name}.png", depth_mm)
    if options.depth_npy_every > 0 and image_id % options.depth_npy_every == 0:
        np.save(root / "depth" / split / f"{name}.npy", scene.depth.astype(np.float32))
    return _annotation_records(scene, image_id, options)


def _render_classification_file(
    root: Path, split: str, image_id: int, seed: int, size: tuple[int, int]
) -> None:
    rng = np.random.default_rng([seed, _SPLIT_CODES[split], 1, image_id])
    category_id = (image_id - 1) % len(CLASS_NAMES) + 1
    image = render_classification_image(rng, category_id, *size)
    write_png(
        root / "classification" / split / CLASS_NAMES[category_id - 1] / f"{image_id:06d}.png",
        image,
    )


def _coco_documents(split_records: list[list[dict]], size: tuple[int, int]) -> tuple[dict, dict]:
    height, width = size
    images, instances, persons = [], [], []
    for image_id, records in enumerate(split_records, start=1):
        images.append(
            {"id": image_id, "file_name": f"{image_id:06d}.png", "height": height, "width": width}
        )
        for record in records:
            ann = {"id": len(instances) + 1, "image_id": image_id, **record}
            keypoints = {k: ann.pop(k) for k in ("keypoints", "num_keypoints") if k in ann}
            instances.append(ann)
            if keypoints:
                persons.append({**ann, **keypoints})
    categories = [
        {"id": i + 1, "name": name, "supercategory": "person" if name == "person" else "shape"}
        for i, name in enumerate(CLASS_NAMES)
    ]
    person_category = {
        **categories[0],
        "keypoints": list(COCO_KEYPOINT_NAMES),
        "skeleton": [list(link) for link in COCO_SKELETON],
    }
    info = {"description": "argus-edge synthetic dataset", "version": "1"}
    return (
        {"info": info, "images": images, "annotations": instances, "categories": categories},
        {"info": info, "images": images, "annotations": persons, "categories": [person_category]},
    )


def _run(pool: ProcessPoolExecutor | None, fn, jobs: list[tuple]) -> list:
    if pool is None:
        return [fn(*job) for job in jobs]
    return list(pool.map(fn, *zip(*jobs, strict=True), chunksize=8)) if jobs else []


def _write_split(
    pool,
    root: Path,
    split: str,
    num: int,
    num_cls: int,
    seed: int,
    size: tuple[int, int],
    cls_size: tuple[int, int],
    options: SyntheticOptions,
) -> dict:
    jobs = [(root, split, i, seed, size, options) for i in range(1, num + 1)]
    records = _run(pool, _render_scene_files, jobs)
    _run(
        pool,
        _render_classification_file,
        [(root, split, i, seed, cls_size) for i in range(1, num_cls + 1)],
    )
    instances, keypoints = _coco_documents(records, size)
    write_json(root / "annotations" / f"instances_{split}.json", instances)
    write_json(root / "annotations" / f"person_keypoints_{split}.json", keypoints)
    anns = instances["annotations"]
    return {
        "images": num,
        "instances": sum(1 for a in anns if not a["iscrowd"]),
        "crowd": sum(1 for a in anns if a["iscrowd"]),
        "persons": len(keypoints["annotations"]),
        "classification": num_cls,
    }


def generate_synthetic_dataset(
    root: str | Path,
    *,
    num_train: int = 200,
    num_val: int = 50,
    image_size: tuple[int, int] = (256, 256),
    seed: int = 0,
    num_cls_train: int | None = None,
    num_cls_val: int | None = None,
    classification_image_size: tuple[int, int] | None = None,
    options: SyntheticOptions | None = None,
    num_workers: int = 0,
) -> SyntheticManifest:
    """Generates the synthetic dataset under ``root`` (see the module docstring for the layout).

    Args:
        root: Output folder (created; existing files with the same names are overwritten).
        num_train: Number of training scenes.
        num_val: Number of validation scenes.
        image_size: (height, width) of the scenes.
        seed: Seed of every random choice.
        num_cls_train: Training classification images (default ``num_train``), classes
            taken in turn so they are balanced.
        num_cls_val: Validation classification images (default ``num_val``).
        classification_image_size: (height, width) of the classification images
            (default ``image_size``).
        options: Scene content options.
        num_workers: Worker processes (0 renders in this process). Does not change the output.

    Returns:
        The manifest, also written to ``root/manifest.json``.

    Raises:
        InvalidArgumentError: A count is negative or a size below 32 pixels.
    """
    height, width = (int(v) for v in image_size)
    cls_size = tuple(int(v) for v in (classification_image_size or image_size))
    if min(height, width, *cls_size) < 32 or min(num_train, num_val) < 0:
        raise InvalidArgumentError(
            f"image sizes must be >= 32 and counts >= 0, got {image_size}, {num_train}, {num_val}"
        )
    options = options or SyntheticOptions()
    root = Path(root)
    splits = (
        ("train", num_train, num_train if num_cls_train is None else num_cls_train),
        ("val", num_val, num_val if num_cls_val is None else num_cls_val),
    )
    pool = ProcessPoolExecutor(num_workers) if num_workers > 1 else None
    try:
        counts = {
            split: _write_split(
                pool, root, split, num, num_cls, seed, (height, width), cls_size, options
            )
            for split, num, num_cls in splits
        }
    finally:
        if pool is not None:
            pool.shutdown()
    labels = {str(i + 1): name for i, name in enumerate(CLASS_NAMES)}
    write_json(root / "semantic" / "classes.json", {"0": "background", **labels, "255": "ignore"})
    manifest = SyntheticManifest(
        root,
        seed,
        (height, width),
        cls_size,
        CLASS_NAMES,
        COCO_KEYPOINT_NAMES,
        COCO_SKELETON,
        counts,
        options=asdict(options),
    )
    write_json(root / "manifest.json", manifest.to_json())
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--num-train", type=int, default=200)
    parser.add_argument("--num-val", type=int, default=50)
    parser.add_argument("--size", type=int, nargs=2, default=(256, 256), metavar=("H", "W"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workers", type=int, default=0, help="worker processes (output unchanged)"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    manifest = generate_synthetic_dataset(
        args.out,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=tuple(args.size),
        seed=args.seed,
        num_workers=args.workers,
    )
    print(f"wrote {args.out} in {time.perf_counter() - start:.1f} s: {manifest.counts}")
    return 0
