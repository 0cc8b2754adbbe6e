"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic dataset (all formats), generated once per test session.

    12 train + 6 val scenes of 144x176 (non-square on purpose), 12 + 6 classification
    images, seed 0. Returns the dataset root (read ``manifest.json`` with
    ``SyntheticManifest.load``).
    """
    from argus_edge.training.data import generate_synthetic_dataset

    root = tmp_path_factory.mktemp("synthetic")
    generate_synthetic_dataset(root, num_train=12, num_val=6, image_size=(144, 176), seed=0)
    return root


TINY_IMAGE_SIZE = (64, 64)
TINY_POSE_SIZE = (128, 96)  # person crops: pose has its own input size


def make_tiny_model(seed: int = 0):
    """argus_tiny with all six heads (narrow), in eval mode; the deformable attention and
    the injector's gamma are made non-trivial (their init is zero, which would hide the
    sampling offsets and the injector from any parity check)."""
    import dataclasses

    import torch

    from argus_edge.training.heads import (
        ClsHeadConfig,
        DepthHeadConfig,
        DetHeadConfig,
        InstHeadConfig,
        PoseHeadConfig,
        SemHeadConfig,
    )
    from argus_edge.export.deform_op import spread_deform_init
    from argus_edge.training.models import PRESETS, Argus

    cfg = dataclasses.replace(PRESETS["argus_tiny"], input_size=TINY_IMAGE_SIZE, heads={
        "cls": ClsHeadConfig(num_classes=5, num_heads=4,
                             class_names=("a", "b", "c", "d", "e")),
        "det": DetHeadConfig(num_classes=3, channels=32, class_names=("person", "x", "y")),
        "inst": InstHeadConfig(num_classes=3, channels=32, num_protos=8, proto_channels=32),
        "sem": SemHeadConfig(num_classes=4, channels=32),
        "pose": PoseHeadConfig(features=32, heatmap_size=(32, 24), input_size=TINY_POSE_SIZE),
        "depth": DepthHeadConfig(features=32)})
    torch.manual_seed(seed)
    model = Argus(cfg).eval()
    spread_deform_init(model)
    return model


@pytest.fixture(scope="session")
def tiny_model():
    """:func:`make_tiny_model` once per session (do not modify it in a test)."""
    pytest.importorskip("torch")
    return make_tiny_model()


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model saved as an Argus checkpoint (safetensors; the cached save's bytes,
    see tests/_export_cache.py)."""
    from _export_cache import save_tiny_checkpoint

    return save_tiny_checkpoint(tiny_model, tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


@pytest.fixture(scope="session")
def tiny_bundle(tiny_checkpoint, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported to a bundle: every head, ONNX FP32 + OpenVINO FP32.

    Exported once while the exporter, the checkpoint and the packages are unchanged, then
    copied (tests/_export_cache.py; ``ARGUS_TEST_CACHE=off`` exports every session).
    """
    pytest.importorskip("onnxruntime")
    pytest.importorskip("openvino")
    from _export_cache import cached_export

    return cached_export(tiny_checkpoint, tmp_path_factory.mktemp("bundle") / "tiny.engine",
                         tiny_bundle_options())


def tiny_bundle_options():
    """The export options of :func:`tiny_bundle` (also CTest's bundle, less its ONNX)."""
    from argus_edge.export.bundle_export import ExportOptions

    return ExportOptions(variants=("onnx-fp32", "openvino-fp32"))


@pytest.fixture(scope="session")
def tiny_custom_bundle(tiny_checkpoint, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint's cls, det and sem with the deformable attention's sampling core
    as ``ai.argus::MSDeformSample`` nodes (deform="custom"): ONNX FP32, and OpenVINO FP32
    where this install has the extension that converts the node; cached like
    :func:`tiny_bundle`."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("openvino")
    from _export_cache import cached_export
    from argus_edge import BackendUnavailableError
    from argus_edge._extensions import openvino_extension_path
    from argus_edge.export.bundle_export import ExportOptions

    try:
        openvino_extension_path()
        variants = ("onnx-fp32", "openvino-fp32")
    except BackendUnavailableError:
        variants = ("onnx-fp32",)
    return cached_export(tiny_checkpoint, tmp_path_factory.mktemp("custom") / "custom.engine",
                         ExportOptions(tasks=("cls", "det", "sem"), variants=variants,
                                       deform="custom"))


@pytest.fixture(scope="session")
def tiny_backbone_graphs(tiny_model, tmp_path_factory: pytest.TempPathFactory):
    """The tiny model's backbone at TINY_IMAGE_SIZE as ONNX, per deform mode, exported on
    first use: ``tiny_backbone_graphs("custom")`` is the path of the custom-node graph
    (``"standard"``, ``"custom"``, ``"custom-v1"``; see export/graphs.py DEFORM_MODES)."""
    pytest.importorskip("onnx")
    from argus_edge.export import export_backbone

    folder = tmp_path_factory.mktemp("backbone_graphs")
    paths: dict[str, Path] = {}

    def get(deform: str) -> Path:
        if deform not in paths:
            path = folder / f"backbone_{deform}.onnx"
            export_backbone(tiny_model, TINY_IMAGE_SIZE, path, deform=deform)
            paths[deform] = path
        return paths[deform]

    return get


@pytest.fixture(scope="session")
def calib_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of two scikit-image photos: calibration images for the INT8 tests."""
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("calib")
    Image.fromarray(data.astronaut()).save(folder / "astronaut.png")
    Image.fromarray(data.chelsea()).save(folder / "chelsea.png")
    return folder
