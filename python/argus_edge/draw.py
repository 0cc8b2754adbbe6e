"""Visualization of a :class:`~argus_edge.results.Result` (numpy + Pillow only).

``draw(result)`` returns one PIL image: the photo with the instance masks, boxes with
class names and scores, and skeletons drawn over it; then, side by side at the same
height, the semantic map in class colours (blended with the photo) and the depth map
in the turbo colour map (near = red, far = blue), when those tasks were run. The
classification's top-1 is written in the corner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from .results import Result

__all__ = ["PALETTE", "colorize_depth", "colorize_labels", "draw"]

# 20 well-separated colours (Tableau 20 order, strong first); class i uses PALETTE[i % 20].
PALETTE = np.array([
    [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
    [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
    [174, 199, 232], [255, 187, 120], [152, 223, 138], [255, 152, 150], [197, 176, 213],
    [196, 156, 148], [247, 182, 210], [199, 199, 199], [219, 219, 141], [158, 218, 229],
], dtype=np.uint8)

# Polynomial fit of Google's turbo colour map (Mikhailov 2019), t in [0, 1] -> RGB.
_TURBO = np.array([
    [0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943],
    [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
    [0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973],
])


def colorize_labels(labels: np.ndarray, background: int | None = 0) -> np.ndarray:
    """(H, W) class indices -> (H, W, 3) uint8 colours; ``background`` is black."""
    out = PALETTE[np.asarray(labels) % len(PALETTE)]
    if background is not None:
        out[np.asarray(labels) == background] = 0
    return out


def colorize_depth(depth: np.ndarray, lo: float | None = None,
                   hi: float | None = None) -> np.ndarray:
    """(H, W) depth -> (H, W, 3) uint8 turbo colours, near red, far blue.

    The range is the 2nd..98th percentile unless ``lo`` / ``hi`` are given; non-finite
    values are black.
    """
    d = np.asarray(depth, np.float64)
    finite = np.isfinite(d)
    if not finite.any():
        return np.zeros(d.shape + (3,), np.uint8)
    lo = float(np.percentile(d[finite], 2)) if lo is None else lo
    hi = float(np.percentile(d[finite], 98)) if hi is None else hi
    t = 1.0 - np.clip((np.where(finite, d, lo) - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    powers = np.stack([t ** i for i in range(6)], axis=-1)
    rgb = np.clip(powers @ _TURBO.T, 0.0, 1.0)
    out = (rgb * 255.0 + 0.5).astype(np.uint8)
    out[~finite] = 0
    return out


def _font(size: int):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: no size
        return ImageFont.load_default()


def _label(draw, xy: tuple[float, float], text: str, color, font) -> None:
    """A filled tag with white text whose bottom-left corner is at ``xy``."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x, y = xy[0], max(0.0, xy[1] - (bottom - top) - 4)
    draw.rectangle([x, y, x + (right - left) + 4, y + (bottom - top) + 4],
                   fill=tuple(int(c) for c in color))
    draw.text((x + 2 - left, y + 2 - top), text, fill=(255, 255, 255), font=font)


def draw(result: Result, *, score_threshold: float = 0.3, keypoint_threshold: float = 0.2,
         mask_alpha: float = 0.45, seg_alpha: float = 0.6) -> Image.Image:
    """Draws every task of ``result``.

    Args:
        result: what Session.run returned for one image.
        score_threshold: boxes (and their masks / skeletons) below it are not drawn.
        keypoint_threshold: keypoints below it (and their limbs) are not drawn.
        mask_alpha: opacity of instance masks.
        seg_alpha: opacity of the semantic colours over the photo in the seg panel.

    Returns:
        An RGB PIL image: the annotated photo, then the seg and depth panels if present.
    """
    from PIL import Image, ImageDraw

    from .results import Classification, DepthMap, Detections, Keypoints, SegMap

    photo = np.array(result.image, dtype=np.float32)
    h, w = photo.shape[:2]
    line = max(1, round(min(h, w) / 200))
    font = _font(max(10, min(h, w) // 40))
    panels: dict[str, np.ndarray] = {}  # seg, then depth
    boxes: list[tuple[np.ndarray, str, np.ndarray]] = []
    skeletons: list[Keypoints] = []
    caption = ""
    for task, r in result.tasks.items():
        if isinstance(r, Detections):
            keep = r.scores >= score_threshold
            if r.masks is not None:
                for mask, label in zip(r.masks[keep], r.labels[keep]):
                    color = PALETTE[label % len(PALETTE)].astype(np.float32)
                    photo[mask] = photo[mask] * (1 - mask_alpha) + color * mask_alpha
            for box, name, label, score in zip(r.boxes[keep], np.array(r.names)[keep],
                                               r.labels[keep], r.scores[keep]):
                boxes.append((box, f"{name} {score:.2f}", PALETTE[label % len(PALETTE)]))
        elif isinstance(r, Keypoints):
            skeletons.append(r)
        elif isinstance(r, SegMap):
            colors = colorize_labels(r.labels).astype(np.float32)
            fg = (r.labels != 0)[..., None]
            blend = np.where(fg, result.image * (1 - seg_alpha) + colors * seg_alpha,
                             result.image * 0.5)
            panels["seg"] = blend.astype(np.uint8)
        elif isinstance(r, DepthMap):
            panels["depth"] = colorize_depth(r.depth)
        elif isinstance(r, Classification) and len(r.labels):
            caption = f"{task}: {r.top1} {float(r.probabilities[0]):.2f}"
    image = Image.fromarray(photo.clip(0, 255).astype(np.uint8))
    canvas = ImageDraw.Draw(image)
    for box, text, color in boxes:
        canvas.rectangle(box.tolist(), outline=tuple(int(c) for c in color), width=line)
        _label(canvas, (float(box[0]), float(box[1])), text, color, font)
    for kp in skeletons:
        for person, score in zip(kp.keypoints, kp.scores):
            if score < score_threshold:
                continue
            visible = person[:, 2] >= keypoint_threshold
            for a, b in kp.skeleton:
                if a < len(person) and b < len(person) and visible[a] and visible[b]:
                    canvas.line([tuple(person[a, :2]), tuple(person[b, :2])],
                                fill=(0, 255, 128), width=line + 1)
            r_dot = line + 1
            for x, y, _ in person[visible]:
                canvas.ellipse([x - r_dot, y - r_dot, x + r_dot, y + r_dot], fill=(255, 40, 40))
    if caption:
        _label(canvas, (2.0, float(h)), caption, (40, 40, 40), font)
    if not panels:
        return image
    order = [panels[k] for k in ("seg", "depth") if k in panels]
    strip = np.concatenate([np.asarray(image)] + order, axis=1)
    return Image.fromarray(strip)
