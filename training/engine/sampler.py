"""An endless, resumable, rank-sharded sampler for one task's dataset."""

from __future__ import annotations

import numpy as np


class ResumableSampler:
    """Yields dataset indices forever: a fresh permutation each epoch from (seed, epoch),
    sharded over ranks (rank r takes every world-th index), so the data order depends on
    nothing but the seed, the epoch and the position — which is all a checkpoint stores.

    Args:
        size: dataset length.
        seed: base seed.
        rank: this process's rank.
        world: number of processes.
        shuffle: permute each epoch.
    """

    def __init__(self, size: int, seed: int = 0, rank: int = 0, world: int = 1,
                 shuffle: bool = True) -> None:
        if size <= 0:
            raise ValueError("cannot sample from an empty dataset")
        self.size, self.seed, self.rank, self.world, self.shuffle = size, seed, rank, world, shuffle
        self.epoch, self.position = 0, 0
        self._order = self._epoch_order()

    def _epoch_order(self) -> np.ndarray:
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(self.size)
        else:
            order = np.arange(self.size)
        per_rank = -(-self.size // self.world)
        order = np.resize(order, per_rank * self.world)  # pad by wrapping
        return order[self.rank::self.world]

    def next_indices(self, n: int) -> list[tuple[int, int]]:
        """The next ``n`` samples as (epoch, index) pairs; epochs roll over."""
        out = []
        while len(out) < n:
            if self.position >= len(self._order):
                self.epoch += 1
                self.position = 0
                self._order = self._epoch_order()
            out.append((self.epoch, int(self._order[self.position])))
            self.position += 1
        return out

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed,
                "size": self.size}

    def load_state_dict(self, state: dict) -> None:
        if state["size"] != self.size or state["seed"] != self.seed:
            raise ValueError("sampler state is for a different dataset or seed")
        self.epoch, self.position = state["epoch"], state["position"]
        self._order = self._epoch_order()
