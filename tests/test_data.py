"""Data: the synthetic generator's files, the loaders, transforms and collation."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from argus_edge._errors import ImageError, InvalidArgumentError
from argus_edge.training.data import (
    COCO_FLIP_INDEX,
    COCO_KEYPOINT_NAMES,
    COCO_SKELETON,
    SYNTHETIC_CLASSES,
    CocoDetection,
    CocoKeypoints,
    Compose,
    DepthDataset,
    ImageFolder,
    Normalize,
    PhotometricJitter,
    RandomCrop,
    RandomHorizontalFlip,
    RandomResize,
    Resize,
    SegmentationPNG,
    SyntheticManifest,
    TopDownAugment,
    affine_points,
    collate_dense,
    collate_detection,
    generate_synthetic_dataset,
    read_depth,
    write_depth_png,
)
from argus_edge.training.data._coco_read import decode_segmentation
from pycocotools.coco import COCO

# pycocotools' decode under numpy 2 warns on every call (harmless).
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def manifest(synthetic_root: Path) -> SyntheticManifest:
    return SyntheticManifest.load(synthetic_root)


@pytest.fixture(scope="module")
def coco(manifest: SyntheticManifest) -> COCO:
    return COCO(str(manifest.instances_json("train")))


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _semantic(manifest: SyntheticManifest, split: str, image_id: int) -> np.ndarray:
    return cv2.imread(
        str(manifest.semantic_dir(split) / f"{image_id:06d}.png"), cv2.IMREAD_UNCHANGED
    )


def _depth(manifest: SyntheticManifest, split: str, image_id: int) -> np.ndarray:
    return read_depth(manifest.depth_dir(split) / f"{image_id:06d}.png")


# --- generator -------------------------------------------------------------------------


def test_generation_is_deterministic_by_seed(tmp_path: Path):
    kwargs = dict(num_train=3, num_val=2, image_size=(96, 128), num_cls_train=6, num_cls_val=2)
    generate_synthetic_dataset(tmp_path / "a", seed=7, **kwargs)
    generate_synthetic_dataset(tmp_path / "b", seed=7, num_workers=2, **kwargs)
    generate_synthetic_dataset(tmp_path / "c", seed=8, **kwargs)
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b
    assert a.keys() - {"manifest.json"} == c.keys() - {"manifest.json"}
    images = [k for k in a if k.startswith("images/")]
    assert all(a[k] != c[k] for k in images)


def test_manifest_and_layout(manifest: SyntheticManifest, synthetic_root: Path):
    assert manifest.class_names == SYNTHETIC_CLASSES and manifest.class_names[0] == "person"
    assert len(manifest.class_names) >= 5
    assert manifest.keypoint_names == COCO_KEYPOINT_NAMES and len(manifest.skeleton) == 19
    assert manifest.counts["train"]["images"] == 12 and manifest.counts["val"]["images"] == 6
    assert len(list(manifest.images_dir("train").glob("*.png"))) == 12
    assert len(list(manifest.semantic_dir("val").glob("*.png"))) == 6
    classes = json.loads((synthetic_root / "semantic" / "classes.json").read_text())
    assert classes["0"] == "background" and classes["255"] == "ignore"
    assert [classes[str(i + 1)] for i in range(len(SYNTHETIC_CLASSES))] == list(SYNTHETIC_CLASSES)


def test_instance_masks_agree_with_semantic_maps(manifest, coco):
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(SYNTHETIC_CLASSES)
    kinds = {"polygon": 0, "rle": 0}
    for ann in coco.loadAnns(coco.getAnnIds()):
        kinds["rle" if isinstance(ann["segmentation"], dict) else "polygon"] += 1
        mask = coco.annToMask(ann).astype(bool)
        sem = _semantic(manifest, "train", ann["image_id"])[mask]
        assert np.all((sem == ann["category_id"]) | (sem == 255))
        assert np.mean(sem == ann["category_id"]) >= 0.3
        ys, xs = np.nonzero(mask)  # polygons are written only where they decode exactly
        box = [xs.min(), ys.min(), xs.max() + 1 - xs.min(), ys.max() + 1 - ys.min()]
        np.testing.assert_array_equal(ann["bbox"], box)
        assert ann["area"] == mask.sum()
    assert kinds["polygon"] > 0 and kinds["rle"] > 0


def test_crowd_regions_are_rle_and_flagged(manifest, coco):
    crowd = [a for a in coco.loadAnns(coco.getAnnIds()) if a["iscrowd"]]
    assert crowd and all(isinstance(a["segmentation"]["counts"], str) for a in crowd)
    dataset = CocoDetection(manifest.instances_json("train"), manifest.images_dir("train"))
    index = dataset.image_ids.index(crowd[0]["image_id"])
    sample = dataset[index]
    assert (
        sample["iscrowd"].dtype == bool and sample["iscrowd"].any() and not sample["iscrowd"].all()
    )
    assert sample["masks"][sample["iscrowd"]].sum() == sum(
        a["area"] for a in crowd if a["image_id"] == crowd[0]["image_id"]
    )


def test_keypoints_lie_on_the_figure(manifest):
    data = json.loads(manifest.keypoints_json("train").read_text())
    (category,) = data["categories"]
    assert category["keypoints"] == list(COCO_KEYPOINT_NAMES)
    assert [tuple(link) for link in category["skeleton"]] == list(COCO_SKELETON)
    heights = {im["id"]: (im["height"], im["width"]) for im in data["images"]}
    visible = 0
    for ann in data["annotations"]:
        kps = np.asarray(ann["keypoints"], np.float64).reshape(17, 3)
        assert ann["num_keypoints"] == int((kps[:, 2] > 0).sum())
        mask = decode_segmentation(ann["segmentation"], *heights[ann["image_id"]]).astype(bool)
        mask = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        x, y, w, h = ann["bbox"]
        for kx, ky, _ in kps[kps[:, 2] == 2]:
            assert mask[int(round(ky)), int(round(kx))]
            assert x - 0.5 <= kx <= x + w - 0.5 and y - 0.5 <= ky <= y + h - 0.5
            visible += 1
    assert visible > 20
    assert max(a["bbox"][3] for a in data["annotations"]) >= 60


def test_depth_follows_drawing_order(manifest, coco):
    for image_id in coco.getImgIds():
        depth, sem = _depth(manifest, "train", image_id), _semantic(manifest, "train", image_id)
        spans = []
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=image_id)):
            core = cv2.erode(coco.annToMask(ann), np.ones((3, 3), np.uint8)).astype(bool)
            if core.any():
                spans.append((ann["draw_order"], depth[core].min(), depth[core].max()))
        background = depth[sem == 0]
        for order, _, hi in spans:
            assert background.size == 0 or hi < background.min()
            for other, other_lo, _ in spans:
                if other < order:
                    assert hi < other_lo  # drawn later -> strictly nearer


def test_depth_png_and_npy(manifest, tmp_path):
    npys = sorted(manifest.depth_dir("train").glob("*.npy"))
    assert npys
    for npy in npys:
        np.testing.assert_allclose(
            read_depth(npy.with_suffix(".png")), np.load(npy), atol=5e-4 + 1e-6
        )
    depth = np.random.default_rng(0).uniform(0.3, 60.0, (20, 30)).astype(np.float32)
    depth[3:6, 4:9] = 0.0
    write_depth_png(tmp_path / "d" / "x.png", depth)
    back = read_depth(tmp_path / "d" / "x.png")
    np.testing.assert_allclose(back, np.round(depth * 1000) / 1000, atol=1e-6)
    cv2.imwrite(str(tmp_path / "x.png"), np.zeros((20, 30, 3), np.uint8))
    sample = DepthDataset(tmp_path, tmp_path / "d")[0]
    assert sample["depth"].dtype == np.float32 and not sample["depth_valid"][3:6, 4:9].any()
    assert sample["depth_valid"].sum() == 20 * 30 - 15


# --- loaders ---------------------------------------------------------------------------


def test_coco_detection_sample_layout(manifest, coco):
    data = json.loads(manifest.instances_json("train").read_text())
    data["images"].append({**data["images"][0], "id": 999})  # an image without annotations
    dataset = CocoDetection(data, manifest.images_dir("train"))
    assert len(dataset) == 13 and dataset.class_names == SYNTHETIC_CLASSES
    assert dataset.cat_id_to_label == {i + 1: i for i in range(len(SYNTHETIC_CLASSES))}
    sample = dataset[0]
    n = len(coco.getAnnIds(imgIds=1))
    assert sample["boxes"].shape == (n, 4) and sample["boxes"].dtype == np.float32
    assert sample["labels"].dtype == np.int64 and sample["masks"].shape == (n, 144, 176)
    anns = coco.loadAnns(coco.getAnnIds(imgIds=1))
    for ann, box, mask in zip(anns, sample["boxes"], sample["masks"], strict=True):
        np.testing.assert_array_equal(mask, coco.annToMask(ann))
        np.testing.assert_allclose(
            box,
            [*ann["bbox"][:2], ann["bbox"][0] + ann["bbox"][2], ann["bbox"][1] + ann["bbox"][3]],
        )
    empty = dataset[12]
    assert (
        empty["boxes"].shape == (0, 4)
        and empty["masks"].shape == (0, 144, 176)
        and empty["image_id"] == 999
    )


def test_segmentation_image_folder_and_errors(manifest, tmp_path):
    seg = SegmentationPNG(manifest.images_dir("val"), manifest.semantic_dir("val"))
    values = np.unique(np.concatenate([seg[i]["semantic"].ravel() for i in range(len(seg))]))
    assert set(values) <= set(range(len(SYNTHETIC_CLASSES) + 1)) | {255} and 255 in values
    for name in ("img", "lab", "bad"):
        (tmp_path / name).mkdir()
    cv2.imwrite(str(tmp_path / "img" / "a.png"), np.zeros((4, 4, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "lab" / "a.png"), np.array([[0, 1, 2, 255]] * 4, np.uint8))
    reduced = SegmentationPNG(tmp_path / "img", tmp_path / "lab", reduce_zero_label=True)[0][
        "semantic"
    ]
    assert reduced[0].tolist() == [255, 0, 1, 255]
    folder = ImageFolder(manifest.classification_dir("train"))
    assert folder.classes == sorted(SYNTHETIC_CLASSES) and len(folder) == 12
    for path, label in folder.samples:
        assert Path(path).parent.name == folder.classes[label]
    assert folder[0]["image"].shape == (144, 176, 3)
    with pytest.raises(InvalidArgumentError):
        ImageFolder(tmp_path / "missing")
    with pytest.raises(InvalidArgumentError):
        SegmentationPNG(tmp_path / "img", tmp_path / "missing")
    (tmp_path / "bad" / "x.png").write_bytes(b"not a png")
    with pytest.raises(ImageError):
        SegmentationPNG(tmp_path / "bad", tmp_path / "bad")[0]


# --- transforms ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def person_sample(manifest) -> dict:
    """A full-image sample with boxes, masks and per-instance keypoints."""
    dataset = CocoDetection(manifest.keypoints_json("train"), manifest.images_dir("train"))
    for i in range(len(dataset)):
        sample = dataset[i]
        if len(sample["boxes"]) and (sample["keypoints"][..., 2] > 0).any():
            return sample
    pytest.fail("no person with keypoints in the synthetic set")


def _add_dense(sample: dict, manifest) -> dict:
    image_id = sample["image_id"]
    depth = _depth(manifest, "train", image_id)
    return {
        **sample,
        "semantic": _semantic(manifest, "train", image_id),
        "depth": depth,
        "depth_valid": depth > 0,
    }


def _assert_samples_equal(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(
            np.asarray(a[key], np.float64), np.asarray(b[key], np.float64), atol=1e-5, err_msg=key
        )


def test_flip_is_an_involution_and_swaps_sides(person_sample, manifest):
    sample = _add_dense(person_sample, manifest)
    flip = RandomHorizontalFlip(p=1.0)
    once = flip(sample, np.random.default_rng(0))
    _assert_samples_equal(flip(once, np.random.default_rng(0)), sample)
    width = sample["image"].shape[1]
    kps, flipped = sample["keypoints"], once["keypoints"]
    left, right = COCO_KEYPOINT_NAMES.index("left_wrist"), COCO_KEYPOINT_NAMES.index("right_wrist")
    np.testing.assert_allclose(flipped[:, right, 0], width - 1 - kps[:, left, 0])
    np.testing.assert_array_equal(flipped[:, right, 2], kps[:, left, 2])
    np.testing.assert_array_equal(once["masks"], sample["masks"][:, :, ::-1])
    np.testing.assert_array_equal(once["semantic"], sample["semantic"][:, ::-1])
    for box, mask in zip(once["boxes"], once["masks"], strict=True):
        ys, xs = np.nonzero(mask)
        np.testing.assert_allclose(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], atol=1)
    assert RandomHorizontalFlip(p=0.0)(sample, np.random.default_rng(0)) is sample


def test_crop_keeps_boxes_consistent_with_masks(person_sample, manifest):
    sample = _add_dense(person_sample, manifest)
    for seed in range(8):
        out = RandomCrop((96, 112), min_box_area=16)(sample, np.random.default_rng(seed))
        assert out["image"].shape == (96, 112, 3) and out["semantic"].shape == (96, 112)
        n = len(out["boxes"])
        assert out["masks"].shape == (n, 96, 112) and len(out["labels"]) == n == len(
            out["keypoints"]
        )
        for box, mask in zip(out["boxes"], out["masks"], strict=True):
            ys, xs = np.nonzero(mask)
            np.testing.assert_array_equal(box, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
            assert (box[2] - box[0]) * (box[3] - box[1]) >= 16
    padded = RandomCrop((200, 200))(sample, np.random.default_rng(0))
    assert (padded["semantic"][144:] == 255).all() and (padded["depth_valid"][:, 176:] == 0).all()
    assert (padded["image"][150, 190] == [124, 116, 104]).all()


def test_transforms_are_deterministic_and_photometric_is_image_only(person_sample, manifest):
    sample = _add_dense(person_sample, manifest)
    pipeline = Compose(
        [
            RandomResize((0.6, 1.4)),
            RandomCrop((112, 112)),
            RandomHorizontalFlip(),
            PhotometricJitter(),
            Resize((96, 96)),
            Normalize(),
        ]
    )
    a, b = (pipeline(sample, np.random.default_rng(3)) for _ in range(2))
    assert torch.equal(a["image"], b["image"]) and a["image"].shape == (3, 96, 96)
    _assert_samples_equal(
        {k: v for k, v in a.items() if k != "image"}, {k: v for k, v in b.items() if k != "image"}
    )
    jittered = PhotometricJitter(0.5, 0.5, 0.5)(sample, np.random.default_rng(1))
    assert jittered["image"].dtype == np.uint8 and not np.array_equal(
        jittered["image"], sample["image"]
    )
    _assert_samples_equal(
        {k: v for k, v in jittered.items() if k != "image"},
        {k: v for k, v in sample.items() if k != "image"},
    )


def _runtime_preprocess():
    argus_edge = pytest.importorskip("argus_edge")
    fn = getattr(argus_edge, "preprocess", None)
    fn = getattr(fn, "preprocess", fn)  # a module in some layouts, the function in others
    if not callable(fn):
        pytest.skip("argus_edge.preprocess is not available in this build")
    try:
        fn(np.zeros((4, 4, 3), np.uint8), (2, 2))
    except ImportError as exc:
        pytest.skip(f"the compiled core is not built: {exc}")
    return fn


@pytest.mark.parametrize(
    ("in_hw", "out_hw"), [((480, 640), (512, 512)), ((144, 176), (96, 128)), ((50, 31), (64, 64))]
)
@pytest.mark.parametrize("policy", ["letterbox", "stretch"])
def test_resize_matches_runtime_preprocess(in_hw, out_hw, policy):
    image = np.random.default_rng(0).integers(0, 256, (*in_hw, 3), dtype=np.uint8)
    out = Resize(out_hw, policy)(
        {"image": image, "boxes": np.array([[0, 0, in_hw[1], in_hw[0]]], np.float32)}
    )
    sx, sy, ox, oy = out["letterbox"]
    np.testing.assert_allclose(
        out["boxes"][0], [ox, oy, ox + sx * in_hw[1], oy + sy * in_hw[0]], rtol=1e-6
    )
    if policy == "letterbox" and in_hw == (480, 640):
        np.testing.assert_allclose(out["letterbox"], [0.8, 0.8, 0, 64])
    tensor, transform = _runtime_preprocess()(image, out_hw, policy=policy)
    ours = Normalize()(out)["image"].numpy()
    for name, value in zip(
        ("scale_x", "scale_y", "offset_x", "offset_y"), out["letterbox"], strict=True
    ):
        assert getattr(transform, name) == pytest.approx(value, rel=1e-6)
    np.testing.assert_allclose(ours, tensor, atol=1e-4)


def test_pose_crops_map_back_to_the_image(manifest):
    data = json.loads(manifest.keypoints_json("train").read_text())
    dataset = CocoKeypoints(data, manifest.images_dir("train"))
    assert dataset.flip_pairs[0] == (1, 2) and len(dataset) == sum(
        a["num_keypoints"] > 0 for a in data["annotations"]
    )
    augmented = CocoKeypoints(
        data, manifest.images_dir("train"), RandomHorizontalFlip(p=1.0), augment=TopDownAugment()
    )
    anns = {
        a["id"]: np.asarray(a["keypoints"], np.float64).reshape(17, 3) for a in data["annotations"]
    }
    for ds in (dataset, augmented):
        sample = ds[0]
        assert sample["image"].shape == (256, 192, 3) and sample["keypoints"].shape == (17, 3)
        original = anns[sample["ann_id"]]
        kps = sample["keypoints"][list(COCO_FLIP_INDEX)] if ds is augmented else sample["keypoints"]
        labelled = original[:, 2] > 0
        back = affine_points(kps[:, :2], sample["inverse_affine"])
        np.testing.assert_allclose(back[labelled], original[labelled, :2], atol=1e-3)
        weights = (
            sample["keypoint_weights"][list(COCO_FLIP_INDEX)]
            if ds is augmented
            else sample["keypoint_weights"]
        )
        assert set(np.flatnonzero(weights)) <= set(np.flatnonzero(labelled))
    center = dataset[0]
    assert center["scale"][0] / center["scale"][1] == pytest.approx(192 / 256)
    x, y, w, h = center["bbox"]
    assert center["scale"][1] >= 1.25 * h - 1e-6 and center["scale"][0] >= 1.25 * w - 1e-6


def test_collate_and_dataset_rng(manifest):
    pipeline = Compose(
        [RandomResize((0.5, 1.5)), RandomCrop((96, 96)), RandomHorizontalFlip(), Normalize()]
    )
    dataset = CocoDetection(
        manifest.instances_json("train"), manifest.images_dir("train"), pipeline, seed=1
    )
    batch = collate_detection([dataset[i] for i in range(3)])
    assert batch["image"].shape == (3, 3, 96, 96) and isinstance(batch["boxes"], list)
    assert [b.shape[1] for b in batch["boxes"]] == [4, 4, 4] and batch["labels"][
        0
    ].dtype == torch.int64
    assert torch.equal(dataset[2]["image"], dataset[2]["image"])
    first = dataset[2]["image"]
    dataset.set_epoch(1)
    assert not torch.equal(first, dataset[2]["image"])
    seg = SegmentationPNG(
        manifest.images_dir("val"),
        manifest.semantic_dir("val"),
        Compose([Resize((64, 64)), Normalize()]),
    )
    dense = collate_dense([seg[0], seg[1]])
    assert dense["semantic"].dtype == torch.int64 and dense["semantic"].shape == (2, 64, 64)
    assert dense["name"] == ["000001", "000002"]
