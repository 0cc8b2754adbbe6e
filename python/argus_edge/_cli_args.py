"""Arguments of the torch-side commands, defined without importing torch so that
``argus-edge --help`` works on a runtime-only install."""

from __future__ import annotations

import argparse


def add_train_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``train``: multitask stage 1 or stage-2 new heads from a config file."""
    p.add_argument("--config", required=True, help="training config (YAML or JSON)")
    p.add_argument("--out", help="run folder (overrides the config's 'out')")
    p.add_argument("--steps", type=int, help="total optimizer steps (overrides optim.steps)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the run folder's latest checkpoint, if any")
    p.add_argument("--device", help="cpu, cuda or auto (overrides the config)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def add_evaluate_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``evaluate``: every task's metrics for a checkpoint."""
    p.add_argument("--checkpoint", required=True,
                   help="Argus checkpoint (.safetensors), or a run's checkpoint folder "
                        "(its EMA weights are used)")
    p.add_argument("--config", required=True, help="training config with val_dataset entries")
    p.add_argument("--max-images", type=int, default=1000, help="validation images per task")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--tasks", nargs="*", help="only these tasks")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    return p


def add_info_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``info``: describe a ``.engine`` bundle after verifying it."""
    p.add_argument("bundle", metavar="BUNDLE", help="the .engine file")
    p.add_argument("--json", action="store_true",
                   help="print the manifest as JSON instead of the summary")
    return p


def add_export_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``export``: a checkpoint → a ``.engine`` bundle."""
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="Argus checkpoint (.safetensors), or a run's checkpoint folder "
                        "(its EMA weights are used)")
    p.add_argument("-o", "--out", required=True, help="the bundle to write (*.engine)")
    p.add_argument("--tasks", nargs="+", help="heads to export (default: all)")
    p.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"),
                   help="input size of the image tasks (default: the model's); pose uses "
                        "its crop size")
    p.add_argument("--variants", default="onnx-fp32,openvino-fp32",
                   help="comma-separated graph variants: onnx-fp32, openvino-fp32, "
                        "openvino-fp16 (default: onnx-fp32,openvino-fp32)")
    p.add_argument("--deform", choices=("standard", "custom"), default="standard",
                   help="deformable attention as standard ONNX ops (runs everywhere) or "
                        "with its sampling core as one ai.argus::MSDeformSample node per "
                        "attention (needs the runtime's kernel; OpenVINO backend)")
    p.add_argument("--fused", action="store_true",
                   help="also store a single graph image → every head")
    return p


def add_validate_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``validate``: every graph of a bundle against PyTorch."""
    p.add_argument("bundle", metavar="BUNDLE", help="the .engine file")
    p.add_argument("--checkpoint", required=True,
                   help="the checkpoint the bundle was exported from (its SHA-256 must "
                        "match the bundle's provenance)")
    p.add_argument("--variants", help="comma-separated variants to check (default: all)")
    p.add_argument("--json", help="also write the comparison to this JSON file")
    return p
