"""Anchor points of the dense head: the one definition the runtime mirrors.

Point order is the order of the head's flat outputs: level-major (strides as configured,
finest first), then row-major within a level. A point of a level with stride ``s`` at
cell (row ``i``, column ``j``) sits at the cell centre ``((j + 0.5)·s, (i + 0.5)·s)`` in
input pixels (continuous pixel-edge coordinates, the input spans ``[0, W] × [0, H]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def level_sizes(input_hw: tuple[int, int], strides: Sequence[int]) -> list[tuple[int, int]]:
    """(rows, columns) of each level's grid for an input of ``input_hw`` pixels.

    Args:
        input_hw: input (height, width) in pixels, each a multiple of every stride.
        strides: the levels' strides.

    Returns:
        One ``(h, w)`` per stride.

    Raises:
        ValueError: a side is not a multiple of a stride.
    """
    h, w = int(input_hw[0]), int(input_hw[1])
    for s in strides:
        if h % s or w % s:
            raise ValueError(f"input size {h}×{w} is not a multiple of stride {s}")
    return [(h // s, w // s) for s in strides]


def anchor_points(input_hw: tuple[int, int],
                  strides: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Every point of every level, in the head's output order.

    Args:
        input_hw: input (height, width) in pixels.
        strides: the levels' strides.

    Returns:
        ``(points, point_strides)``: float32 (N, 2) as (x, y) in input pixels and
        float32 (N,) the stride of each point's level, N = Σ h·w.
    """
    points, point_strides = [], []
    for s, (h, w) in zip(strides, level_sizes(input_hw, strides)):
        ys, xs = np.meshgrid(np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32),
                             indexing="ij")
        points.append(np.stack([(xs.ravel() + 0.5) * s, (ys.ravel() + 0.5) * s], axis=1))
        point_strides.append(np.full(h * w, s, dtype=np.float32))
    if not points:
        return np.zeros((0, 2), np.float32), np.zeros(0, np.float32)
    return np.concatenate(points).astype(np.float32), np.concatenate(point_strides)
