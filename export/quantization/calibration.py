"""Calibration images → the input dicts ("feeds") each graph is calibrated with.

Images are preprocessed exactly as the runtime does it (``argus_edge.preprocess``,
letterbox by default), so calibration sees the tensors that inference will see. Graph
inputs are recognised by name:

* ``images`` (B, 3, H, W): the preprocessed image at the graph's size;
* ``vit_images`` (B, 3, h, w): the same tensor resized (antialiased bilinear,
  ``argus_edge._core.resize_bilinear``) to the ViT's 14/16 size;
* any other input (``f4``...``f32`` of the heads) must be an output of another graph of
  the set; :func:`graph_feeds` runs that graph in FP32 to produce it.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from argus_edge import preprocess
from argus_edge._errors import ImageError, InvalidArgumentError

__all__ = [
    "IMAGE_EXTENSIONS",
    "CalibrationImage",
    "Feeds",
    "LazyFeeds",
    "find_images",
    "graph_feeds",
    "image_feeds",
    "load_calibration_images",
]

_LOG = logging.getLogger(__name__)

#: File extensions taken as calibration images (lower case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
_IMAGE_INPUT, _VIT_INPUT = "images", "vit_images"

#: One graph's inputs for one image: ``{input name: float32 array with batch axis}``.
Feed = dict[str, np.ndarray]
#: Any indexable sequence of feeds (a list, or :class:`LazyFeeds`).
Feeds = Sequence[Feed]


@dataclass(frozen=True)
class CalibrationImage:
    """A decoded calibration image.

    Attributes:
        path: the file it was read from.
        pixels: uint8 (H, W, 3) RGB.
    """

    path: Path
    pixels: np.ndarray


def find_images(folders: Path | str | Sequence[Path | str]) -> list[Path]:
    """Image files under one or more folders, recursively, sorted by path.

    Raises:
        InvalidArgumentError: a folder is missing or is not a folder.
        ImageError: no image file (``.jpg .jpeg .png .bmp .webp``) in any of them.
    """
    roots = [Path(folders)] if isinstance(folders, (str, Path)) else [Path(f) for f in folders]
    if not roots:
        raise InvalidArgumentError("no calibration folder given")
    files: list[Path] = []
    for root in roots:
        if not root.is_dir():
            what = "is not a folder" if root.exists() else "does not exist"
            raise InvalidArgumentError(f"calibration folder {str(root)!r} {what}")
        files.extend(p for p in root.rglob("*")
                     if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        names = ", ".join(repr(str(r)) for r in roots)
        raise ImageError(f"no calibration images ({' '.join(IMAGE_EXTENSIONS)}) in {names}")
    return sorted(set(files))


def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps  # PIL is only needed when images are read

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageError(f"cannot read calibration image {str(path)!r}: {exc}") from exc


def load_calibration_images(
    folders: Path | str | Sequence[Path | str],
    num: int | None = None,
    *,
    seed: int = 0,
    skip_unreadable: bool = True,
    progress: bool = True,
) -> list[CalibrationImage]:
    """Loads a deterministic subset of the calibration images.

    The files are sorted, shuffled with ``seed`` and read in that order until ``num``
    images decoded; the result is sorted by path again. Same folder, ``num`` and
    ``seed`` → same images, on any machine.

    Args:
        folders: one folder or several, searched recursively.
        num: how many images to use (``None``: all of them).
        seed: seed of the subset draw.
        skip_unreadable: skip an unreadable or corrupt file with a warning (and draw
            another one); ``False`` raises at the first one.
        progress: show a tqdm progress bar.

    Returns:
        The images, sorted by path.

    Raises:
        InvalidArgumentError: a missing folder, or ``num`` < 1.
        ImageError: no image file at all, an unreadable file (``skip_unreadable=False``),
            or every file unreadable.
    """
    if num is not None and num < 1:
        raise InvalidArgumentError(f"the number of calibration images must be >= 1, got {num}")
    files = find_images(folders)
    want = len(files) if num is None else min(num, len(files))
    order = np.random.default_rng(seed).permutation(len(files))
    images: list[CalibrationImage] = []
    skipped: list[str] = []
    with tqdm(total=want, desc="calibration images", unit="img", disable=not progress) as bar:
        for i in order:
            if len(images) == want:
                break
            try:
                images.append(CalibrationImage(files[i], _read_rgb(files[i])))
                bar.update(1)
            except ImageError as exc:
                if not skip_unreadable:
                    raise
                skipped.append(str(files[i]))
                warnings.warn(f"skipping {exc}", stacklevel=2)
    if not images:
        raise ImageError(f"none of the {len(files)} calibration images could be read "
                         f"(first: {skipped[0]!r})")
    if len(images) < want:
        _LOG.warning("only %d of %d requested calibration images are readable", len(images), want)
    return sorted(images, key=lambda im: im.path)


class LazyFeeds(Sequence):
    """A sequence of feeds computed on first access and kept while memory allows.

    Head feeds (the backbone's four feature maps, ~67 MB per 512 px image for Argus-Base)
    are large: they are computed one at a time as quantizers iterate, and only the first
    ``max_cache_bytes`` worth are kept; the others are recomputed on each access.

    Args:
        length: number of feeds.
        make: ``make(i)`` returns feed ``i``.
        max_cache_bytes: memory budget of the kept feeds.
    """

    def __init__(self, length: int, make: Callable[[int], Feed],
                 max_cache_bytes: int = 2 << 30) -> None:
        self._length, self._make = length, make
        self._cache: dict[int, Feed] = {}
        self._budget = max_cache_bytes

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._length))]
        if not -self._length <= i < self._length:
            raise IndexError(i)
        i %= self._length
        if i in self._cache:
            return self._cache[i]
        feed = self._make(i)
        size = sum(v.nbytes for v in feed.values())
        if size <= self._budget:
            self._cache[i], self._budget = feed, self._budget - size
        return feed

    def __iter__(self) -> Iterator[Feed]:
        return (self[i] for i in range(self._length))


def image_feeds(images: Sequence[CalibrationImage | np.ndarray],
                input_shapes: Mapping[str, Sequence[int]],
                *, policy: str = "letterbox") -> LazyFeeds:
    """Feeds for a graph that takes images (``images`` and optionally ``vit_images``).

    Args:
        images: decoded images (or uint8 (H, W, 3) arrays).
        input_shapes: ``{input name: (B, 3, H, W)}`` of the graph; only ``images`` and
            ``vit_images`` are allowed.
        policy: preprocessing resize policy (``letterbox`` or ``stretch``).

    Returns:
        One feed per image, each with batch size 1.

    Raises:
        InvalidArgumentError: an input other than ``images`` / ``vit_images``, or a
            shape that is not (B, 3, H, W) with static H and W.
    """
    unknown = set(input_shapes) - {_IMAGE_INPUT, _VIT_INPUT}
    if unknown or _IMAGE_INPUT not in input_shapes:
        raise InvalidArgumentError(
            f"image feeds need inputs 'images' (and optionally 'vit_images'), "
            f"the graph has {sorted(input_shapes)}")
    sizes = {name: _spatial_size(name, shape) for name, shape in input_shapes.items()}

    def make(i: int) -> Feed:
        from argus_edge._core import resize_bilinear

        pixels = images[i].pixels if isinstance(images[i], CalibrationImage) else images[i]
        tensor, _ = preprocess(pixels, sizes[_IMAGE_INPUT], policy=policy)
        feed = {_IMAGE_INPUT: tensor[None]}
        if _VIT_INPUT in sizes:
            feed[_VIT_INPUT] = resize_bilinear(tensor, sizes[_VIT_INPUT])[None]
        return feed

    return LazyFeeds(len(images), make)


def _spatial_size(name: str, shape: Sequence[int]) -> tuple[int, int]:
    ok = len(shape) == 4 and shape[1] == 3 and all(isinstance(d, int) and d > 0 for d in shape[2:])
    if not ok:
        raise InvalidArgumentError(
            f"graph input {name!r} must be (B, 3, H, W) with a fixed H and W, got {list(shape)}; "
            "pass the input size explicitly")
    return int(shape[2]), int(shape[3])


def graph_feeds(graph_inputs: Mapping[str, Mapping[str, Sequence]],
                images: Sequence[CalibrationImage | np.ndarray],
                run_fp32: Callable[[str, Feed], Mapping[str, np.ndarray]],
                graph_outputs: Mapping[str, Mapping[str, Sequence]],
                *, policy: str = "letterbox") -> dict[str, LazyFeeds]:
    """Feeds for every graph of a set, heads included.

    Graphs whose inputs are images get :func:`image_feeds`; a graph whose inputs are
    outputs of an image graph gets them by running that graph in FP32 on the same image.
    When several image graphs produce them (one backbone per input size), the one whose
    output shapes match the head's input shapes is used.

    Args:
        graph_inputs: ``{graph: {input name: shape}}``.
        images: the calibration images.
        run_fp32: ``run_fp32(graph, feed)`` → that graph's outputs (FP32 reference).
        graph_outputs: ``{graph: {output name: shape}}``; dims may be strings (dynamic).
        policy: preprocessing resize policy.

    Returns:
        ``{graph: feeds}``, one feed per image.

    Raises:
        InvalidArgumentError: a graph whose inputs are neither images nor the outputs of
            exactly one image graph.
    """
    feeds: dict[str, LazyFeeds] = {}
    for graph, inputs in graph_inputs.items():
        if set(inputs) <= {_IMAGE_INPUT, _VIT_INPUT}:
            feeds[graph] = image_feeds(images, inputs, policy=policy)
    for graph, inputs in graph_inputs.items():
        if graph in feeds:
            continue
        producers = [g for g in list(feeds) if all(
            name in graph_outputs[g] and _compatible(shape, graph_outputs[g][name])
            for name, shape in inputs.items())]
        if len(producers) != 1:
            raise InvalidArgumentError(
                f"graph {graph!r}: its inputs {sorted(inputs)} are not images and are the "
                f"outputs of {len(producers)} image graphs ({producers}), not of exactly one")
        feeds[graph] = _derived_feeds(feeds[producers[0]], producers[0], list(inputs), run_fp32)
    return feeds


def _compatible(a: Sequence, b: Sequence) -> bool:
    """Same rank, and equal wherever both dims are static ints."""
    return len(a) == len(b) and all(
        x == y for x, y in zip(a, b) if isinstance(x, int) and isinstance(y, int) and x > 0 < y)


def _derived_feeds(upstream: LazyFeeds, producer_graph: str, names: list[str],
                   run_fp32: Callable[[str, Feed], Mapping[str, np.ndarray]]) -> LazyFeeds:
    return LazyFeeds(len(upstream), lambda i: {k: v for k, v in run_fp32(
        producer_graph, upstream[i]).items() if k in names})
