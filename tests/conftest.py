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
    """The tiny model saved as an Argus checkpoint (safetensors)."""
    from argus_edge.training.checkpoint import save_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(tiny_model, path)
    return path


@pytest.fixture(scope="session")
def tiny_bundle(tiny_checkpoint, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny checkpoint exported to a bundle: every head, ONNX FP32 + OpenVINO FP32."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("openvino")
    from argus_edge.export.bundle_export import ExportOptions, export_bundle

    path = tmp_path_factory.mktemp("bundle") / "tiny.engine"
    return export_bundle(tiny_checkpoint, path, ExportOptions(
        variants=("onnx-fp32", "openvino-fp32")))
