"""Batching samples whose targets vary in length (boxes, masks, keypoints per image)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from ._geometry import INSTANCE_KEYS

__all__ = ["collate_samples", "collate_detection", "collate_dense"]

# Label maps become int64, the dtype cross-entropy expects.
_LONG_KEYS = ("semantic", "labels", "label")


def _to_tensor(key: str, value):
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        tensor = torch.from_numpy(np.ascontiguousarray(value))
        return tensor.long() if key in _LONG_KEYS else tensor
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return torch.tensor(value)
    return value


def collate_samples(samples: Sequence[dict], list_keys: Iterable[str] = ()) -> dict:
    """Batches samples key by key.

    Keys in ``list_keys`` become lists of tensors (one per sample). Other keys are
    stacked: arrays and tensors into one tensor (they must share a shape), numbers into
    a 1-D tensor; anything else (names, paths) stays a list.

    Args:
        samples: Samples with the same keys.
        list_keys: Keys whose values differ in length between samples.

    Returns:
        The batch dict.

    Raises:
        ValueError: No samples, differing keys, or shapes that cannot be stacked.
    """
    if not samples:
        raise ValueError("cannot collate an empty list of samples")
    keys = list(samples[0])
    if any(list(s) != keys and set(s) != set(keys) for s in samples):
        raise ValueError("all samples of a batch must have the same keys")
    list_keys = set(list_keys)
    batch = {}
    for key in keys:
        values = [_to_tensor(key, s[key]) for s in samples]
        if key in list_keys:
            batch[key] = values
        elif all(isinstance(v, torch.Tensor) for v in values):
            try:
                batch[key] = torch.stack(values)
            except RuntimeError as exc:
                raise ValueError(f"cannot stack {key!r}: {exc}; list it in list_keys") from exc
        else:
            batch[key] = values
    return batch


def collate_detection(samples: Sequence[dict]) -> dict:
    """Detection / instance batches: images stacked, per-instance targets as lists.

    ``boxes``, ``labels``, ``masks``, ``iscrowd``, ``keypoints`` (N, K, 3) and ``areas``
    stay per image (lists of tensors); everything else is stacked.
    """
    return collate_samples(samples, INSTANCE_KEYS)


def collate_dense(samples: Sequence[dict]) -> dict:
    """Batches of fixed-size samples (classification, segmentation, depth, pose crops).

    ``semantic`` and labels become int64 tensors.
    """
    return collate_samples(samples)
