"""``det`` / ``inst`` runner: COCO JSON → dense head; COCO box / mask AP."""

from __future__ import annotations

import json

import numpy as np
import torch

from ..data import (
    CocoDetection,
    Compose,
    Normalize,
    PhotometricJitter,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResize,
    Resize,
)
from ..evaluation import CocoAccumulator, detections_to_coco
from ..heads import DetHeadConfig, InstHeadConfig
from ..heads.dense.letterbox import Letterbox
from ._base import TaskRunner, resolve, stack_images


class DetectionRunner(TaskRunner):
    task = "det"
    with_masks = False

    @classmethod
    def build(cls, spec, val_spec, size, batch_size, head_overrides, mean, std, seed, rank,
              world, crop=None):
        crop = tuple(crop or size)
        train_tf = Compose([RandomResize((0.75, 1.25), base_size=size), RandomCrop(crop, mean=mean),
                            RandomHorizontalFlip(0.5), PhotometricJitter(p=0.8),
                            Resize(crop, "letterbox", mean), Normalize(mean, std)])
        val_tf = Compose([Resize(size, "letterbox", mean), Normalize(mean, std)])
        train = CocoDetection(resolve(spec["annotations"]), resolve(spec["images"]), train_tf,
                              with_masks=cls.with_masks, seed=seed)
        val = None
        if val_spec:
            val = CocoDetection(resolve(val_spec["annotations"]), resolve(val_spec["images"]),
                                val_tf, with_masks=False, seed=seed)
            val.annotations_path = resolve(val_spec["annotations"])
        config_cls = InstHeadConfig if cls.with_masks else DetHeadConfig
        head = config_cls(**{"num_classes": len(train.class_names),
                             "class_names": tuple(train.class_names), **head_overrides})
        runner = cls(train, val, batch_size, head, seed, rank, world)
        runner.input_size, runner.train_size = tuple(size), crop
        return runner

    def collate(self, samples, device):
        keys = ["boxes", "labels", "iscrowd"] + (["masks"] if self.with_masks else [])
        targets = {k: [torch.as_tensor(np.asarray(s[k])).to(device) for s in samples]
                   for k in keys}
        targets["labels"] = [t.long() for t in targets["labels"]]
        targets["iscrowd"] = [t.bool() for t in targets["iscrowd"]]
        targets["input_size"] = self.train_size
        return stack_images(samples, device), targets

    def _coco_results(self, head, outputs, batch) -> list[dict]:
        transforms = [Letterbox(*map(float, s["letterbox"]), int(s["orig_size"][1]),
                                int(s["orig_size"][0])) for s in batch]
        preds = head.predict(outputs, input_size=self.input_size, transforms=transforms)
        results = []
        for s, p in zip(batch, preds):
            results += detections_to_coco(int(s["image_id"]), p["boxes"], p["scores"],
                                          p["labels"], self.val_dataset.label_to_cat_id,
                                          masks=p.get("masks"))
        return results

    @torch.no_grad()
    def evaluate(self, model, device, max_images):
        gt = json.loads(self.val_dataset.annotations_path.read_text())
        accs = {"bbox": CocoAccumulator(gt, "bbox")}
        if self.with_masks:
            accs["segm"] = CocoAccumulator(gt, "segm")
        head = model.heads[self.task]
        for batch in self.val_batches(max_images):
            images = stack_images(batch, device)
            outputs = model(images, tasks=[self.task])[self.task]
            results = self._coco_results(head, outputs, batch)
            ids = [int(s["image_id"]) for s in batch]
            accs["bbox"].update([{k: v for k, v in r.items() if k != "segmentation"}
                                 for r in results], ids)
            if "segm" in accs:
                accs["segm"].update(results, ids)
        out = {f"box_{k}": v for k, v in accs["bbox"].compute().as_dict().items()}
        if "segm" in accs:
            out.update({f"mask_{k}": v for k, v in accs["segm"].compute().as_dict().items()})
        return out


class InstanceRunner(DetectionRunner):
    task = "inst"
    with_masks = True
