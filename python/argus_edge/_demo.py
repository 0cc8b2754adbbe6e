"""``argus-edge demo``: the SDK end to end on one photo (model part: argus_tiny features)."""

from __future__ import annotations

import time

import numpy as np

from ._errors import ImageError
from ._preprocess import preprocess


def _load_image(path: str | None) -> tuple[np.ndarray, str]:
    if path is None:
        from skimage import data
        return data.astronaut(), "scikit-image astronaut (512x512)"
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB")), path
    except UnidentifiedImageError as e:
        raise ImageError(f"cannot read image {path!r}: {e}") from e


def run_demo(image_path: str | None = None, size: tuple[int, int] = (256, 256),
             seed: int = 0) -> int:
    """Preprocess a photo in C++, run argus_tiny and print what comes out.

    Returns:
        The exit code (0).
    """
    import torch

    from .training.models import PRESETS, create_model

    image, name = _load_image(image_path)
    cfg = PRESETS["argus_tiny"]
    tensor, transform = preprocess(image, size, policy="letterbox", mean=cfg.mean, std=cfg.std)
    print(f"image      {name}: {image.shape[1]}x{image.shape[0]} RGB")
    print(f"preprocess letterbox to {size[1]}x{size[0]} (C++ core): {transform}")

    torch.manual_seed(seed)
    model = create_model("argus_tiny").eval()
    counts = model.num_parameters()
    print(f"model      argus_tiny: {counts['total']:,} parameters, "
          f"{counts['trainable']:,} trainable (adapter), ViT frozen")
    start = time.perf_counter()
    with torch.inference_mode():
        maps = model.forward_features(torch.from_numpy(tensor)[None])
    ms = (time.perf_counter() - start) * 1e3
    vit_h, vit_w = cfg.vit_input_size(*size)
    print(f"forward    adapter input {size[0]}x{size[1]}, ViT input {vit_h}x{vit_w} "
          f"(14/16 rescale), {ms:.0f} ms")
    for stride, m in zip((4, 8, 16, 32), maps):
        print(f"  stride {stride:2d}: {tuple(m.shape)}  mean {m.mean():+.3f} std {m.std():.3f}")
    return 0
