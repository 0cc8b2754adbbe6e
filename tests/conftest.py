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
