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
