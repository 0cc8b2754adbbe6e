"""The dense ``det`` / ``inst`` head: shapes, assignment, losses, reference decoding + NMS."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cv2 = pytest.importorskip("cv2")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from argus_edge.training.heads import build_head, head_config_from_dict  # noqa: E402
from argus_edge.training.heads.dense import (  # noqa: E402
    DetHeadConfig,
    InstHeadConfig,
    Letterbox,
    anchor_points,
    assemble_mask_logits,
    atss_assign,
    batched_nms,
    nms,
    nms_bruteforce,
    paste_masks,
    postprocess_detections,
)
from argus_edge.training.heads.dense.protonet import (  # noqa: E402
    assemble_mask_logits as torch_assemble,
)

C = 96            # argus_tiny embed dim
H, W = 64, 96     # input size
STRIDES = (8, 16, 32)
N = sum((H // s) * (W // s) for s in STRIDES)


def _feats(batch: int = 2, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, C, H // s, W // s, generator=g) for s in (4, 8, 16, 32)]


def _head(task: str, **kw):
    torch.manual_seed(0)
    cfg = (DetHeadConfig if task == "det" else InstHeadConfig)(num_classes=3, channels=64, **kw)
    return build_head(task, cfg, C)


def _targets(with_masks: bool = False) -> dict:
    boxes = torch.tensor([[8.0, 12.0, 40.0, 52.0], [48.0, 8.0, 88.0, 32.0]])
    t = {"boxes": [boxes], "labels": [torch.tensor([0, 2])]}
    if with_masks:
        m = torch.zeros(2, H, W, dtype=torch.bool)
        m[0, 12:52, 8:40] = True
        m[1, 8:32, 48:88] = True
        m[1, 8:16, 48:60] = False  # not a plain rectangle
        t["masks"] = [m]
    return t


# ---------------------------------------------------------------------- forward / config
@pytest.mark.parametrize("task", ["det", "inst"])
def test_forward_shapes_and_output_contract(task):
    head = _head(task).eval()
    with torch.no_grad():
        out = head(_feats())
    expected = {"cls_logits": (2, N, 3), "box_ltrb": (2, N, 4)}
    if task == "inst":
        expected |= {"mask_coeffs": (2, N, 32), "protos": (2, 32, H // 4, W // 4)}
    assert {k: tuple(v.shape) for k, v in out.items()} == expected
    assert head.output_names() == list(expected)
    assert (out["box_ltrb"] >= 0).all()
    if task == "inst":
        assert out["mask_coeffs"].abs().max() <= 1 and (out["protos"] >= 0).all()
    head.train()
    pts = head(_feats())["anchor_points"]
    ref, strides = anchor_points((H, W), STRIDES)
    assert torch.equal(pts, torch.from_numpy(np.concatenate([ref, strides[:, None]], 1)))


def test_anchor_points_order_and_centres():
    pts, strides = anchor_points((64, 96), (8, 32))
    assert pts.shape == (8 * 12 + 2 * 3, 2) and pts.dtype == np.float32
    np.testing.assert_array_equal(pts[:2], [[4, 4], [12, 4]])        # row-major
    np.testing.assert_array_equal(pts[12], [4, 12])                  # next row
    np.testing.assert_array_equal(pts[96], [16, 16])                 # next level
    np.testing.assert_array_equal(strides[95:97], [8, 32])
    with pytest.raises(ValueError, match="multiple"):
        anchor_points((60, 96), (8,))


def test_configs_round_trip_and_registry():
    for task, cls in [("det", DetHeadConfig), ("inst", InstHeadConfig)]:
        cfg = cls(num_classes=2, class_names=("a", "b"), strides=(8, 16))
        assert head_config_from_dict(task, dataclasses.asdict(cfg)) == cfg
    assert _head("det").task == "det" and _head("inst").task == "inst"
    with pytest.raises(ValueError, match="strides"):
        build_head("det", DetHeadConfig(strides=(8, 64)), C)


# ---------------------------------------------------------------------- assignment
def _assign(boxes, labels=None, iscrowd=None, hw=(256, 256), levels=STRIDES):
    pts, strides = anchor_points(hw, levels)
    counts = [(hw[0] // s) * (hw[1] // s) for s in levels]
    boxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    labels = torch.zeros(len(boxes), dtype=torch.long) if labels is None else torch.tensor(labels)
    crowd = None if iscrowd is None else torch.tensor(iscrowd)
    a = atss_assign(torch.from_numpy(pts), torch.from_numpy(strides), counts, boxes, labels,
                    num_classes=3, iscrowd=crowd)
    return a, pts, strides


def test_atss_picks_the_level_matching_the_object_size():
    small, large = [100.0, 100.0, 132.0, 132.0], [20.0, 20.0, 236.0, 236.0]
    a, pts, strides = _assign([small, large], labels=[1, 2])
    pos = a.positive.numpy()
    for i, box in enumerate((small, large)):
        mine = pos & (a.gt_index.numpy() == i)
        assert mine.sum() >= 1
        p = pts[mine]
        assert ((p > box[:2]) & (p < box[2:])).all()
        np.testing.assert_array_equal(a.labels.numpy()[mine], i + 1)
        np.testing.assert_array_equal(a.box_targets.numpy()[mine], np.tile(box, (mine.sum(), 1)))
    assert set(strides[pos & (a.gt_index.numpy() == 0)]) == {8}
    assert np.median(strides[pos & (a.gt_index.numpy() == 1)]) == 32
    assert (a.labels.numpy()[~pos] == 3).all() and not a.ignore.any()


def test_a_stride_4_level_gives_small_objects_more_positives():
    # an 11x10 px object in a 128x128 input (the synthetic set's small shapes) is far
    # smaller than the 64-px anchor of stride 8: one positive; a stride-4 level
    # (32-px anchors) gives it several, all on that level
    small = [20.0, 30.0, 31.0, 40.0]
    coarse, _, _ = _assign([small], hw=(128, 128), levels=(8, 16, 32))
    fine, _, strides = _assign([small], hw=(128, 128), levels=(4, 8, 16, 32))
    assert int(coarse.positive.sum()) <= 2
    assert int(fine.positive.sum()) >= 4
    assert set(strides[fine.positive.numpy()]) == {4}


def test_crowd_boxes_make_no_positives_and_are_ignored():
    crowd, normal = [0.0, 0.0, 128.0, 128.0], [40.0, 40.0, 80.0, 80.0]
    a, pts, _ = _assign([crowd, normal], iscrowd=[True, False])
    pos, ign = a.positive.numpy(), a.ignore.numpy()
    assert pos.any() and (a.gt_index.numpy()[pos] == 1).all()
    inside = (pts[:, 0] < 128) & (pts[:, 1] < 128)
    np.testing.assert_array_equal(ign, inside & ~pos)
    a, _, _ = _assign([crowd], iscrowd=[True])
    assert not a.positive.any() and a.ignore.sum() == inside.sum()


def test_no_ground_truth_and_degenerate_boxes_give_only_negatives():
    for boxes in ([], [[50.0, 50.0, 50.0, 90.0]]):
        a, _, _ = _assign(boxes)
        assert not a.positive.any() and (a.labels == 3).all()
    head = _head("inst").train()
    out = head(_feats(1))
    t = {"boxes": [torch.zeros(0, 4)], "labels": [torch.zeros(0, dtype=torch.long)],
         "masks": [torch.zeros(0, H, W, dtype=torch.bool)]}
    losses = head.loss(out, t)
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses["loss_box"] == 0 and losses["loss_mask"] == 0 and losses["loss_cls"] > 0
    losses["loss"].backward()
    grads = [p.grad for p in head.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


# ---------------------------------------------------------------------- losses / training
def test_loss_on_eval_outputs_needs_and_uses_the_input_size():
    head, feats, targets = _head("inst"), _feats(1), _targets(with_masks=True)
    torch.manual_seed(0)
    train_losses = head.train().loss(head(feats), targets)
    with torch.no_grad():
        out = head.eval()(feats)
    with pytest.raises(KeyError, match="input_size"):
        head.loss(out, targets)
    torch.manual_seed(0)
    eval_losses = head.loss(out, {**targets, "input_size": (H, W)})
    for k in ("loss", "loss_cls", "loss_box", "loss_mask", "loss_dice"):
        torch.testing.assert_close(eval_losses[k], train_losses[k].detach())


@pytest.mark.parametrize("task", ["det", "inst"])
def test_loss_decreases_when_overfitting_one_image(task):
    extra = {"num_protos": 16, "proto_channels": 32} if task == "inst" else {}
    head = _head(task, **extra).train()
    feats, targets = _feats(1, seed=1), _targets(task == "inst")
    opt = torch.optim.Adam(head.parameters(), lr=1e-3)
    history = []
    for _ in range(30):
        losses = head.loss(head(feats), targets)
        opt.zero_grad()
        losses["loss"].backward()
        opt.step()
        history.append({k: v.item() for k, v in losses.items()})
    assert all(math.isfinite(v) for h in history for v in h.values())
    assert history[-1]["loss"] < 0.3 * history[0]["loss"]
    head.eval()
    with torch.no_grad():
        pred = head.predict(head(feats), input_size=(H, W))[0]
    gt = targets["boxes"][0].numpy()
    for box, label in zip(gt, (0, 2)):  # each object found with its class
        hit = (pred["labels"] == label) & (_iou_np(pred["boxes"], box) > 0.7)
        assert hit.any() and pred["scores"][hit].max() > 0.5
    if task == "inst":
        best = int(np.flatnonzero((pred["labels"] == 2))[0])
        gt_mask = targets["masks"][0][1].numpy()
        inter = (pred["masks"][best] & gt_mask).sum()
        assert inter / (pred["masks"][best] | gt_mask).sum() > 0.7


def _iou_np(boxes, box):
    lt = np.maximum(boxes[:, :2], box[:2])
    rb = np.minimum(boxes[:, 2:], box[2:])
    inter = np.clip(rb - lt, 0, None).prod(1)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / (area(boxes) + area(box) - inter)


# ---------------------------------------------------------------------- NMS
coord = st.integers(0, 12).map(float)
box_st = st.tuples(coord, coord, st.integers(0, 6), st.integers(0, 6)).map(
    lambda t: [t[0], t[1], t[0] + t[2], t[1] + t[3]])  # widths 0 allowed: degenerate boxes
score_st = st.sampled_from([0.1, 0.5, 0.5, 0.7, 0.9])  # many ties


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(box_st, score_st, st.integers(0, 2)), max_size=25),
       st.sampled_from([0.0, 0.3, 0.5, 0.7]))
def test_nms_matches_bruteforce(items, thr):
    boxes = np.array([b for b, _, _ in items], np.float32).reshape(-1, 4)
    scores = np.array([s for _, s, _ in items], np.float32)
    labels = np.array([c for _, _, c in items], np.int64)
    np.testing.assert_array_equal(nms(boxes, scores, thr), nms_bruteforce(boxes, scores, thr))
    np.testing.assert_array_equal(batched_nms(boxes, scores, labels, thr, class_agnostic=True),
                                  nms_bruteforce(boxes, scores, thr))
    np.testing.assert_array_equal(batched_nms(boxes, scores, labels, thr),
                                  nms_bruteforce(boxes, scores, thr, labels))


def test_nms_matches_opencv_on_tie_free_boxes():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 60))
        xy = rng.uniform(0, 100, (n, 2))
        wh = rng.uniform(5, 40, (n, 2))
        boxes = np.concatenate([xy, xy + wh], 1).astype(np.float32)
        scores = rng.permutation(n).astype(np.float32) / n + 0.01
        thr = float(rng.uniform(0.2, 0.8))
        ref = cv2.dnn.NMSBoxes(np.concatenate([xy, wh], 1).tolist(), scores.tolist(), 0.0, thr)
        assert set(nms(boxes, scores, thr).tolist()) == set(np.asarray(ref).reshape(-1).tolist())


# ---------------------------------------------------------------------- decoding
def _decode_bruteforce(cls_logits, ltrb, hw, thr, topk, iou, max_det, agnostic):
    pts, _ = anchor_points(hw, STRIDES)
    cand = []
    for i in range(cls_logits.shape[0]):
        for c in range(cls_logits.shape[1]):
            s = 1 / (1 + math.exp(-float(cls_logits[i, c])))
            if s > thr:
                x, y = pts[i]
                l, t, r, b = (float(v) for v in ltrb[i])
                box = [min(max(x - l, 0), hw[1]), min(max(y - t, 0), hw[0]),
                       min(max(x + r, 0), hw[1]), min(max(y + b, 0), hw[0])]
                cand.append((-s, i * cls_logits.shape[1] + c, box, c, s))
    cand = sorted(cand, key=lambda z: (z[0], z[1]))[:topk]
    boxes = np.array([z[2] for z in cand], np.float32).reshape(-1, 4)
    scores = np.array([z[4] for z in cand])
    labels = np.array([z[3] for z in cand], np.int64)
    keep = nms_bruteforce(boxes, scores, iou, None if agnostic else labels)[:max_det]
    return boxes[keep], scores[keep], labels[keep]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.booleans(), st.sampled_from([5, 40, 1000]),
       st.sampled_from([3, 100]))
def test_postprocess_matches_bruteforce(seed, agnostic, topk, max_det):
    rng = np.random.default_rng(seed)
    hw = (32, 64)
    n = sum((hw[0] // s) * (hw[1] // s) for s in STRIDES)
    logits = rng.integers(-8, 8, (n, 3)).astype(np.float32) / 2  # ties in scores
    ltrb = rng.integers(0, 5, (n, 4)).astype(np.float32) * 4      # zero-size boxes too
    out = postprocess_detections(logits, ltrb, hw, STRIDES, score_threshold=0.3,
                                 iou_threshold=0.5, pre_nms_topk=topk,
                                 max_detections=max_det, class_agnostic=agnostic)
    boxes, scores, labels = _decode_bruteforce(logits, ltrb, hw, 0.3, topk, 0.5, max_det,
                                               agnostic)
    np.testing.assert_allclose(out["boxes"], boxes, atol=1e-5)
    np.testing.assert_allclose(out["scores"], scores, rtol=1e-6)
    np.testing.assert_array_equal(out["labels"], labels)


def test_postprocess_empty_input():
    out = postprocess_detections(np.full((N, 3), -20, np.float32), np.zeros((N, 4), np.float32),
                                 (H, W), STRIDES, mask_coeffs=np.zeros((N, 4), np.float32),
                                 protos=np.zeros((4, H // 4, W // 4), np.float32))
    assert out["boxes"].shape == (0, 4) and out["scores"].shape == (0,)
    assert out["labels"].dtype == np.int64 and out["masks"].shape == (0, H, W)


def test_letterbox_maps_boxes_and_masks_back_to_the_image():
    tf = Letterbox.fit((50, 150), (H, W))  # scale 0.64, 16 px padding above and below
    assert tf.scale_x == tf.scale_y == pytest.approx(0.64) and tf.offset_y == pytest.approx(16)
    image_box = np.array([30.0, 10.0, 90.0, 40.0])
    input_box = image_box * 0.64 + np.array([0, 16, 0, 16])
    pts, _ = anchor_points((H, W), STRIDES)
    i = 8 * 12 // 2 + 5                               # a stride-8 point inside the box
    logits = np.full((N, 3), -10, np.float32)
    logits[i, 1] = 3.0
    ltrb = np.zeros((N, 4), np.float32)
    ltrb[i] = [pts[i, 0] - input_box[0], pts[i, 1] - input_box[1],
               input_box[2] - pts[i, 0], input_box[3] - pts[i, 1]]
    protos = np.ones((1, H // 4, W // 4), np.float32)  # mask = whole box
    out = postprocess_detections(logits, ltrb, (H, W), STRIDES, transform=tf,
                                 mask_coeffs=np.ones((N, 1), np.float32), protos=protos)
    np.testing.assert_allclose(out["boxes"], [image_box], atol=1e-4)
    np.testing.assert_array_equal(out["labels"], [1])
    expected = np.zeros((50, 150), bool)
    expected[10:40, 30:90] = True
    np.testing.assert_array_equal(out["masks"][0], expected)


# ---------------------------------------------------------------------- masks
def test_mask_assembly_matches_a_direct_loop():
    rng = np.random.default_rng(0)
    coeffs = rng.uniform(-1, 1, (5, 4)).astype(np.float32)
    protos = rng.uniform(0, 2, (4, 6, 7)).astype(np.float32)
    loop = np.zeros((5, 6, 7))
    for p in range(5):
        for k in range(4):
            loop[p] += coeffs[p, k] * protos[k]
    np.testing.assert_allclose(assemble_mask_logits(coeffs, protos), loop, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(torch_assemble(torch.from_numpy(coeffs), torch.from_numpy(protos)),
                               loop, rtol=1e-5, atol=1e-5)


def test_mask_paste_matches_per_pixel_bilinear_sampling():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 8, 12)).astype(np.float32)  # protos of a 32×48 input
    tf = Letterbox(0.8, 0.8, 2.0, 4.0, 57, 30)
    boxes = np.array([[3.2, 2.7, 40.1, 25.5], [0.0, 0.0, 57.0, 30.0]], np.float32)
    out = paste_masks(logits, boxes, tf, mask_threshold=0.6)
    cut = math.log(0.6 / 0.4)
    for p in range(2):
        for r in range(30):
            for c in range(57):
                cx, cy = c + 0.5, r + 0.5
                inside = boxes[p, 0] <= cx < boxes[p, 2] and boxes[p, 1] <= cy < boxes[p, 3]
                u = min(max((cx * 0.8 + 2.0) / 4 - 0.5, 0), 11)
                v = min(max((cy * 0.8 + 4.0) / 4 - 0.5, 0), 7)
                x0, y0 = int(u), int(v)
                x1, y1 = min(x0 + 1, 11), min(y0 + 1, 7)
                fx, fy = u - x0, v - y0
                val = ((1 - fy) * ((1 - fx) * logits[p, y0, x0] + fx * logits[p, y0, x1])
                       + fy * ((1 - fx) * logits[p, y1, x0] + fx * logits[p, y1, x1]))
                if abs(val - cut) > 1e-4:  # skip pixels on the threshold (rounding)
                    assert out[p, r, c] == (inside and val > cut), (p, r, c)
