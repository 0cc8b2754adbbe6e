"""``python training/train.py`` / ``argus-edge train``: parse, set up, train."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import distributed as dist
from .config import load_train_config
from .loop import Trainer, device_for


def run_training(cfg, resume: bool = False, progress: bool = True) -> dict:
    """Train ``cfg`` (a :class:`TrainConfig`); returns the final metrics on rank 0."""
    from ..tasks import build_runners
    rank, world, device = dist.init_from_env(device_for(cfg.device))
    try:
        runners = build_runners(cfg, rank, world)
        trainer = Trainer(cfg, runners, progress=progress, rank=rank, world=world,
                          device=device)
        if resume and trainer.resume() and rank == 0:
            print(f"resumed from step {trainer.step}", file=sys.stderr)
        return trainer.fit()
    finally:
        dist.cleanup()


def build_parser() -> argparse.ArgumentParser:
    from argus_edge._cli_args import add_train_arguments
    return add_train_arguments(argparse.ArgumentParser(
        prog="train.py", description="Train Argus (stage 1 multitask, or stage 2 new heads)."))


def main(argv: Sequence[str] | None = None, args: argparse.Namespace | None = None) -> int:
    args = args or build_parser().parse_args(argv)
    overrides = {k: v for k, v in (("out", args.out), ("device", args.device)) if v}
    cfg = load_train_config(args.config, overrides)
    if args.steps:
        import dataclasses
        cfg = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, steps=args.steps))
    final = run_training(cfg, resume=args.resume, progress=not args.no_progress)
    if final.get("val"):
        print(json.dumps(final, indent=1))
    return 0
