"""``depth``: monocular metric depth with a DPT head.

The head predicts at stride 4 (the DPT neck's output) and :meth:`DepthHead.predict`
upsamples bilinearly to the size asked for; the loss compares at the ground truth's
resolution after the same upsampling. Keeping the exported output at stride 4 makes it
16× smaller than a full-resolution map, and the runtime's resize is the post-processing
DESIGN.md lists for depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ._registry import register_head
from .base import Features, TaskHead
from .depth_losses import gradient_matching_loss, log_residual, silog_loss
from .dpt import DPTNeck


@dataclass(frozen=True)
class DepthHeadConfig:
    """Attributes:
        features: DPT width (256 in the paper).
        max_depth: largest predictable depth, metres (10 for indoor, 80 for driving).
        init_depth: depth the untrained head predicts everywhere, metres (< max_depth).
        silog_weight: weight of the SILog loss.
        silog_lambda: SILog's λ (0.85 as in BTS/AdaBins).
        grad_weight: weight of the gradient-matching loss (0.5 as MiDaS's α).
        grad_scales: scales of the gradient-matching loss.
    """

    features: int = 256
    max_depth: float = 10.0
    init_depth: float = 2.0
    silog_weight: float = 1.0
    silog_lambda: float = 0.85
    grad_weight: float = 0.5
    grad_scales: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.init_depth < self.max_depth:
            raise ValueError(f"need 0 < init_depth ({self.init_depth}) < max_depth "
                             f"({self.max_depth})")


@register_head("depth", DepthHeadConfig)
class DepthHead(TaskHead):
    """DPT neck → 3×3 conv (F/2) → 3×3 conv (32) → 1×1 conv → ``max_depth · sigmoid``.

    ``max_depth · sigmoid(x)`` keeps depth positive and bounded. In log space it is
    ``log(max_depth) − softplus(−x)``: like ``exp`` (unit slope) well below max_depth,
    where the log-space losses get well-scaled gradients, and saturating smoothly at
    max_depth instead of overflowing.

    Outputs:
        ``depth``: (B, 1, H/4, W/4) float, metres, in (0, max_depth).
    """

    decoder_kind = "value_map"

    def runtime_entry(self) -> dict[str, Any]:
        return {"postprocess": {"max_depth": float(self.cfg.max_depth), "unit": "m",
                                "resize": "bilinear"}}

    def __init__(self, cfg: DepthHeadConfig, in_channels: int) -> None:
        super().__init__()
        self.cfg, self.in_channels = cfg, in_channels
        f = cfg.features
        self.neck = DPTNeck(in_channels, f)
        self.head = nn.Sequential(
            nn.Conv2d(f, f // 2, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(f // 2, 32, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(32, 1, 1),
        )
        final = self.head[-1]
        nn.init.normal_(final.weight, std=1e-3)
        ratio = cfg.init_depth / cfg.max_depth
        nn.init.constant_(final.bias, math.log(ratio / (1.0 - ratio)))

    def forward(self, feats: Features) -> dict[str, torch.Tensor]:
        logits = self.head(self.neck(feats))
        return {"depth": self.cfg.max_depth * torch.sigmoid(logits)}

    def loss(self, outputs: dict[str, torch.Tensor],
             targets: dict[str, Any]) -> dict[str, torch.Tensor]:
        """SILog + multi-scale gradient matching, on valid pixels at target resolution.

        Args:
            outputs: ``depth`` (B, 1, h, w).
            targets: ``depth`` (B, H, W) or (B, 1, H, W) metres, 0 where unknown;
                optional ``valid`` (same shape) bool mask.

        Returns:
            ``loss`` (weighted total), ``loss_silog`` and ``loss_grad`` (detached).
        """
        gt = torch.as_tensor(targets["depth"])
        gt = gt[:, 0] if gt.ndim == 4 else gt
        valid = targets.get("valid")
        if valid is not None:
            valid = torch.as_tensor(valid)
            valid = valid[:, 0] if valid.ndim == 4 else valid
        pred = self.upsample(outputs["depth"], gt.shape[-2:])
        residual, mask = log_residual(pred, gt.to(pred.device),
                                      None if valid is None else valid.to(pred.device))
        silog = silog_loss(residual, mask, self.cfg.silog_lambda)
        grad = gradient_matching_loss(residual, mask, self.cfg.grad_scales)
        total = self.cfg.silog_weight * silog + self.cfg.grad_weight * grad
        return {"loss": total, "loss_silog": silog.detach(), "loss_grad": grad.detach()}

    @staticmethod
    def upsample(depth: torch.Tensor, size) -> torch.Tensor:
        """(B, 1, h, w) → (B, H, W) bilinear (half-pixel centres), float32."""
        out = F.interpolate(depth.float(), size=tuple(size), mode="bilinear",
                            align_corners=False)
        return out[:, 0]

    def predict(self, outputs: dict[str, torch.Tensor],
                size: tuple[int, int] | None = None, **_: Any) -> torch.Tensor:
        """Depth maps (B, H, W) float32 in metres at ``size`` (default: ×4, the input size)."""
        depth = outputs["depth"]
        size = size or (depth.shape[-2] * 4, depth.shape[-1] * 4)
        return self.upsample(depth.detach(), size)
