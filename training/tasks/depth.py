"""``depth`` runner: image + depth maps → DPT depth head; RMSE, AbsRel, δ1."""

from __future__ import annotations

import torch

from ..data import (
    Compose,
    DepthDataset,
    Normalize,
    PhotometricJitter,
    RandomCrop,
    RandomHorizontalFlip,
    Resize,
)
from ..evaluation import DepthAccumulator
from ..heads import DepthHeadConfig
from ._base import TaskRunner, resolve, stack_images


class DepthRunner(TaskRunner):
    """Geometric augmentation is limited to flips: rescaling an image changes the depth
    a monocular model should predict for it."""

    task = "depth"

    @classmethod
    def build(cls, spec, val_spec, size, batch_size, head_overrides, mean, std, seed, rank,
              world, crop=None):
        # depth follows apparent size: crops keep the evaluation scale (no scale jitter)
        crop_tf = ([Resize(size, "letterbox", mean), RandomCrop(crop, mean=mean)]
                   if crop and tuple(crop) != tuple(size) else [])
        crop = tuple(crop or size)
        train_tf = Compose([*crop_tf, RandomHorizontalFlip(0.5), PhotometricJitter(p=0.8),
                            Resize(crop, "letterbox", mean), Normalize(mean, std)])
        val_tf = Compose([Resize(size, "letterbox", mean), Normalize(mean, std)])
        train = DepthDataset(resolve(spec["images"]), resolve(spec["depth"]), train_tf, seed=seed)
        val = (DepthDataset(resolve(val_spec["images"]), resolve(val_spec["depth"]), val_tf,
                            seed=seed) if val_spec else None)
        return cls(train, val, batch_size, DepthHeadConfig(**head_overrides), seed, rank, world)

    def collate(self, samples, device):
        depth = torch.stack([torch.as_tensor(s["depth"]) for s in samples]).float().to(device)
        valid = torch.stack([torch.as_tensor(s["depth_valid"]) for s in samples]).to(device)
        return stack_images(samples, device), {"depth": depth, "valid": valid}

    @torch.no_grad()
    def evaluate(self, model, device, max_images):
        acc = DepthAccumulator()
        head = model.heads[self.task]
        for batch in self.val_batches(max_images):
            images, targets = self.collate(batch, device)
            outputs = model(images, tasks=[self.task])[self.task]
            pred = head.predict(outputs, size=tuple(targets["depth"].shape[-2:]))
            gt = torch.where(targets["valid"], targets["depth"], torch.zeros_like(targets["depth"]))
            acc.update(pred.cpu(), gt.cpu())
        return acc.compute().as_dict()
