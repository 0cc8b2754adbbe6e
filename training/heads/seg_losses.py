"""Losses of the semantic segmentation head besides cross-entropy.

Pixel-averaged cross-entropy is dominated by whatever covers most pixels (background, in
scenes of small objects): a class that holds 1 % of the pixels contributes 1 % of the
gradient, however badly it is segmented. The Lovász-softmax loss (Berman et al., "The
Lovász-Softmax loss: A tractable surrogate for the optimization of the
intersection-over-union measure in neural networks", CVPR 2018) is the convex (Lovász)
extension of each class's Jaccard loss 1 − IoU, evaluated on the softmax probabilities:
every class present in an image counts equally, whatever its size, which is what mIoU
measures.

Computed per image over the classes present in its ground truth (Berman's
``per_image=True, classes="present"``) and returned as a *sum* over images, so that the
caller divides by the number of images averaged over data-parallel ranks and splitting a
batch over processes does not change the gradient.

OHEM cross-entropy (online hard example mining, as mmsegmentation's pixel sampler)
attacks the same imbalance from the other side: the easy pixels (mostly background, once
it is learnt) leave the average, so the cross-entropy is taken over the pixels still
wrong or unsure. Its selection is made per process (as in mmsegmentation), so with data
parallelism it is close to, not exactly, the single-process loss.
"""

from __future__ import annotations

import torch


def lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovász extension of the Jaccard loss w.r.t. sorted errors.

    Args:
        gt_sorted: (..., P) float ground-truth indicator (0/1), sorted by decreasing error
            along the last axis.

    Returns:
        (..., P) weights: ``J(1..i) − J(1..i−1)`` with ``J`` the Jaccard loss of the
        first ``i`` errors.
    """
    gts = gt_sorted.sum(dim=-1, keepdim=True)
    intersection = gts - gt_sorted.cumsum(dim=-1)
    union = gts + (1.0 - gt_sorted).cumsum(dim=-1)
    jaccard = 1.0 - intersection / union.clamp(min=1e-12)
    return torch.cat([jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], dim=-1)


def lovasz_softmax(probs: torch.Tensor, labels: torch.Tensor,
                   ignore_index: int = 255) -> torch.Tensor:
    """Per-image Lovász-softmax loss over the present classes, summed over images.

    Args:
        probs: (B, C, H, W) class probabilities (softmax of the logits).
        labels: (B, H, W) int64 labels in ``[0, C)`` or ``ignore_index``.
        ignore_index: label of pixels that do not count.

    Returns:
        Scalar: Σ_images mean_{present classes} Lovász hinge of (1 − IoU_c). An image
        without labelled pixels contributes 0.
    """
    b, c = probs.shape[:2]
    probs = probs.float().flatten(2)                      # (B, C, P)
    labels = labels.flatten(1)                            # (B, P)
    valid = (labels != ignore_index)[:, None]             # (B, 1, P)
    classes = torch.arange(c, device=labels.device)[None, :, None]
    fg = ((labels[:, None] == classes) & valid).float()   # (B, C, P)
    # ignored pixels get error 0: they sort last and their weight multiplies 0
    errors = (fg - probs).abs() * valid
    errors_sorted, order = errors.sort(dim=-1, descending=True)
    weights = lovasz_grad(fg.gather(-1, order))
    per_class = (errors_sorted * weights).sum(dim=-1)    # (B, C)
    present = fg.sum(dim=-1) > 0
    per_image = (per_class * present).sum(dim=1) / present.sum(dim=1).clamp(min=1)
    return per_image.sum()


def ohem_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, thresh: float,
                       min_kept: float, ignore_index: int = 255
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy over the hard pixels only (OHEM, as mmsegmentation's
    ``OHEMPixelSampler``): labelled pixels whose probability of the true class is below
    ``thresh``; when fewer than ``min_kept`` (a fraction of the labelled pixels) are that
    hard, the threshold rises to keep the ``min_kept`` hardest.

    Args:
        logits: (B, C, H, W) logits at label resolution.
        labels: (B, H, W) int64 labels, ``ignore_index`` for unlabelled pixels.
        thresh: probability below which a pixel counts as hard.
        min_kept: fraction of the labelled pixels kept at least, in [0, 1].
        ignore_index: label of pixels that do not count.

    Returns:
        ``(sum, count)``: the summed cross-entropy of the kept pixels and their number,
        so that the caller can normalise by a count averaged over data-parallel ranks.
    """
    logits = logits.float()
    valid = labels != ignore_index
    ce = torch.nn.functional.cross_entropy(logits, labels, ignore_index=ignore_index,
                                           reduction="none")
    with torch.no_grad():
        p_true = torch.exp(-ce)
        p_valid = p_true[valid]
        k = int(min_kept * p_valid.numel())
        limit = torch.as_tensor(thresh, device=logits.device)
        if k > 0:
            limit = torch.maximum(limit, p_valid.kthvalue(min(k, p_valid.numel())).values)
        keep = valid & (p_true <= limit)
    return (ce * keep).sum(), keep.sum()
