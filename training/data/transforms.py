"""Joint image + target augmentations of the paper's recipes.

A transform is called as ``transform(sample, rng)`` with a ``numpy.random.Generator``
and returns a new sample; the same generator state gives the same result. Keys that a
sample may hold, and how each transform treats them:

=================  ===========================  ==============================================
key                layout                       geometric transforms
=================  ===========================  ==============================================
image              (H, W, 3) uint8 or float32   bilinear (antialiased); pad = mean colour
boxes              (N, 4) float32 xyxy          scaled / shifted / clipped (pixel edges)
labels, iscrowd    (N,)                         filtered with the boxes
masks              (N, H, W) uint8              nearest; pad 0
keypoints          (N, K, 3) or (K, 3) x, y, v  moved (pixel centres); v = 0 when outside
keypoint_weights   (K,) float32                 0 when outside; permuted by flips
semantic           (H, W) uint8                 nearest; pad 255 (ignore)
depth              (H, W) float32 metres        nearest; pad 0 (invalid)
depth_valid        (H, W) bool                  nearest; pad False
affine             (2, 3) image -> sample       composed with every geometric step
inverse_affine     (2, 3) sample -> image       composed with every geometric step
=================  ===========================  ==============================================

:class:`Normalize` turns ``image`` into a float32 (3, H, W) torch tensor; the collate
functions turn the rest into tensors.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

# ImageNet mean/std in 0..255 pixel units (RGB): the runtime's defaults, defined once.
from argus_edge._preprocess import IMAGENET_MEAN, IMAGENET_STD

from ._coco_meta import COCO_FLIP_INDEX
from ._geometry import filter_instances, hflip_sample, resize_sample, window_sample

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Compose",
    "RandomResize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Resize",
    "PhotometricJitter",
    "Normalize",
]



def _image_fill(image: np.ndarray, mean: Sequence[float]) -> np.ndarray:
    fill = np.asarray(mean, np.float32)
    return np.round(fill).astype(np.uint8) if image.dtype == np.uint8 else fill


class Compose:
    """Applies transforms in order, all drawing from the same generator.

    Args:
        transforms: The transforms.
    """

    def __init__(self, transforms: Sequence) -> None:
        self.transforms = list(transforms)

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        for transform in self.transforms:
            sample = transform(sample, rng)
        return sample


class RandomResize:
    """Scale jitter: resizes by a random factor, keeping the aspect ratio.

    Args:
        ratio_range: Range of the random factor.
        base_size: (height, width) the image is first fitted into (keeping its aspect
            ratio) before the factor applies; ``None`` uses the image's own size.
    """

    def __init__(
        self,
        ratio_range: tuple[float, float] = (0.5, 2.0),
        base_size: tuple[int, int] | None = None,
    ) -> None:
        self.ratio_range = (float(ratio_range[0]), float(ratio_range[1]))
        self.base_size = base_size

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        height, width = sample["image"].shape[:2]
        base = (
            1.0
            if self.base_size is None
            else min(self.base_size[0] / height, self.base_size[1] / width)
        )
        factor = base * rng.uniform(*self.ratio_range)
        out_hw = (max(1, int(round(height * factor))), max(1, int(round(width * factor))))
        return resize_sample(sample, out_hw)


class RandomCrop:
    """Crops a random ``size`` window; pads (mean colour, ignore targets) if the image is smaller.

    Boxes are clipped to the crop; with masks, boxes are recomputed as the tight box of
    the cropped mask so the two agree. Instances whose remaining box area is below
    ``min_box_area`` pixels (or whose mask is empty) are dropped.

    Args:
        size: (height, width) of the crop.
        min_box_area: Smallest remaining box area in pixels.
        mean: Pad colour for the image, RGB 0..255.
    """

    def __init__(
        self,
        size: tuple[int, int],
        min_box_area: float = 16.0,
        mean: Sequence[float] = IMAGENET_MEAN,
    ) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.min_box_area = float(min_box_area)
        self.mean = tuple(mean)

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        height, width = sample["image"].shape[:2]
        h, w = self.size
        y0 = int(rng.integers(0, max(height - h, 0) + 1))
        x0 = int(rng.integers(0, max(width - w, 0) + 1))
        out = window_sample(sample, x0, y0, w, h, _image_fill(sample["image"], self.mean))
        if "boxes" not in out:
            return out
        boxes = out["boxes"]
        if "masks" in out and len(boxes):
            masks = out["masks"].astype(bool)
            rows, cols = masks.any(axis=2), masks.any(axis=1)
            nonempty = rows.any(axis=1)
            y1 = np.where(nonempty, rows.argmax(axis=1), 0)
            y2 = np.where(nonempty, h - rows[:, ::-1].argmax(axis=1), 0)
            x1 = np.where(nonempty, cols.argmax(axis=1), 0)
            x2 = np.where(nonempty, w - cols[:, ::-1].argmax(axis=1), 0)
            boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float32)
            out["boxes"] = boxes
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return filter_instances(out, area >= max(self.min_box_area, 1e-6))


class RandomHorizontalFlip:
    """Mirrors the sample with probability ``p``, swapping left/right keypoints.

    Args:
        p: Flip probability.
        flip_index: Keypoint permutation (COCO's by default).
    """

    def __init__(self, p: float = 0.5, flip_index: Sequence[int] = COCO_FLIP_INDEX) -> None:
        self.p = float(p)
        self.flip_index = tuple(flip_index)

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        if rng.random() >= self.p:
            return sample
        return hflip_sample(sample, self.flip_index)


class Resize:
    """Resizes to a fixed (height, width) with the runtime's policy.

    ``"letterbox"``: scale ``s = min(W / w, H / h)``, resized size ``round(w * s)`` (halves
    to even, at least 1), placed at ``floor((W - new) / 2)``, padded with the mean colour
    (0 after :class:`Normalize`), exactly like ``argus_edge.preprocess``. ``"stretch"``:
    resize to exactly the size. The image becomes float32 (no rounding, as at run time)
    and ``letterbox`` = ``[scale_x, scale_y, offset_x, offset_y]`` (float64) records the
    map ``tensor = image * scale + offset`` for mapping predictions back.

    Args:
        size: (height, width) of the output.
        policy: ``"letterbox"`` or ``"stretch"``.
        mean: Pad colour, RGB 0..255.

    Raises:
        ValueError: Unknown policy or non-positive size.
    """

    def __init__(
        self,
        size: tuple[int, int],
        policy: str = "letterbox",
        mean: Sequence[float] = IMAGENET_MEAN,
    ) -> None:
        if policy not in ("letterbox", "stretch"):
            raise ValueError(f"policy must be 'letterbox' or 'stretch', got {policy!r}")
        if min(size) <= 0:
            raise ValueError(f"size must be positive, got {size}")
        self.size = (int(size[0]), int(size[1]))
        self.policy = policy
        self.mean = tuple(mean)

    def placement(self, height: int, width: int) -> tuple[int, int, int, int]:
        """(new_h, new_w, offset_y, offset_x) of an image of the given size: the C++
        core's geometry (``argus_edge._core.transform_for``), so training places images
        exactly as the runtime will."""
        from argus_edge._core import transform_for
        t = transform_for((height, width), self.size, self.policy)
        return (int(round(t.scale_y * height)), int(round(t.scale_x * width)),
                int(t.offset_y), int(t.offset_x))

    def __call__(self, sample: dict, rng: np.random.Generator | None = None) -> dict:
        height, width = sample["image"].shape[:2]
        new_h, new_w, off_y, off_x = self.placement(height, width)
        sample = dict(sample, image=np.asarray(sample["image"], np.float32))
        out = resize_sample(sample, (new_h, new_w))
        if (new_h, new_w) != self.size:
            out = window_sample(
                out, -off_x, -off_y, self.size[1], self.size[0], np.asarray(self.mean, np.float32)
            )
        out["letterbox"] = np.array([new_w / width, new_h / height, off_x, off_y], np.float64)
        return out


class PhotometricJitter:
    """Random brightness, contrast and saturation, in random order (image only).

    Factors are drawn uniformly from ``[1 - x, 1 + x]``.

    Args:
        brightness: Brightness jitter strength.
        contrast: Contrast jitter strength.
        saturation: Saturation jitter strength.
        p: Probability of jittering at all.
    """

    def __init__(
        self,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.4,
        p: float = 1.0,
    ) -> None:
        self.strengths = (float(brightness), float(contrast), float(saturation))
        self.p = float(p)

    def __call__(self, sample: dict, rng: np.random.Generator) -> dict:
        if rng.random() >= self.p:
            return sample
        image = sample["image"]
        x = image.astype(np.float32)
        factors = [rng.uniform(1.0 - s, 1.0 + s) for s in self.strengths]
        weights = np.array([0.299, 0.587, 0.114], np.float32)
        for op in rng.permutation(3):
            f = np.float32(factors[op])
            if op == 0:
                x = x * f
            elif op == 1:
                mean = (x @ weights).mean()
                x = (x - mean) * f + mean
            else:
                gray = (x @ weights)[..., None]
                x = (x - gray) * f + gray
            x = np.clip(x, 0.0, 255.0)
        x = np.round(x).astype(np.uint8) if image.dtype == np.uint8 else x.astype(np.float32)
        return dict(sample, image=x)


class Normalize:
    """``(image - mean) / std`` in pixel units, as a float32 (3, H, W) torch tensor.

    Args:
        mean: Per-channel mean, RGB 0..255.
        std: Per-channel standard deviation, RGB 0..255.
    """

    def __init__(
        self, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
    ) -> None:
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)

    def __call__(self, sample: dict, rng: np.random.Generator | None = None) -> dict:
        x = (np.asarray(sample["image"], np.float32) - self.mean) / self.std
        return dict(sample, image=torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1))))
