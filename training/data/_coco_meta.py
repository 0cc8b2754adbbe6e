"""COCO person-keypoint metadata shared by the loaders, transforms and the generator."""

from __future__ import annotations

__all__ = [
    "COCO_KEYPOINT_NAMES",
    "COCO_SKELETON",
    "COCO_FLIP_PAIRS",
    "COCO_FLIP_INDEX",
    "COCO_SIGMAS",
]

#: The 17 COCO keypoints, in COCO order.
COCO_KEYPOINT_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

#: COCO's 19 skeleton links, 1-based keypoint indices as in ``person_keypoints_*.json``.
COCO_SKELETON: tuple[tuple[int, int], ...] = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8),
    (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)  # fmt: skip

#: Left/right keypoint pairs (0-based) that a horizontal flip swaps.
COCO_FLIP_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16),
)  # fmt: skip


def _flip_index(pairs: tuple[tuple[int, int], ...], num: int) -> tuple[int, ...]:
    index = list(range(num))
    for a, b in pairs:
        index[a], index[b] = b, a
    return tuple(index)


#: ``keypoints[COCO_FLIP_INDEX]`` swaps left and right (a permutation and an involution).
COCO_FLIP_INDEX: tuple[int, ...] = _flip_index(COCO_FLIP_PAIRS, len(COCO_KEYPOINT_NAMES))

#: Per-keypoint OKS sigmas used by COCO keypoint evaluation.
COCO_SIGMAS: tuple[float, ...] = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
    0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)  # fmt: skip
