"""Evaluators: COCO AP through pycocotools, mIoU, top-k, depth errors, dispatch, summary."""

from __future__ import annotations

import copy
import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

pytest.importorskip("pycocotools")
from pycocotools.coco import COCO  # noqa: E402

from argus_edge.training import evaluation as ev  # noqa: E402

H, W = 100, 120
PERSON, CAR = 1, 3  # non-contiguous ids on purpose


# --------------------------------------------------------------------------- synthetic COCO

def _rect_poly(x, y, w, h):
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def _skeleton(x, y, w, h):
    """17 keypoints spread over the box; every third one unlabelled (v = 0)."""
    kps = []
    for i in range(17):
        v = 0 if i % 3 == 2 else 2
        kx, ky = x + w * (0.2 + 0.6 * (i % 4) / 3), y + h * (0.1 + 0.8 * (i // 4) / 4)
        kps += [kx, ky, v] if v else [0, 0, 0]
    return kps


def _coco_gt(crowd: bool = True) -> dict:
    """Two images: two persons with keypoints, two cars, and a crowd region of cars."""
    images = [{"id": i, "width": W, "height": H, "file_name": f"{i}.png"} for i in (1, 2)]
    objects = [(1, PERSON, (10, 10, 40, 60)), (1, CAR, (60, 50, 50, 30)),
               (2, PERSON, (50, 20, 45, 70)), (2, CAR, (5, 60, 40, 25))]
    anns = []
    for image_id, cat, (x, y, w, h) in objects:
        ann = {"image_id": image_id, "category_id": cat, "bbox": [x, y, w, h],
               "segmentation": _rect_poly(x, y, w, h), "area": w * h, "iscrowd": 0}
        if cat == PERSON:
            ann["keypoints"] = _skeleton(x, y, w, h)
            ann["num_keypoints"] = sum(v > 0 for v in ann["keypoints"][2::3])
        anns.append(ann)
    crowd_mask = np.zeros((H, W), np.uint8)
    crowd_mask[5:45, 60:115] = 1
    flat = crowd_mask.ravel(order="F")  # uncompressed RLE, as COCO stores crowds
    edges = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    anns.append({"image_id": 2, "category_id": CAR, "bbox": [60, 5, 55, 40],
                 "segmentation": {"counts": runs, "size": [H, W]}, "area": 55 * 40,
                 "iscrowd": int(crowd)})
    for i, ann in enumerate(anns, start=1):
        ann["id"] = i
    cats = [{"id": PERSON, "name": "person", "keypoints": [f"k{i}" for i in range(17)],
             "skeleton": []}, {"id": CAR, "name": "car"}]
    return {"images": images, "annotations": anns, "categories": cats}


def _mask_of(coco: COCO, ann: dict) -> np.ndarray:
    # pycocotools' decode trips numpy 2's __array__(copy=) deprecation; not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return coco.annToMask(ann).astype(bool)


def _perfect(gt: dict, kind: str, skip_crowd: bool = True) -> list[dict]:
    coco = ev._coco_io.load_ground_truth(gt)
    out = []
    for ann in gt["annotations"]:
        if skip_crowd and ann["iscrowd"]:
            continue
        res = {"image_id": ann["image_id"], "category_id": ann["category_id"], "score": 0.9}
        if kind == "bbox":
            res["bbox"] = list(ann["bbox"])
        elif kind == "segm":
            res["segmentation"] = ev.encode_masks(_mask_of(coco, ann)[None])[0]
        elif "keypoints" in ann:
            res["keypoints"] = list(ann["keypoints"])
        else:
            continue
        out.append(res)
    return out


@pytest.fixture
def gt():
    return _coco_gt()


# --------------------------------------------------------------------------- COCO AP

@pytest.mark.parametrize("kind", ["bbox", "segm"])
def test_perfect_boxes_and_masks_score_one(gt, kind):
    m = ev.evaluate_coco(_perfect(gt, kind), gt, kind)
    assert isinstance(m, ev.CocoDetectionMetrics) and m.iou_type == kind
    d = m.as_dict()
    assert list(d) == ["AP", "AP50", "AP75", "APs", "APm", "APl",
                       "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
    for name in ("AP", "AP50", "AP75", "APs", "APm", "AR10", "AR100", "ARs", "ARm"):
        assert d[name] == pytest.approx(1.0), name
    assert math.isnan(d["APl"]) and math.isnan(d["ARl"])  # COCO's -1: no large objects


def test_perfect_keypoints_score_one(gt):
    m = ev.evaluate_keypoints(_perfect(gt, "keypoints"), gt)
    assert isinstance(m, ev.CocoKeypointMetrics)
    d = m.as_dict()
    assert list(d) == ["AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl"]
    assert d["AP"] == pytest.approx(1.0) and d["AR"] == pytest.approx(1.0)


def test_worse_keypoints_lower_ap(gt):
    preds = _perfect(gt, "keypoints")
    for p in preds:
        p["keypoints"] = [v + 6.0 if i % 3 == 0 else v for i, v in enumerate(p["keypoints"])]
    assert ev.evaluate_keypoints(preds, gt).ap < 0.9


def test_shifted_boxes_lower_ap(gt):
    preds = _perfect(gt, "bbox")
    for p in preds:
        x, y, w, h = p["bbox"]
        p["bbox"] = [x + 0.2 * w, y, w, h]  # IoU = 0.8 / 1.2 = 0.67
    m = ev.evaluate_boxes(preds, gt)
    assert m.ap50 == pytest.approx(1.0)
    assert m.ap75 == pytest.approx(0.0)
    assert 0.0 < m.ap < 0.5


@pytest.mark.parametrize("kind", ["bbox", "segm", "keypoints"])
def test_empty_predictions_score_zero(gt, kind):
    m = ev.evaluate_coco([], gt, kind)
    assert m.ap == 0.0 and m.ap50 == 0.0


def test_crowd_regions_neither_miss_nor_false_positive(gt):
    preds = _perfect(gt, "bbox")
    crowd_hits = [{"image_id": 2, "category_id": CAR, "bbox": [62 + 8 * i, 8, 10, 10],
                   "score": 0.99} for i in range(4)]
    # The crowd box was not detected (not a miss) and 4 higher-scored boxes fall in it.
    assert ev.evaluate_boxes(preds + crowd_hits, gt).ap == pytest.approx(1.0)
    not_crowd = _coco_gt(crowd=False)
    assert ev.evaluate_boxes(preds + crowd_hits, not_crowd).ap < 0.7


def test_results_and_ground_truth_not_mutated(gt):
    preds = _perfect(gt, "bbox") + _perfect(gt, "segm")
    before_preds, before_gt = copy.deepcopy(preds), copy.deepcopy(gt)
    ev.evaluate_boxes(_perfect(gt, "bbox"), gt)
    ev.evaluate_masks(preds[len(preds) // 2:], gt)
    assert preds == before_preds and gt == before_gt


def test_ground_truth_from_path_coco_object_and_minimal_dict(gt, tmp_path):
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    preds = _perfect(gt, "bbox")
    assert ev.evaluate_boxes(preds, str(path)).ap == pytest.approx(1.0)
    coco = ev._coco_io.load_ground_truth(gt)
    assert isinstance(coco, COCO) and ev.evaluate_boxes(preds, coco).ap == pytest.approx(1.0)
    bare = copy.deepcopy(gt)  # hand-built datasets often lack id / area / iscrowd
    for ann in bare["annotations"]:
        for key in ("id", "area", "num_keypoints"):
            ann.pop(key, None)
        if not isinstance(ann["segmentation"], dict):
            ann.pop("iscrowd")
    assert ev.evaluate_masks(_perfect(gt, "segm"), bare).ap == pytest.approx(1.0)
    assert ev.evaluate_keypoints(_perfect(gt, "keypoints"), bare).ap == pytest.approx(1.0)


def test_verbose_prints_and_default_is_silent(gt, capsys):
    ev.evaluate_boxes(_perfect(gt, "bbox"), gt)
    assert capsys.readouterr().out == ""
    ev.evaluate_boxes(_perfect(gt, "bbox"), gt, verbose=True)
    assert "Average Precision" in capsys.readouterr().out


def test_bad_results_raise(gt):
    with pytest.raises(ValueError, match="absent from the ground truth"):
        ev.evaluate_boxes([{"image_id": 99, "category_id": CAR, "bbox": [0, 0, 1, 1], "score": 1}], gt)
    with pytest.raises(ValueError, match="lacks"):
        ev.evaluate_masks(_perfect(gt, "bbox"), gt)
    with pytest.raises(ValueError, match="iou_type"):
        ev.evaluate_coco([], gt, "boxes")


def test_sdk_layout_conversion_round_trip(gt):
    coco = ev._coco_io.load_ground_truth(gt)
    label_map = ev.contiguous_category_ids(gt)
    assert label_map == [PERSON, CAR]
    results = []
    for image_id in (1, 2):
        anns = [a for a in gt["annotations"] if a["image_id"] == image_id and not a["iscrowd"]]
        xywh = np.array([a["bbox"] for a in anns], np.float32)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        labels = np.array([label_map.index(a["category_id"]) for a in anns])
        masks = np.stack([_mask_of(coco, a) for a in anns])
        results += ev.detections_to_coco(image_id, boxes, np.full(len(anns), 0.8), labels,
                                         label_map, masks=masks)
        persons = [a for a in anns if a["category_id"] == PERSON]
        kps = np.array([a["keypoints"] for a in persons], np.float32).reshape(-1, 17, 3)
        results_kp = ev.keypoints_to_coco(image_id, kps, np.ones(len(persons)), PERSON)
        assert len(results_kp) == 1 and len(results_kp[0]["keypoints"]) == 51
    json.dumps(results)  # RLE counts are str, values plain floats
    assert results[0]["bbox"] == pytest.approx(gt["annotations"][0]["bbox"])
    assert ev.evaluate_boxes(results, gt).ap == pytest.approx(1.0)
    assert ev.evaluate_masks(results, gt).ap == pytest.approx(1.0)
    assert ev.detections_to_coco(1, np.zeros((0, 4)), [], [], label_map,
                                 masks=np.zeros((0, H, W), bool)) == []
    with pytest.raises(ValueError, match="label map"):
        ev.detections_to_coco(1, np.zeros((1, 4)), [1.0], [5], label_map)


def test_coco_accumulator_matches_one_call_and_restricts_to_seen_images(gt):
    preds = _perfect(gt, "bbox")
    acc = ev.create_accumulator("det", ground_truth=gt)
    for image_id in (1, 2):
        acc.update([p for p in preds if p["image_id"] == image_id])
    np.testing.assert_equal(acc.compute().as_dict(), ev.evaluate_boxes(preds, gt).as_dict())
    acc.reset()
    acc.update([p for p in preds if p["image_id"] == 1], [1])
    assert acc.compute().ap == pytest.approx(1.0)  # image 2 was not visited
    acc.reset()
    acc.update([p for p in preds if p["image_id"] == 1])
    assert acc.compute().ap < 1.0  # image 2's objects count as misses


# --------------------------------------------------------------------------- segmentation

def test_miou_hand_computed_two_classes():
    target = np.array([[0, 0, 1, 1],
                       [0, 0, 1, 1]])
    pred = np.array([[0, 1, 1, 1],
                     [0, 0, 0, 1]])
    # class 0: TP 3, FP 1, FN 1 -> 3/5; class 1: TP 3, FP 1, FN 1 -> 3/5
    m = ev.evaluate_segmentation(pred, target, num_classes=2)
    np.testing.assert_allclose(m.per_class_iou, [0.6, 0.6])
    assert m.miou == pytest.approx(0.6)
    assert m.pixel_accuracy == pytest.approx(6 / 8)
    np.testing.assert_array_equal(m.confusion_matrix, [[3, 1], [1, 3]])


def test_ignore_index_and_absent_classes():
    target = np.array([[0, 0, 255, 255]], np.uint8)
    pred = np.array([[0, 2, 1, 1]], np.uint8)  # ignored pixels predicted 1: no effect
    m = ev.evaluate_segmentation(pred, target, num_classes=4)
    # class 0: 1/2; class 1 absent everywhere -> NaN, excluded; class 2 predicted only -> 0;
    # class 3 absent -> NaN.
    np.testing.assert_allclose(m.per_class_iou, [0.5, np.nan, 0.0, np.nan])
    assert m.miou == pytest.approx(0.25)
    assert m.pixel_accuracy == pytest.approx(0.5)
    assert m.as_dict()["mIoU"] == pytest.approx(0.25)


def test_segmentation_rejects_bad_labels():
    with pytest.raises(ValueError, match="outside"):
        ev.confusion_matrix(np.array([3]), np.array([0]), num_classes=3)
    with pytest.raises(ValueError, match="outside"):
        ev.confusion_matrix(np.array([0]), np.array([7]), num_classes=3)
    with pytest.raises(ValueError, match="integer"):
        ev.confusion_matrix(np.array([0.5]), np.array([0]), num_classes=3)


def _brute_force_iou(pairs, num_classes):
    tp, fp, fn = [0] * num_classes, [0] * num_classes, [0] * num_classes
    for pred, target in pairs:
        for p, t in zip(pred.ravel().tolist(), target.ravel().tolist()):
            if t == 255:
                continue
            if p == t:
                tp[t] += 1
            else:
                fp[p] += 1
                fn[t] += 1
    return [tp[c] / (tp[c] + fp[c] + fn[c]) if tp[c] + fp[c] + fn[c] else math.nan
            for c in range(num_classes)]


@st.composite
def _label_pairs(draw):
    num_classes = draw(st.integers(1, 4))
    pairs = []
    for _ in range(draw(st.integers(1, 3))):
        shape = draw(st.tuples(st.integers(1, 5), st.integers(1, 5)))
        pred = draw(hnp.arrays(np.uint8, shape, elements=st.integers(0, num_classes - 1)))
        target = draw(hnp.arrays(np.uint8, shape,
                                 elements=st.sampled_from([*range(num_classes), 255])))
        pairs.append((pred, target))
    return num_classes, pairs


@settings(max_examples=60, deadline=None)
@given(_label_pairs())
def test_miou_matches_brute_force(data):
    num_classes, pairs = data
    acc = ev.SegmentationAccumulator(num_classes)
    for pred, target in pairs:
        acc.update(pred, target)
    m = acc.compute()
    expected = _brute_force_iou(pairs, num_classes)
    np.testing.assert_allclose(m.per_class_iou, expected)
    finite = [v for v in expected if not math.isnan(v)]
    if finite:
        assert m.miou == pytest.approx(sum(finite) / len(finite))
    else:
        assert math.isnan(m.miou)


# --------------------------------------------------------------------------- classification

def test_topk_basic_logits_equal_probabilities():
    logits = np.array([[5.0, 1.0, 0.0, -1.0, -2.0, -3.0],
                       [0.0, 4.0, 3.0, 2.0, 1.0, 5.0],
                       [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]])
    labels = np.array([0, 2, 0])  # ranks 1, 3, 6
    m = ev.evaluate_classification(logits, labels)
    assert m.top1 == pytest.approx(1 / 3) and m.top5 == pytest.approx(2 / 3)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert ev.evaluate_classification(probs, labels) == m
    assert ev.topk_accuracy(logits, labels, k=6) == 1.0


def test_topk_clipped_to_num_classes():
    scores = np.array([[0.1, 0.5, 0.4]])
    assert ev.topk_accuracy(scores, [0], k=5) == 1.0
    assert ev.evaluate_classification(scores, [0]).top5 == 1.0


def test_topk_ties_give_expected_accuracy_under_random_order():
    # A constant (untrained) classifier scores chance level k / C, not 0 or 1.
    scores = np.zeros((4, 10))
    labels = np.array([0, 3, 7, 9])
    m = ev.evaluate_classification(scores, labels)
    assert m.top1 == pytest.approx(0.1) and m.top5 == pytest.approx(0.5)
    # One class strictly above, the label tied with two others: top-1 = 0, top-2 = 1/3.
    tied = np.array([[2.0, 1.0, 1.0, 1.0]])
    assert ev.topk_accuracy(tied, [1], k=1) == 0.0
    assert ev.topk_accuracy(tied, [1], k=2) == pytest.approx(1 / 3)
    assert ev.topk_accuracy(tied, [1], k=4) == 1.0


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 30), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_topk_matches_argsort_without_ties(n, c, seed):
    rng = np.random.default_rng(seed)
    scores = rng.permutation(n * c).reshape(n, c).astype(np.float64)  # distinct
    labels = rng.integers(0, c, n)
    order = np.argsort(-scores, axis=1)
    for k in (1, 2, 5):
        expected = np.mean([labels[i] in order[i, :k] for i in range(n)])
        assert ev.topk_accuracy(scores, labels, k) == pytest.approx(expected)


def test_classification_accumulator_and_errors():
    rng = np.random.default_rng(0)
    scores, labels = rng.normal(size=(20, 7)), rng.integers(0, 7, 20)
    acc = ev.ClassificationAccumulator()
    acc.update(scores[:8], labels[:8])
    acc.update(scores[8:], labels[8:])
    assert acc.compute() == ev.evaluate_classification(scores, labels)
    assert math.isnan(ev.ClassificationAccumulator().compute().top1)
    with pytest.raises(ValueError):
        ev.topk_accuracy(scores, np.full(20, 7))
    with pytest.raises(ValueError):
        ev.topk_accuracy(np.full((1, 3), np.nan), [0])


# --------------------------------------------------------------------------- depth

def _numpy_depth(pred, gt):
    ratio = np.maximum(pred / gt, gt / pred)
    return {"RMSE": np.sqrt(np.mean((pred - gt) ** 2)),
            "AbsRel": np.mean(np.abs(pred - gt) / gt),
            "SqRel": np.mean((pred - gt) ** 2 / gt),
            "RMSElog": np.sqrt(np.mean((np.log(pred) - np.log(gt)) ** 2)),
            "log10": np.mean(np.abs(np.log10(pred) - np.log10(gt))),
            "delta1": np.mean(ratio < 1.25), "delta2": np.mean(ratio < 1.25 ** 2),
            "delta3": np.mean(ratio < 1.25 ** 3)}


def _depth_batch(seed=0):
    rng = np.random.default_rng(seed)
    gt = rng.uniform(0.5, 10.0, (3, 6, 8))
    pred = gt * rng.uniform(0.7, 1.4, gt.shape)
    gt[0, 0, :3] = 0.0       # missing
    gt[1, 2, 2] = np.nan     # invalid
    gt[2, 1, 1] = np.inf
    gt[2, 3, 3] = -1.0
    return pred, gt


def test_depth_matches_numpy_formulas():
    pred, gt = _depth_batch()
    valid = np.isfinite(gt) & (gt > 0)
    per_image = [_numpy_depth(p[v], g[v]) for p, g, v in zip(pred, gt, valid)]
    m = ev.evaluate_depth(pred, gt)
    for name, value in m.as_dict().items():
        assert value == pytest.approx(np.mean([d[name] for d in per_image])), name
    pooled = ev.evaluate_depth(pred, gt, reduction="pixel").as_dict()
    for name, value in _numpy_depth(pred[valid], gt[valid]).items():
        assert pooled[name] == pytest.approx(value), name
    assert m.num_images == 3 and m.num_pixels == valid.sum()


def test_depth_median_scaling_and_streaming():
    pred, gt = _depth_batch(1)
    scaled = ev.evaluate_depth(3.0 * pred, gt, median_scaling=True)
    valid = np.isfinite(gt) & (gt > 0)
    expected = []
    for p, g, v in zip(pred, gt, valid):
        p = 3.0 * p[v]
        expected.append(_numpy_depth(p * np.median(g[v]) / np.median(p), g[v])["AbsRel"])
    assert scaled.abs_rel == pytest.approx(np.mean(expected))
    assert ev.evaluate_depth(3.0 * pred, gt).abs_rel > 1.0  # off by default
    perfect = ev.evaluate_depth(gt.copy(), gt)
    assert perfect.rmse == 0.0 and perfect.delta1 == 1.0
    acc = ev.create_accumulator("depth")
    acc.update(pred[:1], gt[:1])
    acc.update(list(pred[1:])[0], gt[1])
    acc.update(pred[2:, None], gt[2:, None])  # (N, 1, H, W)
    assert acc.compute() == ev.evaluate_depth(pred, gt)
    assert math.isnan(ev.evaluate_depth(np.ones((2, 2)), np.zeros((2, 2))).rmse)
    with pytest.raises(ValueError, match="shape"):
        ev.evaluate_depth(np.ones((2, 3)), np.ones((3, 2)))


# --------------------------------------------------------------------------- dispatch, summary

def test_evaluate_task_dispatch(gt):
    assert set(ev.list_evaluators()) >= {"det", "inst", "sem", "pose", "cls", "depth"}
    results = {
        "det": ev.evaluate_task("det", _perfect(gt, "bbox"), gt),
        "inst": ev.evaluate_task("inst", _perfect(gt, "segm"), gt),
        "pose": ev.evaluate_task("pose", _perfect(gt, "keypoints"), gt),
        "sem": ev.evaluate_task("sem", [np.zeros((2, 2), int)], [np.zeros((2, 2), int)],
                                num_classes=3),
        "cls": ev.evaluate_task("cls", np.eye(3), np.arange(3)),
        "depth": ev.evaluate_task("depth", np.ones((2, 2)), np.ones((2, 2))),
    }
    for task, result in results.items():
        info = ev.get_evaluator(task)
        assert isinstance(result, ev.Metrics)
        primary = result.as_dict()[info.primary_metric]
        assert primary == pytest.approx(0.0 if task == "depth" else 1.0), task
    assert not ev.get_evaluator("depth").higher_is_better
    with pytest.raises(KeyError, match="available"):
        ev.evaluate_task("pano", [], [])
    with pytest.raises(ValueError, match="twice"):
        ev.register_evaluator(ev.get_evaluator("det"))
    table = ev.summarize({**results, "extra": {"note": "x", "n": 3, "nan": math.nan}})
    lines = table.strip().splitlines()
    assert lines[0] == "| task | metric | value |"
    assert "| det | AP | 1.0000 |" in lines and "| sem | mIoU | 1.0000 |" in lines
    assert "| extra | nan | n/a |" in lines and "| extra | n | 3 |" in lines


def test_torch_tensors_are_accepted():
    torch = pytest.importorskip("torch")
    logits = torch.eye(4, requires_grad=True).to(torch.bfloat16)
    assert ev.evaluate_task("cls", logits, torch.arange(4)).top1 == 1.0
    maps = torch.zeros(2, 3, 3, dtype=torch.long)
    assert ev.evaluate_task("sem", maps, maps, num_classes=2).miou == 1.0
