"""What every task runner shares: sampling, batch loading, evaluation scaffolding.

A runner binds one task's datasets to its head: it yields training batches (images on
the device + the targets the head's ``loss`` takes) and evaluates a model on the task's
validation split with the evaluators of ``argus_edge.training.evaluation``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from argus_edge._errors import InvalidArgumentError

from ..engine.sampler import ResumableSampler

_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    """PIL, cv2 and numpy release the GIL while decoding and resizing, so threads
    overlap the loading of one batch's samples without worker processes."""
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argus-load")
    return _POOL


class TaskRunner:
    """Base class; subclasses set ``task`` and implement the hooks below.

    Args:
        task: the task key.
        dataset: the training dataset (a ``TransformedDataset``).
        val_dataset: the validation dataset (no random augmentation) or None.
        batch_size: the global batch size.
        head_config: the head's config dataclass for this task.
        seed, rank, world: sampling.
    """

    task = ""

    def __init__(self, dataset, val_dataset, batch_size: int, head_config: Any,
                 seed: int = 0, rank: int = 0, world: int = 1) -> None:
        if batch_size % world:
            raise InvalidArgumentError(f"{self.task}: batch size {batch_size} is not "
                                       f"divisible by {world} processes")
        self.dataset, self.val_dataset = dataset, val_dataset
        self.batch_size, self.head_config = batch_size, head_config
        self.sampler = ResumableSampler(len(dataset), seed=seed, rank=rank, world=world)

    def _sample(self, epoch_index: tuple[int, int]) -> dict:
        epoch, index = epoch_index
        rng = self.dataset.rng_for(epoch, index)
        return self.dataset.sample(index, rng)

    def next_batch(self, device: torch.device, world: int = 1) -> tuple[torch.Tensor, dict]:
        """The next local batch: (images (B, 3, H, W) on ``device``, targets)."""
        return self.load_batch(self.next_picks(world), device)

    def next_picks(self, world: int = 1) -> list[tuple[int, int]]:
        """Advance the sampler by one local batch: its (epoch, index) pairs."""
        return self.sampler.next_indices(self.batch_size // world)

    def load_batch(self, picks: list[tuple[int, int]],
                   device: torch.device) -> tuple[torch.Tensor, dict]:
        """Load and collate the samples ``picks`` names. Each sample's augmentation is
        seeded by its (epoch, index), so the batch does not depend on when or on which
        thread it is loaded."""
        samples = list(_pool().map(self._sample, picks))
        return self.collate(samples, device)

    # ------------------------------------------------------------------ hooks
    @classmethod
    def build(cls, spec: dict, val_spec: dict | None, size: tuple[int, int], batch_size: int,
              head_overrides: dict, mean, std, seed: int, rank: int, world: int,
              crop: tuple[int, int] | None = None) -> TaskRunner:
        """Build the runner of a task from its config.

        Args:
            spec: the training dataset spec (paths; see docs/training.md).
            val_spec: the validation dataset spec, or None.
            size: the input (height, width) of this task.
            batch_size: the global batch size.
            head_overrides: keyword arguments for the head config (class counts and
                names come from the dataset when not given).
            mean, std: normalisation in pixel units.
            seed, rank, world: sampling and augmentation streams.
            crop: training crop size for dense tasks (None: train at ``size``).
        """
        raise NotImplementedError

    def collate(self, samples: list[dict], device: torch.device) -> tuple[torch.Tensor, dict]:
        """Samples → (images on ``device``, the targets the head's ``loss`` takes)."""
        raise NotImplementedError

    @torch.no_grad()
    def evaluate(self, model, device: torch.device, max_images: int) -> dict[str, float]:
        """The task's metrics for ``model`` on up to ``max_images`` validation samples."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def val_batches(self, max_images: int, batch_size: int = 8):
        """Validation samples in order, ``batch_size`` at a time (no augmentation)."""
        if self.val_dataset is None:
            raise InvalidArgumentError(f"{self.task}: no validation dataset configured")
        n = min(len(self.val_dataset), max_images)
        for start in range(0, n, batch_size):
            idx = range(start, min(n, start + batch_size))
            yield list(_pool().map(self.val_dataset.__getitem__, idx))


def stack_images(samples: list[dict], device: torch.device) -> torch.Tensor:
    return torch.stack([s["image"] for s in samples]).to(device, non_blocking=True)


def resolve(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"dataset path {p} does not exist")
    return p
