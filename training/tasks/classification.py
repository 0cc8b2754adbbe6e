"""``cls`` runner: ImageFolder → attentional pooler; top-1 / top-5."""

from __future__ import annotations

import torch

from ..data import Compose, ImageFolder, Normalize, PhotometricJitter, RandomHorizontalFlip, Resize
from ..evaluation import ClassificationAccumulator
from ..heads import ClsHeadConfig
from ._base import TaskRunner, resolve, stack_images


class ClassificationRunner(TaskRunner):
    task = "cls"

    @classmethod
    def build(cls, spec: dict, val_spec: dict | None, size, batch_size, head_overrides,
              mean, std, seed, rank, world, crop=None):
        train_tf = Compose([RandomHorizontalFlip(0.5, flip_index=()), PhotometricJitter(p=0.8),
                            Resize(size, "stretch", mean), Normalize(mean, std)])
        val_tf = Compose([Resize(size, "stretch", mean), Normalize(mean, std)])
        train = ImageFolder(resolve(spec["root"]), train_tf, seed=seed)
        val = ImageFolder(resolve(val_spec["root"]), val_tf, seed=seed) if val_spec else None
        head = ClsHeadConfig(**{"num_classes": len(train.classes),
                                "class_names": tuple(train.classes), **head_overrides})
        return cls(train, val, batch_size, head, seed, rank, world)

    def collate(self, samples, device):
        labels = torch.tensor([int(s["label"]) for s in samples], device=device)
        return stack_images(samples, device), {"labels": labels}

    @torch.no_grad()
    def evaluate(self, model, device, max_images):
        acc = ClassificationAccumulator()
        for batch in self.val_batches(max_images):
            images, targets = self.collate(batch, device)
            logits = model(images, tasks=[self.task])[self.task]["logits"].float()
            acc.update(logits.cpu(), targets["labels"].cpu())
        return acc.compute().as_dict()
