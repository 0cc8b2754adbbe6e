"""Synthetic multitask dataset generator: the public module and its command line.

The generator itself lives in ``_generate`` (so that ``python -m`` can run this module
without it having been imported by the package first). Usage::

    python -m argus_edge.training.data.synthetic --out data/synthetic --num-train 200 --num-val 50

writes, under ``--out``::

    images/{train,val}/{id:06d}.png                  RGB scenes
    annotations/instances_{split}.json               COCO boxes + polygon/RLE masks + crowd
    annotations/person_keypoints_{split}.json        COCO keypoints (17, skeleton)
    semantic/{split}/{id:06d}.png, classes.json      uint8 labels, 0 background, 255 ignore
    depth/{split}/{id:06d}.png (+ some .npy)         uint16 millimetres (.npy: float32 metres)
    classification/{split}/{class_name}/{id:06d}.png ImageFolder
    manifest.json                                    seed, sizes, counts, classes, formats
"""

from __future__ import annotations

from ._generate import SYNTHETIC_CLASSES, SyntheticOptions, generate_synthetic_dataset, main
from ._manifest import SyntheticManifest

__all__ = [
    "SYNTHETIC_CLASSES",
    "SyntheticManifest",
    "SyntheticOptions",
    "generate_synthetic_dataset",
    "main",
]

if __name__ == "__main__":
    raise SystemExit(main())
