"""Segmentation losses besides plain cross-entropy: the Lovász-softmax loss, OHEM
cross-entropy, and the ``sem`` head options that use them."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from argus_edge.training.heads import SemHeadConfig, build_head  # noqa: E402
from argus_edge.training.heads.seg_losses import (  # noqa: E402
    lovasz_grad,
    lovasz_softmax,
    ohem_cross_entropy,
)

IGNORE = 255


def _reference(probs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Berman et al.'s per-image loop (``lovasz_softmax(per_image=True)``), summed."""
    total = torch.zeros(())
    for p, lab in zip(probs, labels):
        p, lab = p.flatten(1).t(), lab.flatten()
        keep = lab != IGNORE
        p, lab = p[keep], lab[keep]
        losses = []
        for c in range(p.shape[1]):
            fg = (lab == c).float()
            if fg.sum() == 0:
                continue
            errors, order = (fg - p[:, c]).abs().sort(descending=True)
            fg = fg[order]
            inter = fg.sum() - fg.cumsum(0)
            union = fg.sum() + (1 - fg).cumsum(0)
            jac = 1 - inter / union
            jac[1:] = jac[1:] - jac[:-1].clone()
            losses.append(errors @ jac)
        if losses:
            total = total + torch.stack(losses).mean()
    return total


def _batch(seed: int = 0, b: int = 3, c: int = 5, h: int = 7, w: int = 9):
    g = torch.Generator().manual_seed(seed)
    probs = torch.randn(b, c, h, w, generator=g).softmax(dim=1)
    labels = torch.randint(0, c, (b, h, w), generator=g)
    labels[0, :2] = IGNORE
    labels[1][labels[1] == 2] = 0  # a class absent from one image
    return probs, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lovasz_softmax_matches_the_per_image_reference(seed):
    probs, labels = _batch(seed)
    torch.testing.assert_close(lovasz_softmax(probs, labels, IGNORE), _reference(probs, labels))


def test_lovasz_of_hard_predictions_is_the_jaccard_loss():
    # on one-hot probabilities the Lovász extension equals 1 − IoU of each class
    labels = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 2]]])
    pred = torch.tensor([[[0, 1, 1, 1], [0, 0, 1, 1]]])
    probs = torch.nn.functional.one_hot(pred, 3).permute(0, 3, 1, 2).float()
    iou = {0: 3 / 4, 1: 3 / 5, 2: 0.0}
    expected = sum(1 - v for v in iou.values()) / 3
    assert float(lovasz_softmax(probs, labels)) == pytest.approx(expected)
    perfect = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).float()
    assert float(lovasz_softmax(perfect, labels)) == pytest.approx(0.0)


def test_ignored_pixels_do_not_count():
    probs, labels = _batch(3)
    changed = probs.clone()
    changed[0, :, :2] = torch.tensor([1.0, 0, 0, 0, 0])[:, None, None]  # rows 0-1 ignored
    torch.testing.assert_close(lovasz_softmax(changed, labels), lovasz_softmax(probs, labels))
    all_ignored = torch.full_like(labels, IGNORE)
    assert float(lovasz_softmax(probs, all_ignored)) == 0.0


def test_missing_a_small_class_costs_as_much_as_its_iou():
    # 4 of 64 pixels belong to class 1 and are all predicted as background: 6 % of the
    # pixels are wrong, but class 1 loses its whole IoU, which is half of the loss
    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    labels[0, :2, :2] = 1
    probs = torch.zeros(1, 2, 8, 8)
    probs[:, 0] = 1.0
    assert float(lovasz_softmax(probs, labels)) == pytest.approx((1 - 60 / 64 + 1.0) / 2)


def test_lovasz_grad_sums_to_the_jaccard_loss_of_all_errors():
    gt = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    # with every pixel counted as an error, the loss is J(all) = 1 − 0 / (3 + 2) = 1
    assert float(lovasz_grad(gt).sum()) == pytest.approx(1.0)


def test_the_sum_over_images_splits_over_batches():
    probs, labels = _batch(4, b=4)
    whole = lovasz_softmax(probs, labels)
    halves = lovasz_softmax(probs[:2], labels[:2]) + lovasz_softmax(probs[2:], labels[2:])
    torch.testing.assert_close(whole, halves)


@pytest.mark.parametrize("weight", [0.0, 0.5])
def test_sem_head_adds_the_lovasz_term_when_configured(weight):
    torch.manual_seed(0)
    cfg = SemHeadConfig(num_classes=4, channels=32, aux_channels=16, dropout=0.0,
                        lovasz_weight=weight)
    head = build_head("sem", cfg, 96).train()
    feats = [torch.randn(2, 96, 64 // s, 64 // s) for s in (4, 8, 16, 32)]
    seg = torch.randint(0, 4, (2, 64, 64))
    seg[:, :4] = IGNORE
    out = head(feats)
    losses = head.loss(out, {"seg": seg})
    if weight == 0:
        assert "loss_lovasz" not in losses
        torch.testing.assert_close(losses["loss"], losses["loss_ce"] + cfg.aux_weight
                                   * losses["loss_aux"])
        return
    up = torch.nn.functional.interpolate(out["logits"].float(), size=(64, 64),
                                         mode="bilinear", align_corners=False)
    expected = lovasz_softmax(up.softmax(dim=1), seg) / 2
    torch.testing.assert_close(losses["loss_lovasz"], expected.detach())
    torch.testing.assert_close(losses["loss"], losses["loss_ce"] + weight * expected
                               + cfg.aux_weight * losses["loss_aux"])
    losses["loss"].backward()
    assert head.classifier.weight.grad is not None


# ---------------------------------------------------------------------- OHEM
def _logits(seed: int = 0, b: int = 2, c: int = 4, h: int = 6, w: int = 5):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, c, h, w, generator=g) * 3
    labels = torch.randint(0, c, (b, h, w), generator=g)
    labels[0, 0] = IGNORE
    return logits, labels


def test_ohem_keeps_every_labelled_pixel_at_threshold_one():
    logits, labels = _logits()
    total, kept = ohem_cross_entropy(logits, labels, thresh=1.0, min_kept=0.0)
    ce = torch.nn.functional.cross_entropy(logits, labels, ignore_index=IGNORE,
                                           reduction="sum")
    torch.testing.assert_close(total, ce)
    assert int(kept) == int((labels != IGNORE).sum())


def test_ohem_drops_the_easy_pixels():
    logits, labels = _logits(1)
    ce = torch.nn.functional.cross_entropy(logits, labels, ignore_index=IGNORE,
                                           reduction="none")
    hard = (labels != IGNORE) & (torch.exp(-ce) <= 0.6)
    assert 0 < int(hard.sum()) < int((labels != IGNORE).sum())
    total, kept = ohem_cross_entropy(logits, labels, thresh=0.6, min_kept=0.0)
    assert int(kept) == int(hard.sum())
    torch.testing.assert_close(total, ce[hard].sum())


def test_ohem_keeps_at_least_min_kept_of_the_hardest():
    logits, labels = _logits(2)
    valid = labels != IGNORE
    ce = torch.nn.functional.cross_entropy(logits, labels, ignore_index=IGNORE,
                                           reduction="none")[valid]
    k = int(0.5 * valid.sum())
    total, kept = ohem_cross_entropy(logits, labels, thresh=1e-9, min_kept=0.5)
    assert int(kept) == k
    torch.testing.assert_close(total, ce.sort(descending=True).values[:k].sum())


def test_sem_head_ohem_option_replaces_the_main_cross_entropy():
    torch.manual_seed(0)
    kw = dict(num_classes=4, channels=32, aux_channels=16, dropout=0.0)
    plain = build_head("sem", SemHeadConfig(**kw), 96).train()
    ohem = build_head("sem", SemHeadConfig(**kw, ohem_thresh=0.7, ohem_min_kept=0.1), 96)
    ohem.load_state_dict(plain.state_dict())
    ohem.train()
    feats = [torch.randn(2, 96, 64 // s, 64 // s) for s in (4, 8, 16, 32)]
    seg = torch.randint(0, 4, (2, 64, 64))
    out = plain(feats)
    up = torch.nn.functional.interpolate(out["logits"].float(), size=(64, 64),
                                         mode="bilinear", align_corners=False)
    total, kept = ohem_cross_entropy(up, seg, 0.7, 0.1)
    got = ohem.loss(out, {"seg": seg})
    torch.testing.assert_close(got["loss_ce"], (total / kept).detach())
    torch.testing.assert_close(got["loss_aux"], plain.loss(out, {"seg": seg})["loss_aux"])
