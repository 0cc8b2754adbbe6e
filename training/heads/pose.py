"""``pose``: top-down heatmap pose estimation on a DPT neck.

Input: person crops (default 256×192, H×W) cut from the image with a UDP warp around the
person box padded by 1.25. Output: one heatmap per keypoint at stride 4 (64×48). Targets,
decoding and the flip test live in :mod:`.pose_codec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from ..data._coco_meta import COCO_FLIP_PAIRS, COCO_KEYPOINT_NAMES, COCO_SKELETON
from ._blocks import ConvNormAct
from ._registry import register_head
from .base import Features, TaskHead
from .dpt import DPTNeck
from .pose_codec import decode_udp_heatmaps, encode_udp_heatmaps, flip_index_from_pairs, \
    fuse_flip_test


@dataclass(frozen=True)
class PoseHeadConfig:
    """Attributes:
        num_keypoints: keypoints per person (17 for COCO).
        keypoint_names: one name per keypoint.
        skeleton: links between keypoints, 1-based as in COCO's ``skeleton`` field.
        flip_pairs: 0-based left/right pairs that a horizontal flip swaps.
        features: DPT width (256 in the paper).
        sigma: Gaussian target σ in heatmap pixels.
        heatmap_size: (h, w); must be ``input_size / 4`` (the neck's stride-4 map).
        input_size: crop size (H, W).
        blur_kernel: DARK's blur kernel size (11 for σ = 2).
        person_source: the task whose boxes the runtime crops people from.
        person_class: the class name of people in that task.
        box_padding: each person box is padded by this factor to make its crop.
    """

    num_keypoints: int = 17
    keypoint_names: tuple[str, ...] = COCO_KEYPOINT_NAMES
    skeleton: tuple[tuple[int, int], ...] = COCO_SKELETON
    flip_pairs: tuple[tuple[int, int], ...] = COCO_FLIP_PAIRS
    features: int = 256
    sigma: float = 2.0
    heatmap_size: tuple[int, int] = (64, 48)
    input_size: tuple[int, int] = (256, 192)
    blur_kernel: int = 11
    person_source: str = "det"
    person_class: str = "person"
    box_padding: float = 1.25

    def __post_init__(self) -> None:
        if self.keypoint_names and len(self.keypoint_names) != self.num_keypoints:
            raise ValueError("keypoint_names must have num_keypoints entries")
        if tuple(4 * s for s in self.heatmap_size) != tuple(self.input_size):
            raise ValueError(f"heatmap_size {self.heatmap_size} must be input_size "
                             f"{self.input_size} / 4 (the head predicts at stride 4)")
        flat = [k for pair in self.flip_pairs for k in pair]
        if len(set(flat)) != len(flat) or not all(0 <= k < self.num_keypoints for k in flat):
            raise ValueError(f"flip_pairs {self.flip_pairs} must be disjoint keypoint indices")


@register_head("pose", PoseHeadConfig)
class PoseHead(TaskHead):
    """DPT neck → 3×3 conv → 1×1 conv to one heatmap per keypoint.

    Outputs:
        ``heatmaps``: (B, K, H/4, W/4) float, unnormalised Gaussian-like peaks (target
        peak 1.0) for crops of size (H, W).
    """

    def __init__(self, cfg: PoseHeadConfig, in_channels: int) -> None:
        super().__init__()
        self.cfg, self.in_channels = cfg, in_channels
        self.neck = DPTNeck(in_channels, cfg.features)
        self.conv = ConvNormAct(cfg.features, cfg.features, 3)
        self.final = nn.Conv2d(cfg.features, cfg.num_keypoints, 1)
        nn.init.normal_(self.final.weight, std=0.001)
        nn.init.zeros_(self.final.bias)

    decoder_kind = "topdown_keypoints"

    def forward(self, feats: Features) -> dict[str, torch.Tensor]:
        return {"heatmaps": self.final(self.conv(self.neck(feats)))}

    def export_input_size(self, image_size: tuple[int, int]) -> tuple[int, int]:
        return tuple(int(v) for v in self.cfg.input_size)  # person crops

    def runtime_entry(self) -> dict[str, Any]:
        c = self.cfg
        # postprocess keeps the person source too: a format 1.0 runtime reads it there.
        return {"keypoints": list(c.keypoint_names), "skeleton": [list(p) for p in c.skeleton],
                "flip_pairs": [list(p) for p in c.flip_pairs],
                "postprocess": {"heatmap_size": list(c.heatmap_size), "box_padding": c.box_padding,
                                "codec": "udp", "refine": "dark",
                                "blur_kernel": int(c.blur_kernel), "flip_test": True,
                                "person_source": c.person_source,
                                "person_class": c.person_class},
                "needs": [{"task": c.person_source, "arrays": ["boxes", "scores", "labels"],
                           "class": c.person_class, "crop": {"padding": c.box_padding}}]}

    def loss(self, outputs: dict[str, torch.Tensor],
             targets: dict[str, Any]) -> dict[str, torch.Tensor]:
        """MSE against UDP Gaussian targets, weighted per joint.

        The mean over batch, joints and pixels of ``(w·(pred − target))²`` (mmpose's
        ``KeypointMSELoss`` with ``use_target_weight``): a zero-weight joint adds nothing.

        Args:
            outputs: ``heatmaps`` (B, K, h, w).
            targets: either ``heatmaps`` (B, K, h, w) with ``target_weights`` (B, K), or
                what :class:`~argus_edge.training.data.CocoKeypoints` batches:
                ``keypoints`` (B, K, 3) ``x, y, v`` in crop pixels and optionally
                ``keypoint_weights`` (B, K) (else ``v > 0``), encoded here.

        Returns:
            ``loss`` and ``loss_mse`` (detached).
        """
        pred = outputs["heatmaps"].float()
        target, weights = self._targets(targets, pred)
        w = weights[..., None, None]
        mse = ((pred - target) * w).pow(2).mean()
        return {"loss": mse, "loss_mse": mse.detach()}

    def _targets(self, targets: dict[str, Any], like: torch.Tensor):
        if "heatmaps" in targets:
            heatmaps = torch.as_tensor(targets["heatmaps"])
            weights = torch.as_tensor(targets["target_weights"])
        else:
            kps = torch.as_tensor(targets["keypoints"]).detach().cpu().numpy()
            vis = targets["keypoint_weights"] if "keypoint_weights" in targets else kps[..., 2]
            vis = torch.as_tensor(vis).detach().cpu().numpy()
            hm, wt = encode_udp_heatmaps(kps[..., :2], vis, self.cfg.heatmap_size,
                                         self.cfg.input_size, self.cfg.sigma)
            heatmaps, weights = torch.from_numpy(hm), torch.from_numpy(wt)
        if tuple(heatmaps.shape) != tuple(like.shape):
            raise ValueError(f"target heatmaps {tuple(heatmaps.shape)} do not match the "
                             f"predicted {tuple(like.shape)}")
        return (heatmaps.to(like.device, like.dtype), weights.to(like.device, like.dtype))

    def predict(self, outputs: dict[str, torch.Tensor], warps: np.ndarray | None = None,
                flipped_outputs: dict[str, torch.Tensor] | None = None,
                **_: Any) -> dict[str, np.ndarray]:
        """Keypoints of each crop's person (the reference decoding).

        Args:
            outputs: ``heatmaps`` (N, K, h, w) of N crops.
            warps: (N, 2, 3) image→crop affines (the samples' ``affine``); None gives
                crop pixel coordinates.
            flipped_outputs: the head's outputs on the horizontally flipped crops (flip
                test); their heatmaps are mirrored back, left/right swapped and averaged.

        Returns:
            ``keypoints`` (N, K, 2) float32 (x, y) in image pixels and ``scores`` (N, K)
            float32 heatmap maxima.
        """
        heatmaps = outputs["heatmaps"].detach().float().cpu().numpy()
        if flipped_outputs is not None:
            flipped = flipped_outputs["heatmaps"].detach().float().cpu().numpy()
            flip_index = flip_index_from_pairs(self.cfg.flip_pairs, self.cfg.num_keypoints)
            heatmaps = fuse_flip_test(heatmaps, flipped, flip_index)
        keypoints, scores = decode_udp_heatmaps(heatmaps, self.cfg.input_size, warps,
                                                self.cfg.blur_kernel)
        return {"keypoints": keypoints, "scores": scores}
