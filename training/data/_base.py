"""Shared base of the datasets: per-item random streams and the optional transform."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from torch.utils.data import Dataset

__all__ = ["Sample", "Transform", "TransformedDataset"]

#: A sample: a dict of numpy arrays and scalars (see the key table in ``transforms``).
Sample = dict
#: A transform maps ``(sample, rng)`` to a new sample.
Transform = Callable[[Sample, np.random.Generator], Sample]


class TransformedDataset(Dataset):
    """A map-style dataset whose samples pass through an optional random transform.

    Each item draws from its own generator seeded by ``(seed, epoch, index)``, so the
    augmentation of an item is the same in every worker process and run, and changes
    from epoch to epoch once :meth:`set_epoch` is called.

    Args:
        transform: Applied to every loaded sample, or ``None``.
        seed: Seed of the augmentation streams.
    """

    def __init__(self, transform: Transform | None = None, seed: int = 0) -> None:
        self.transform = transform
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Selects the augmentation stream of ``epoch`` (call before each epoch)."""
        self.epoch = int(epoch)

    def rng(self, index: int) -> np.random.Generator:
        """The generator that item ``index`` uses in the current epoch."""
        return self.rng_for(self.epoch, index)

    def rng_for(self, epoch: int, index: int) -> np.random.Generator:
        """The generator of item ``index`` in ``epoch`` (thread-safe: reads no state)."""
        return np.random.default_rng([self.seed, int(epoch), int(index)])

    def sample(self, index: int, rng: np.random.Generator) -> Sample:
        """Item ``index`` loaded and transformed with ``rng`` (thread-safe)."""
        sample = self.load(index, rng)
        return sample if self.transform is None else self.transform(sample, rng)

    def load(self, index: int, rng: np.random.Generator | None = None) -> Sample:
        """Reads item ``index`` without the transform (``rng`` drives any load-time jitter)."""
        raise NotImplementedError

    def __getitem__(self, index: int) -> Sample:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        index = index % len(self)
        return self.sample(index, self.rng(index))

    def __len__(self) -> int:
        raise NotImplementedError
