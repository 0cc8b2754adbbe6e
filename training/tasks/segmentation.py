"""``sem`` runner: image + PNG label maps → the configured decoder (UperNet by default,
``decoder: fpn`` for the light FPN head); mIoU."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..data import (
    Compose,
    Normalize,
    PhotometricJitter,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResize,
    Resize,
    SegmentationPNG,
)
from ..evaluation import SegmentationAccumulator
from ..heads import head_config_from_dict
from ._base import TaskRunner, resolve, stack_images


def _class_names(spec: dict, labels_dir: Path) -> tuple[str, ...] | None:
    """Names from ``classes`` (a JSON {id: name} file) or ``classes.json`` beside the labels."""
    path = Path(spec["classes"]) if "classes" in spec else labels_dir.parent / "classes.json"
    if not path.is_file():
        return None
    table = {int(k): v for k, v in json.loads(path.read_text()).items() if int(k) != 255}
    return tuple(table[i] for i in range(max(table) + 1))


class SegmentationRunner(TaskRunner):
    """Validation is at the network input size (labels resized with nearest, padding
    ignored), which equals the original resolution when images already have that size."""

    task = "sem"

    @classmethod
    def build(cls, spec, val_spec, size, batch_size, head_overrides, mean, std, seed, rank,
              world, crop=None):
        crop = tuple(crop or size)
        train_tf = Compose([RandomResize((0.75, 1.5), base_size=size), RandomCrop(crop, mean=mean),
                            RandomHorizontalFlip(0.5), PhotometricJitter(p=0.8),
                            Resize(crop, "letterbox", mean), Normalize(mean, std)])
        val_tf = Compose([Resize(size, "letterbox", mean), Normalize(mean, std)])
        labels = resolve(spec["labels"])
        rzl = bool(spec.get("reduce_zero_label", False))  # ADE20K: label 0 = "other"
        train = SegmentationPNG(resolve(spec["images"]), labels, train_tf,
                                reduce_zero_label=rzl, seed=seed)
        val = (SegmentationPNG(resolve(val_spec["images"]), resolve(val_spec["labels"]), val_tf,
                               reduce_zero_label=rzl, seed=seed) if val_spec else None)
        names = _class_names(spec, labels)
        overrides = dict(head_overrides)
        if names and "num_classes" not in overrides:
            overrides.update(num_classes=len(names), class_names=names)
        return cls(train, val, batch_size, head_config_from_dict(cls.task, overrides), seed,
                   rank, world)

    def collate(self, samples, device):
        seg = torch.stack([torch.as_tensor(s["semantic"]).long() for s in samples]).to(device)
        return stack_images(samples, device), {"seg": seg}

    @torch.no_grad()
    def evaluate(self, model, device, max_images):
        acc = SegmentationAccumulator(self.head_config.num_classes)
        head = model.heads[self.task]
        for batch in self.val_batches(max_images):
            images, targets = self.collate(batch, device)
            outputs = model(images, tasks=[self.task])[self.task]
            pred = head.predict(outputs, size=tuple(targets["seg"].shape[-2:]))
            acc.update(pred.cpu(), targets["seg"].cpu())
        m = acc.compute().as_dict()
        return {k: v for k, v in m.items() if not isinstance(v, (list, tuple, dict))}
