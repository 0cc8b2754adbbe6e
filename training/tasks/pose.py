"""``pose`` runner: top-down crops of COCO keypoint people → heatmap head; OKS AP.

Validation crops the ground-truth person boxes (COCO's standard top-down protocol with
GT boxes), decodes with the flip test, and maps keypoints back to the image.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import torch

from ..data import CocoKeypoints, Compose, Normalize, PhotometricJitter, RandomHorizontalFlip
from ..data.coco_keypoints import TopDownAugment
from ..evaluation import CocoAccumulator, keypoints_to_coco
from ..heads import PoseHeadConfig
from ._base import TaskRunner, resolve, stack_images


class PoseRunner(TaskRunner):
    task = "pose"

    @classmethod
    def build(cls, spec, val_spec, size, batch_size, head_overrides, mean, std, seed, rank,
              world, crop=None):
        head = PoseHeadConfig(**{"input_size": tuple(size), **head_overrides})
        h, w = head.input_size
        train_tf = Compose([RandomHorizontalFlip(0.5), PhotometricJitter(p=0.8),
                            Normalize(mean, std)])
        train = CocoKeypoints(resolve(spec["annotations"]), resolve(spec["images"]), train_tf,
                              input_size=(w, h), augment=TopDownAugment(), seed=seed)
        val = None
        if val_spec:
            val = CocoKeypoints(resolve(val_spec["annotations"]), resolve(val_spec["images"]),
                                Normalize(mean, std), input_size=(w, h), seed=seed)
            val.annotations_path = resolve(val_spec["annotations"])
        return cls(train, val, batch_size, head, seed, rank, world)

    def collate(self, samples, device):
        kps = torch.as_tensor(np.stack([s["keypoints"] for s in samples])).to(device)
        weights = torch.as_tensor(np.stack([s["keypoint_weights"] for s in samples])).to(device)
        return stack_images(samples, device), {"keypoints": kps, "keypoint_weights": weights}

    @torch.no_grad()
    def evaluate(self, model, device, max_images):
        gt = json.loads(self.val_dataset.annotations_path.read_text())
        acc = CocoAccumulator(gt, "keypoints")
        head = model.heads[self.task]
        per_image: dict[int, list] = defaultdict(list)
        for batch in self.val_batches(max_images):
            images = stack_images(batch, device)
            outputs = model(images, tasks=[self.task])[self.task]
            flipped = model(images.flip(-1), tasks=[self.task])[self.task]
            warps = np.stack([s["affine"] for s in batch])
            pred = head.predict(outputs, warps=warps, flipped_outputs=flipped)
            for s, kp, sc in zip(batch, pred["keypoints"], pred["scores"]):
                per_image[int(s["image_id"])].append((kp, sc))
        for image_id, people in per_image.items():
            kps = np.stack([np.concatenate([kp, sc[:, None]], 1) for kp, sc in people])
            scores = np.array([float(sc.mean()) for _, sc in people])
            acc.update(keypoints_to_coco(image_id, kps, scores), [image_id])
        return acc.compute().as_dict()
