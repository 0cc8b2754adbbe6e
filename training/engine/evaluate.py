"""Every task's metrics for a checkpoint: ``python training/evaluate.py`` /
``argus-edge evaluate``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from argus_edge._errors import UnknownTaskError

from ..checkpoint import load_checkpoint
from ..evaluation import summarize
from .config import load_train_config
from .loop import device_for
from .state import load_run_checkpoint


def evaluate_checkpoint(checkpoint: str | Path, config: str | Path, max_images: int = 1000,
                        device: str = "auto", tasks: Sequence[str] | None = None) -> dict:
    """Evaluate every head of ``checkpoint`` that ``config`` gives a validation set for.

    Args:
        checkpoint: an Argus checkpoint file, or a trainer checkpoint folder
            (``RUN/checkpoints/step_XXXXXXXX`` or ``RUN/checkpoints``), whose EMA weights
            are used when the run kept an EMA.
        config: the training config naming each task's ``val_dataset``.
        max_images: cap on validation images per task.
        device: ``auto``, ``cpu`` or ``cuda``.
        tasks: restrict to these tasks (default: every head the checkpoint has).

    Returns:
        ``{task: {metric: value}}``.
    """
    from ..tasks import build_runners
    cfg = load_train_config(config)
    model = (load_run_checkpoint(Path(checkpoint)) if Path(checkpoint).is_dir()
             else load_checkpoint(checkpoint))
    wanted = [t for t in (tasks or model.tasks) if t in cfg.tasks and cfg.tasks[t].val_dataset]
    missing = [t for t in (tasks or []) if t not in wanted]
    if missing:
        raise UnknownTaskError(f"the checkpoint has no head, or the config no val_dataset, "
                               f"for {missing}")
    # evaluate on the validation split only: it doubles as the "training" set the
    # runners are built with, and the heads' settings come from the checkpoint
    val_tasks = {t: dataclasses.replace(cfg.tasks[t], dataset=cfg.tasks[t].val_dataset)
                 for t in wanted}
    runners = build_runners(dataclasses.replace(cfg, tasks=val_tasks), mean=model.cfg.mean,
                            std=model.cfg.std)
    dev = device_for(device)
    model = model.to(dev).eval()
    with torch.no_grad():
        return {t: r.evaluate(model, dev, max_images) for t, r in runners.items()}


def main(argv: Sequence[str] | None = None, args: argparse.Namespace | None = None) -> int:
    from argus_edge._cli_args import add_evaluate_arguments
    p = add_evaluate_arguments(argparse.ArgumentParser(prog="evaluate.py", description=__doc__))
    args = args or p.parse_args(argv)
    metrics = evaluate_checkpoint(args.checkpoint, args.config, args.max_images, args.device,
                                  args.tasks)
    print(summarize(metrics))
    if args.json:
        Path(args.json).write_text(json.dumps(metrics, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
