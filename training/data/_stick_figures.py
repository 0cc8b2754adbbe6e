"""Articulated stick figures with the 17 COCO keypoints.

A figure faces the camera, so the person's left side appears on the image's right (as
in a photo of someone facing you); a horizontal flip with left/right swapped keeps
that convention, which keeps flip augmentation consistent with the labels.
Proportions are fractions of the figure's standing height ``H`` (head top to ankles).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["StickFigure", "sample_stick_figure", "rasterize_figure", "draw_face"]

_SHIFT = 4  # sub-pixel bits for cv2 drawing
_ONE = 1 << _SHIFT

_TORSO, _HEAD_R, _NECK_GAP = 0.30, 0.07, 0.02
_SHOULDER, _HIP = 0.11, 0.075
_UPPER_ARM, _FOREARM, _THIGH, _SHIN = 0.17, 0.16, 0.245, 0.245
_LIMB_THICKNESS = 0.05

# Limbs drawn as thick lines, as 0-based COCO keypoint index pairs.
_LIMBS = ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16))


@dataclass(frozen=True)
class StickFigure:
    """One posed figure in image coordinates (pixel centres).

    Attributes:
        keypoints: (17, 2) float64 joint positions (x, y) in COCO order.
        head_center: (2,) float64 centre of the head circle.
        head_radius: Head radius in pixels.
        thickness: Limb thickness in pixels.
        up: (2,) unit vector from pelvis to neck.
    """

    keypoints: np.ndarray
    head_center: np.ndarray
    head_radius: float
    thickness: int
    up: np.ndarray


def _deg(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.deg2rad(rng.uniform(lo, hi)))


def _chain(start: np.ndarray, down: np.ndarray, side: np.ndarray, lengths, angles) -> list:
    """Joint positions of a two-segment limb; angles are from ``down`` towards ``side``."""
    points, current, total = [], start, 0.0
    for length, angle in zip(lengths, angles, strict=True):
        total += angle
        current = current + length * (np.cos(total) * down + np.sin(total) * side)
        points.append(current)
    return points


def _limb_angles(rng: np.random.Generator, arm: bool) -> tuple[float, float]:
    if arm:
        bend = _deg(rng, 0.0, 120.0) * (1.0 if rng.random() < 0.7 else -1.0)
        return _deg(rng, -15.0, 165.0), bend
    return _deg(rng, -10.0, 45.0), _deg(rng, -15.0, 55.0)


def sample_stick_figure(
    rng: np.random.Generator, height: float, pelvis: tuple[float, float]
) -> StickFigure:
    """Samples a random pose (torso lean, arm and leg joint angles).

    Args:
        rng: Source of randomness.
        height: Standing height in pixels (head top to ankles).
        pelvis: (x, y) position of the mid-hip point in pixels.

    Returns:
        The posed figure.
    """
    lean = _deg(rng, -15.0, 15.0)
    up = np.array([np.sin(lean), -np.cos(lean)])
    right = np.array([np.cos(lean), np.sin(lean)])  # image right = the person's left
    pelvis = np.asarray(pelvis, np.float64)
    neck = pelvis + _TORSO * height * up
    head_r = _HEAD_R * height
    tilt = _deg(rng, -15.0, 15.0)
    head_up = np.cos(tilt) * up + np.sin(tilt) * right
    head_right = np.array([-head_up[1], head_up[0]])
    head = neck + (head_r + _NECK_GAP * height) * head_up
    kp = np.zeros((17, 2))
    kp[0] = head - 0.15 * head_r * head_up
    for sign, (eye, ear) in ((1.0, (1, 3)), (-1.0, (2, 4))):
        kp[eye] = head + sign * 0.38 * head_r * head_right + 0.2 * head_r * head_up
        kp[ear] = head + sign * 0.88 * head_r * head_right + 0.05 * head_r * head_up
    for sign, (sh, el, wr, hip, kn, an) in (
        (1.0, (5, 7, 9, 11, 13, 15)),
        (-1.0, (6, 8, 10, 12, 14, 16)),
    ):
        kp[sh] = neck + sign * _SHOULDER * height * right - 0.03 * height * up
        kp[hip] = pelvis + sign * _HIP * height * right
        arm = (_UPPER_ARM * height, _FOREARM * height)
        kp[el], kp[wr] = _chain(kp[sh], -up, sign * right, arm, _limb_angles(rng, True))
        leg = (_THIGH * height, _SHIN * height)
        kp[kn], kp[an] = _chain(kp[hip], -up, sign * right, leg, _limb_angles(rng, False))
    thickness = max(3, int(round(_LIMB_THICKNESS * height)))
    return StickFigure(kp, head, head_r, thickness, up)


def _fixed(point: np.ndarray) -> tuple[int, int]:
    return int(round(point[0] * _ONE)), int(round(point[1] * _ONE))


def rasterize_figure(figure: StickFigure, height: int, width: int) -> np.ndarray:
    """The figure's silhouette (thick limbs, filled torso, head disc) as a (H, W) bool mask."""
    mask = np.zeros((height, width), np.uint8)
    kp, t = figure.keypoints, figure.thickness
    torso = np.array([kp[5], kp[6], kp[12], kp[11]])
    cv2.fillConvexPoly(mask, np.round(torso * _ONE).astype(np.int32), 1, cv2.LINE_8, _SHIFT)
    neck = (kp[5] + kp[6]) / 2
    for a, b in ((kp[5], kp[6]), (kp[11], kp[12]), (neck, figure.head_center)):
        cv2.line(mask, _fixed(a), _fixed(b), 1, t, cv2.LINE_8, _SHIFT)
    for i, j in _LIMBS:
        cv2.line(mask, _fixed(kp[i]), _fixed(kp[j]), 1, t, cv2.LINE_8, _SHIFT)
    for i in (9, 10, 15, 16):  # round ends so wrists and ankles lie on the figure
        cv2.circle(mask, _fixed(kp[i]), int(t * _ONE / 2), 1, -1, cv2.LINE_8, _SHIFT)
    r = int(round(figure.head_radius * _ONE))
    cv2.circle(mask, _fixed(figure.head_center), r, 1, -1, cv2.LINE_8, _SHIFT)
    return mask.astype(bool)


def draw_face(image: np.ndarray, figure: StickFigure, color: np.ndarray) -> None:
    """Draws eyes and nose dots onto ``image`` (H, W, 3) in place."""
    radius = max(1.0, 0.16 * figure.head_radius)
    c = tuple(float(v) for v in color)
    for i in (0, 1, 2):
        cv2.circle(
            image, _fixed(figure.keypoints[i]), int(radius * _ONE), c, -1, cv2.LINE_8, _SHIFT
        )
