"""``det`` and ``inst``: the one-stage anchor-free dense head (GFL-style, ATSS-assigned).

Per level (strides 8/16/32 by default) two towers of 3×3 conv + GroupNorm + ReLU, whose
weights are shared across levels (FCOS/ATSS): the classification tower predicts C
logits per point, the box tower the distances to the four box edges and, for ``inst``,
K mask coefficients. A learnable scale per level multiplies the box logits before the
ReLU, and the graph multiplies by the stride, so ``box_ltrb`` is in input pixels.

Quality: no separate centerness/IoU branch. The classification score is trained with
Quality Focal Loss towards the IoU of the predicted box (GFL, Li et al. 2020), so one
sigmoid is both the class confidence and the localisation quality. Compared with a
centerness branch multiplied in at test time this removes the train/test inconsistency
(centerness is never trained on negatives, yet multiplies their scores at inference),
and it leaves the runtime one output fewer to read.

Raw outputs (the export contract), N = Σ_levels h·w, level-major then row-major, points
as :func:`.points.anchor_points`:

* ``cls_logits`` (B, N, C): class logits (score = sigmoid);
* ``box_ltrb`` (B, N, 4): non-negative distances to left, top, right, bottom, input pixels;
* ``inst`` also: ``mask_coeffs`` (B, N, K) in [-1, 1] (tanh) and ``protos``
  (B, K, H/4, W/4) non-negative.

In training mode the dict also holds ``anchor_points`` (N, 3): x, y, stride (not exported;
the loss needs the input size, which the flat outputs do not carry).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._blocks import ConvNormAct
from .._registry import register_head
from ..base import Features, TaskHead
from .config import DetHeadConfig, InstHeadConfig
from .criterion import assign_batch, detection_losses, instance_mask_losses
from .points import anchor_points as _numpy_anchor_points
from .postprocess import postprocess_detections
from .protonet import ProtoNet

_LEVEL_OF_STRIDE = {4: 0, 8: 1, 16: 2, 32: 3}
_PRIOR_PROB = 0.01   # initial foreground probability (RetinaNet): stable focal-type loss
_BOX_BIAS = 2.0      # initial ltrb = 2 strides: boxes start 4 strides wide, in ReLU's live zone


def _flatten(x: torch.Tensor) -> torch.Tensor:
    """(B, D, h, w) → (B, h·w, D)."""
    return x.flatten(2).transpose(1, 2)


def _tower(cin: int, channels: int, num_convs: int) -> nn.Sequential:
    return nn.Sequential(*[ConvNormAct(cin if i == 0 else channels, channels, 3)
                           for i in range(num_convs)])


class DenseHead(TaskHead):
    """Shared implementation of the ``det`` and ``inst`` heads.

    Args:
        cfg: the head config.
        in_channels: channels of the backbone maps.

    Raises:
        ValueError: on a bad stride or class_names length.
    """

    with_masks = False
    decoder_kind = "dense_detection"

    def __init__(self, cfg: DetHeadConfig, in_channels: int) -> None:
        super().__init__()
        if cfg.class_names and len(cfg.class_names) != cfg.num_classes:
            raise ValueError("class_names must have num_classes entries")
        bad = [s for s in cfg.strides if s not in _LEVEL_OF_STRIDE]
        if bad or not cfg.strides or list(cfg.strides) != sorted(set(cfg.strides)):
            raise ValueError("strides must be an increasing subset of (4, 8, 16, 32), "
                             f"got {cfg.strides}")
        self.cfg, self.in_channels = cfg, in_channels
        width = cfg.channels if cfg.num_convs > 0 else in_channels
        self.cls_tower = _tower(in_channels, cfg.channels, cfg.num_convs)
        self.box_tower = _tower(in_channels, cfg.channels, cfg.num_convs)
        self.cls_pred = nn.Conv2d(width, cfg.num_classes, 3, padding=1)
        self.box_pred = nn.Conv2d(width, 4, 3, padding=1)
        self.box_scales = nn.Parameter(torch.ones(len(cfg.strides)))
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.constant_(self.cls_pred.bias, -math.log((1 - _PRIOR_PROB) / _PRIOR_PROB))
        nn.init.constant_(self.box_pred.bias, _BOX_BIAS)

    # ------------------------------------------------------------------ forward
    def _level_outputs(self, x: torch.Tensor, level: int) -> dict[str, torch.Tensor]:
        box_feat = self.box_tower(x)
        ltrb = F.relu(self.box_pred(box_feat) * self.box_scales[level]) * self.cfg.strides[level]
        return {"cls_logits": _flatten(self.cls_pred(self.cls_tower(x))),
                "box_ltrb": _flatten(ltrb), **self._box_branch_outputs(box_feat)}

    def _box_branch_outputs(self, box_feat: torch.Tensor) -> dict[str, torch.Tensor]:
        return {}

    def _image_outputs(self, feats: Features) -> dict[str, torch.Tensor]:
        return {}

    def forward(self, feats: Features) -> dict[str, torch.Tensor]:
        levels = [self._level_outputs(feats[_LEVEL_OF_STRIDE[s]], i)
                  for i, s in enumerate(self.cfg.strides)]
        out = {k: torch.cat([lv[k] for lv in levels], dim=1) for k in levels[0]}
        out.update(self._image_outputs(feats))
        if self.training:
            f = feats[_LEVEL_OF_STRIDE[self.cfg.strides[0]]]
            size = (f.shape[-2] * self.cfg.strides[0], f.shape[-1] * self.cfg.strides[0])
            out["anchor_points"] = self.anchor_points(size, f.device)
        return out

    def anchor_points(self, input_hw: tuple[int, int], device: Any = None) -> torch.Tensor:
        """(N, 3) float32 points (x, y, stride) for an input of ``input_hw`` pixels."""
        points, strides = _numpy_anchor_points(input_hw, self.cfg.strides)
        return torch.from_numpy(np.concatenate([points, strides[:, None]], 1)).to(device)

    # ------------------------------------------------------------------ training
    def loss(self, outputs: dict[str, torch.Tensor],
             targets: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Weighted QFL + GIoU (+ mask BCE + dice); targets as :mod:`.criterion`.

        ``outputs`` must come from training mode (they carry ``anchor_points``), or
        ``targets["input_size"]`` must give the input (height, width).
        """
        pts = outputs.get("anchor_points")
        if pts is None:
            if "input_size" not in targets:
                raise KeyError("eval-mode outputs need targets['input_size'] = (H, W)")
            pts = self.anchor_points(tuple(targets["input_size"]), outputs["box_ltrb"].device)
        points, point_strides = pts[:, :2], pts[:, 2]
        assigns = assign_batch(self.cfg, points, point_strides, targets)
        parts = detection_losses(self.cfg, outputs, points, assigns)
        total = self.cfg.cls_weight * parts["loss_cls"] + self.cfg.box_weight * parts["loss_box"]
        if self.with_masks:
            masks = instance_mask_losses(self.cfg, outputs, assigns, targets["masks"])
            parts.update(masks)
            total = total + (self.cfg.mask_weight * masks["loss_mask"]
                             + self.cfg.dice_weight * masks["loss_dice"])
        return {"loss": total, **{k: v.detach() for k, v in parts.items()}}

    # ------------------------------------------------------------------ inference
    def postprocess_params(self) -> dict[str, Any]:
        """The config's post-processing settings, as keyword arguments of
        :func:`.postprocess.postprocess_detections` (what the bundle stores)."""
        c = self.cfg
        params = {"score_threshold": c.score_threshold, "iou_threshold": c.iou_threshold,
                  "pre_nms_topk": c.pre_nms_topk, "max_detections": c.max_detections,
                  "class_agnostic": c.class_agnostic}
        if self.with_masks:
            params["mask_threshold"] = c.mask_threshold
        return params

    def runtime_entry(self) -> dict[str, Any]:
        return {"postprocess": {**self.postprocess_params(), "strides": list(self.cfg.strides)}}

    def predict(self, outputs: dict[str, torch.Tensor], input_size: tuple[int, int] | None = None,
                transforms: list[Any] | None = None, **_: Any) -> list[dict[str, np.ndarray]]:
        """Reference post-processing of every image (:func:`.postprocess.postprocess_detections`).

        Args:
            outputs: the raw outputs.
            input_size: the input (height, width); inferred from ``protos`` for ``inst``
                or from training-mode ``anchor_points`` when omitted.
            transforms: per-image :class:`.letterbox.Letterbox` (default: identity).

        Returns:
            Per image a dict with ``boxes`` (D, 4) xyxy float32 image pixels, ``scores``,
            ``labels`` int64 (and ``masks`` (D, H, W) bool for ``inst``).
        """
        input_size = input_size or self._infer_input_size(outputs)
        arrays = {k: v.detach().float().cpu().numpy() for k, v in outputs.items()
                  if k != "anchor_points"}
        results = []
        for b in range(arrays["cls_logits"].shape[0]):
            extra = ({"mask_coeffs": arrays["mask_coeffs"][b], "protos": arrays["protos"][b]}
                     if self.with_masks else {})
            results.append(postprocess_detections(
                arrays["cls_logits"][b], arrays["box_ltrb"][b], input_size, self.cfg.strides,
                transform=transforms[b] if transforms else None, **extra,
                **self.postprocess_params()))
        return results

    def _infer_input_size(self, outputs: dict[str, torch.Tensor]) -> tuple[int, int]:
        if "protos" in outputs:
            return outputs["protos"].shape[-2] * 4, outputs["protos"].shape[-1] * 4
        if "anchor_points" in outputs:
            pts = outputs["anchor_points"]
            s = pts[:, 2].max()
            return int(pts[-1, 1] + s / 2), int(pts[-1, 0] + s / 2)
        raise ValueError("predict() needs input_size for det outputs from eval mode")


@register_head("det", DetHeadConfig)
class DetHead(DenseHead):
    """``det``: boxes only."""


@register_head("inst", InstHeadConfig)
class InstHead(DenseHead):
    """``inst``: boxes plus YOLACT-style masks (prototypes + per-point coefficients)."""

    with_masks = True
    decoder_kind = "prototype_masks"

    def __init__(self, cfg: InstHeadConfig, in_channels: int) -> None:
        super().__init__(cfg, in_channels)
        width = cfg.channels if cfg.num_convs > 0 else in_channels
        self.coeff_pred = nn.Conv2d(width, cfg.num_protos, 3, padding=1)
        self.protonet = ProtoNet(in_channels, cfg.proto_channels, cfg.proto_convs, cfg.num_protos)
        nn.init.normal_(self.coeff_pred.weight, std=0.01)
        nn.init.zeros_(self.coeff_pred.bias)

    def _box_branch_outputs(self, box_feat: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"mask_coeffs": _flatten(torch.tanh(self.coeff_pred(box_feat)))}

    def _image_outputs(self, feats: Features) -> dict[str, torch.Tensor]:
        return {"protos": self.protonet(feats[0], feats[1])}
