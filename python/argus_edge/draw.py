"""Visualization of a :class:`~argus_edge.results.Result` (numpy + Pillow only).

``draw(result)`` returns one PIL image: each task's result draws itself on a
:class:`Canvas` (the result classes' ``draw`` methods): the photo with the instance masks,
boxes with class names and scores, and skeletons drawn over it; then, side by side at the
same height, the semantic map in class colours (blended with the photo) and the depth map
in the turbo colour map (near = red, far = blue), when those tasks were run. The
classification's top-1 is written in the corner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from .results import Result

__all__ = ["PALETTE", "Canvas", "colorize_depth", "colorize_labels", "draw"]

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


class Canvas:
    """What the results of one image draw themselves onto (each result class's ``draw``).

    Pixel overlays (:meth:`blend`) go into the photo first, then the vector shapes
    (:meth:`box`, :meth:`skeletons`; boxes below skeletons), then the caption; the panels
    (:meth:`panel`) follow the photo side by side, ordered by their ``order``.

    Attributes:
        image: (H, W, 3) uint8 RGB, the photo the tasks ran on (read-only).
        score_threshold, keypoint_threshold, mask_alpha, seg_alpha: the drawing style.
        caption: text written in the bottom-left corner ("" for none).
    """

    _BOXES, _SKELETONS = 0, 1  # shape layers

    def __init__(self, image: np.ndarray, *, score_threshold: float, keypoint_threshold: float,
                 mask_alpha: float, seg_alpha: float) -> None:
        self.image = image
        self.score_threshold, self.keypoint_threshold = score_threshold, keypoint_threshold
        self.mask_alpha, self.seg_alpha = mask_alpha, seg_alpha
        self.caption = ""
        self._photo = np.array(image, dtype=np.float32)
        h, w = self._photo.shape[:2]
        self._line = max(1, round(min(h, w) / 200))
        self._font = _font(max(10, min(h, w) // 40))
        self._shapes: list[tuple[int, Any]] = []
        self._panels: list[tuple[int, np.ndarray]] = []

    @staticmethod
    def color(label: int) -> np.ndarray:
        """The colour of class ``label`` (:data:`PALETTE`)."""
        return PALETTE[int(label) % len(PALETTE)]

    def blend(self, mask: np.ndarray, color: np.ndarray, alpha: float) -> None:
        """Mixes ``color`` into the photo where ``mask`` is true."""
        photo = self._photo
        photo[mask] = photo[mask] * (1 - alpha) + color.astype(np.float32) * alpha

    def box(self, box: np.ndarray, text: str, color: np.ndarray) -> None:
        """A box outline with a filled tag holding ``text`` at its top-left corner."""
        self._shapes.append((self._BOXES, (box, text, color)))

    def skeletons(self, keypoints: Any) -> None:
        """The skeletons of a :class:`~argus_edge.results.Keypoints`."""
        self._shapes.append((self._SKELETONS, keypoints))

    def panel(self, image: np.ndarray, order: int = 0) -> None:
        """An (H, W, 3) uint8 image shown beside the photo (lower ``order`` first)."""
        self._panels.append((order, image))

    def render(self) -> Image.Image:
        """The photo with everything drawn, then the panels."""
        from PIL import Image, ImageDraw

        image = Image.fromarray(self._photo.clip(0, 255).astype(np.uint8))
        canvas = ImageDraw.Draw(image)
        for layer, shape in sorted(self._shapes, key=lambda s: s[0]):
            if layer == self._BOXES:
                box, text, color = shape
                canvas.rectangle(box.tolist(), outline=tuple(int(c) for c in color),
                                 width=self._line)
                _label(canvas, (float(box[0]), float(box[1])), text, color, self._font)
            else:
                self._draw_skeletons(canvas, shape)
        if self.caption:
            _label(canvas, (2.0, float(self._photo.shape[0])), self.caption, (40, 40, 40),
                   self._font)
        if not self._panels:
            return image
        panels = [p for _, p in sorted(self._panels, key=lambda p: p[0])]
        return Image.fromarray(np.concatenate([np.asarray(image)] + panels, axis=1))

    def _draw_skeletons(self, canvas, kp: Any) -> None:
        line = self._line
        for person, score in zip(kp.keypoints, kp.scores):
            if score < self.score_threshold:
                continue
            visible = person[:, 2] >= self.keypoint_threshold
            for a, b in kp.skeleton:
                if a < len(person) and b < len(person) and visible[a] and visible[b]:
                    canvas.line([tuple(person[a, :2]), tuple(person[b, :2])],
                                fill=(0, 255, 128), width=line + 1)
            r_dot = line + 1
            for x, y, _ in person[visible]:
                canvas.ellipse([x - r_dot, y - r_dot, x + r_dot, y + r_dot], fill=(255, 40, 40))


def draw(result: Result, *, score_threshold: float = 0.3, keypoint_threshold: float = 0.2,
         mask_alpha: float = 0.45, seg_alpha: float = 0.6) -> Image.Image:
    """Draws every task of ``result``: each task's result draws itself on a :class:`Canvas`.

    Args:
        result: what Session.run returned for one image.
        score_threshold: boxes (and their masks / skeletons) below it are not drawn.
        keypoint_threshold: keypoints below it (and their limbs) are not drawn.
        mask_alpha: opacity of instance masks.
        seg_alpha: opacity of the semantic colours over the photo in the seg panel.

    Returns:
        An RGB PIL image: the annotated photo, then the panels (seg, depth) if present.
    """
    canvas = Canvas(result.image, score_threshold=score_threshold,
                    keypoint_threshold=keypoint_threshold, mask_alpha=mask_alpha,
                    seg_alpha=seg_alpha)
    for task, r in result.tasks.items():
        r.draw(canvas, task)
    return canvas.render()
