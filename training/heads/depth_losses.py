"""Depth losses on the log-depth residual: scale-invariant log (SILog) and MiDaS's
multi-scale gradient matching.

Both take ``r = log(pred) − log(gt)`` and a validity mask (gt > 0), so invalid pixels
never enter a sum, and both are computed in float32.
"""

from __future__ import annotations

import torch

from ._dist import global_mean

_EPS_DEPTH = 1e-6  # predicted depths are clamped here before the log


def log_residual(pred: torch.Tensor, target: torch.Tensor,
                 valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``log(pred) − log(target)`` on valid pixels, 0 elsewhere.

    Args:
        pred: (B, H, W) predicted depth, metres.
        target: (B, H, W) ground-truth depth, metres; ≤ 0 or non-finite means unknown.
        valid: optional (B, H, W) bool mask ANDed with ``target > 0``.

    Returns:
        ``(residual, mask)``: (B, H, W) float32 and (B, H, W) bool.
    """
    pred, target = pred.float(), target.float()
    mask = torch.isfinite(target) & (target > 0)
    if valid is not None:
        mask = mask & valid.bool()
    # torch.where before the log: log(0)·0 would still be NaN in the sums.
    safe_target = torch.where(mask, target, torch.ones_like(target))
    r = torch.log(pred.clamp_min(_EPS_DEPTH)) - torch.log(safe_target)
    return torch.where(mask, r, torch.zeros_like(r)), mask


def silog_loss(residual: torch.Tensor, mask: torch.Tensor, lam: float = 0.85,
               scale: float = 10.0) -> torch.Tensor:
    """Scale-invariant log loss (Eigen et al. 2014; BTS/AdaBins form).

    Per image, over its valid pixels: ``scale · sqrt(mean(r²) − λ·mean(r)²)``, averaged
    over the images that have valid pixels. Per image (BTS pools the whole batch) because
    each image carries its own global scale ambiguity. For ``pred = k·gt`` the residual
    is ``log k`` everywhere and the loss is ``scale · sqrt(1 − λ) · |log k|``: λ = 1 would
    be fully scale invariant, λ = 0.85 keeps some pressure on absolute scale.

    Args:
        residual: (B, H, W) from :func:`log_residual`.
        mask: (B, H, W) valid pixels.
        lam: the variance/mean trade-off λ.
        scale: output multiplier (10 in BTS and AdaBins).

    Returns:
        Scalar loss (0, still attached to the graph, when no pixel is valid).
    """
    m = mask.float()
    n = m.sum((-2, -1))
    has = n > 0
    if not has.any():
        return residual.sum() * 0.0
    n = n.clamp_min(1.0)
    mean = (residual * m).sum((-2, -1)) / n
    mean_sq = (residual.pow(2) * m).sum((-2, -1)) / n
    per_image = scale * torch.sqrt((mean_sq - lam * mean.pow(2)).clamp_min(1e-8))
    return per_image[has].mean()


def gradient_matching_loss(residual: torch.Tensor, mask: torch.Tensor,
                           scales: int = 4) -> torch.Tensor:
    """Multi-scale gradient matching (Ranftl et al., MiDaS) on the log-depth residual.

    At each scale s (the maps subsampled by 2^s, as MiDaS does), the sum of
    ``|∂x r| + |∂y r|`` over pixel pairs that are both valid, divided by the number of
    valid pixels of the batch (averaged over data-parallel ranks, so splitting a batch
    over processes does not change it); summed over scales. On log depth it vanishes exactly when
    ``pred = k·gt`` for any k > 0: it asks for the right relative structure (edges,
    slopes) and leaves the global scale to SILog.

    Args:
        residual: (B, H, W) from :func:`log_residual`.
        mask: (B, H, W) valid pixels.
        scales: number of scales (4 in MiDaS).

    Returns:
        Scalar loss (0, still attached to the graph, when no pixel is valid).
    """
    total = residual.sum() * 0.0
    for s in range(scales):
        step = 2 ** s
        r, m = residual[:, ::step, ::step], mask[:, ::step, ::step].float()
        count = global_mean(m.sum(), m.device)  # averaged over ranks (≥ 1)
        mx = m[:, :, 1:] * m[:, :, :-1]
        my = m[:, 1:, :] * m[:, :-1, :]
        gx = (r[:, :, 1:] - r[:, :, :-1]).abs() * mx
        gy = (r[:, 1:, :] - r[:, :-1, :]).abs() * my
        total = total + (gx.sum() + gy.sum()) / count
    return total
