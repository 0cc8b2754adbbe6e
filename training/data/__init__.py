"""Datasets, augmentations and the synthetic dataset generator.

Loaders read the formats the field uses (COCO JSON, image + PNG label maps, ImageFolder,
image + depth maps) into samples: dicts of numpy arrays with one key layout for all
tasks (see :mod:`.transforms` for the table). Joint transforms take
``(sample, numpy.random.Generator)``; each dataset seeds one generator per item and
epoch, so augmentation is reproducible whatever the number of loader workers.
"""

from ._base import TransformedDataset
from ._coco_meta import (
    COCO_FLIP_INDEX,
    COCO_FLIP_PAIRS,
    COCO_KEYPOINT_NAMES,
    COCO_SIGMAS,
    COCO_SKELETON,
)
from ._generate import SYNTHETIC_CLASSES, SyntheticOptions, generate_synthetic_dataset
from ._manifest import SyntheticManifest
from .affine import affine_points, box_to_center_scale, get_affine_transform, invert_affine
from .coco import CocoDetection
from .coco_keypoints import CocoKeypoints, TopDownAugment
from .collate import collate_dense, collate_detection, collate_samples
from .depth import DepthDataset, read_depth, write_depth_png
from .image_folder import ImageFolder
from .segmentation import IGNORE_INDEX, SegmentationPNG, read_label_png
from .transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Compose,
    Normalize,
    PhotometricJitter,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResize,
    Resize,
)

__all__ = [
    "COCO_FLIP_INDEX",
    "COCO_FLIP_PAIRS",
    "COCO_KEYPOINT_NAMES",
    "COCO_SIGMAS",
    "COCO_SKELETON",
    "IGNORE_INDEX",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "SYNTHETIC_CLASSES",
    "CocoDetection",
    "CocoKeypoints",
    "Compose",
    "DepthDataset",
    "ImageFolder",
    "Normalize",
    "PhotometricJitter",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomResize",
    "Resize",
    "SegmentationPNG",
    "SyntheticManifest",
    "SyntheticOptions",
    "TopDownAugment",
    "TransformedDataset",
    "affine_points",
    "box_to_center_scale",
    "collate_dense",
    "collate_detection",
    "collate_samples",
    "generate_synthetic_dataset",
    "get_affine_transform",
    "invert_affine",
    "read_depth",
    "read_label_png",
    "write_depth_png",
]
