"""The training configuration: a YAML (or JSON) file parsed into frozen dataclasses."""

from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argus_edge._errors import InvalidArgumentError


@dataclass(frozen=True)
class TaskConfig:
    """One task of multi-input multitask training.

    Attributes:
        dataset: how to load it (``type`` plus that loader's paths), see ``tasks.py``.
        batch_size: global batch size (split over data-parallel ranks).
        loss_weight: λ_t in Σ λ_t ℓ_t.
        head: keyword arguments of the head's config (``num_classes`` etc.); class names
            and counts are filled in from the dataset when omitted.
        val_dataset: the validation split (same keys as ``dataset``).
        input_size: (H, W) input of this task at evaluation and export (pose: the crop
            size); also the training input unless ``crop_size`` is set.
        crop_size: (H, W) training crops cut at the scale of ``input_size`` (images are
            fitted to ``input_size``, scale-jittered, then cropped): the network trains
            on windows of the evaluation-scale image instead of the whole image shrunk.
            Dense tasks only (det, inst, sem, depth).
        balance_on: what a loss balancer (FAMO, GradNorm) reads as this task's loss:
            {loss part the head reports: coefficient}, summed and multiplied by
            ``loss_weight``; empty: the whole loss. The gradient always comes from the whole
            loss. For terms with a high floor (Lovász-softmax), which FAMO's 1/ℓ scaling
            would otherwise read as a task that needs less weight. The parts are the
            head's unweighted terms as logged (``sem``'s ``loss_aux`` is the raw auxiliary
            cross-entropy: its coefficient repeats the head's ``aux_weight``).
    """

    dataset: dict[str, Any]
    batch_size: int = 8
    loss_weight: float = 1.0
    head: dict[str, Any] = field(default_factory=dict)
    val_dataset: dict[str, Any] | None = None
    input_size: tuple[int, int] | None = None
    crop_size: tuple[int, int] | None = None
    balance_on: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimConfig:
    """AdamW + warmup-cosine (paper: lr 2e-4, wd 0.05)."""

    lr: float = 2e-4
    weight_decay: float = 0.05
    steps: int = 1000
    warmup_steps: int = 50
    min_lr_ratio: float = 0.01
    clip_grad: float = 1.0


@dataclass(frozen=True)
class TrainConfig:
    """A training run.

    Attributes:
        model: preset name (``argus_tiny`` ...).
        tasks: task key → :class:`TaskConfig`.
        out: run folder (checkpoints, ``log.jsonl``).
        backbone_weights: DINOv2 weights file for the ViT.
        init_checkpoint: an Argus checkpoint to start from (stage 2).
        stage: 1 (adapter + heads train) or 2 (the whole backbone frozen; only heads
            not present in ``init_checkpoint`` train).
        train_vit: also train the ViT (only sensible for argus_tiny, which has no
            pretrained weights).
        input_size: default (H, W) for tasks that do not set one.
        amp: mixed precision (bf16 on CPU, fp16 on CUDA).
        ema_decay: EMA decay (0 disables EMA).
        balancer: ``static``, ``famo`` or ``gradnorm`` (+ its options under ``balancer_args``).
        val_every / ckpt_every: steps between validations / checkpoints (0: only at the end).
        keep_checkpoints: how many checkpoints to keep.
        val_max_images: cap on validation images per task.
        seed: the run's seed.
        device: ``auto``, ``cpu`` or ``cuda``.
        num_threads: torch intra-op threads (0: torch's default).
        prefetch: load the next step's batches on a background thread while this step
            computes (the batches are the same either way: augmentation is seeded per
            sample). ``auto``: on CUDA only — on a CPU the loading threads compete with
            torch's intra-op threads (measured on 2 cores: 1.4 s per step instead of 0.94).
    """

    model: str
    tasks: dict[str, TaskConfig]
    out: str = "runs/train"
    backbone_weights: str | None = None
    init_checkpoint: str | None = None
    stage: int = 1
    train_vit: bool = False
    input_size: tuple[int, int] = (256, 256)
    optim: OptimConfig = field(default_factory=OptimConfig)
    amp: bool = True
    ema_decay: float = 0.999
    balancer: str = "static"
    balancer_args: dict[str, Any] = field(default_factory=dict)
    val_every: int = 0
    ckpt_every: int = 0
    keep_checkpoints: int = 2
    val_max_images: int = 200
    seed: int = 0
    device: str = "auto"
    num_threads: int = 0
    prefetch: bool | str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Parse and validate. Relative dataset paths are relative to the working
        directory the run is started from.

        Raises:
            InvalidArgumentError: unknown keys, missing tasks, values out of range.
        """
        d = dict(d)
        try:
            tasks = {}
            for key, td in dict(d.pop("tasks")).items():
                td = dict(td)
                for k in ("input_size", "crop_size"):
                    if td.get(k) is not None:
                        td[k] = tuple(td[k])
                tasks[key] = TaskConfig(**td)
            optim = OptimConfig(**d.pop("optim", {}))
            if "input_size" in d:
                d["input_size"] = tuple(d["input_size"])
            cfg = cls(tasks=tasks, optim=optim, **d)
        except (TypeError, KeyError) as e:
            raise InvalidArgumentError(f"invalid training config: {e}") from e
        if not cfg.tasks:
            raise InvalidArgumentError("the training config names no tasks")
        if cfg.stage not in (1, 2):
            raise InvalidArgumentError(f"stage must be 1 or 2, got {cfg.stage}")
        if cfg.stage == 2 and not cfg.init_checkpoint:
            raise InvalidArgumentError("stage 2 needs init_checkpoint (a stage-1 checkpoint)")
        _check_numbers(cfg)
        return cfg


def _check_numbers(cfg: TrainConfig) -> None:
    o = cfg.optim
    checks = [(o.steps > 0, f"optim.steps must be > 0, got {o.steps}"),
              (o.lr > 0, f"optim.lr must be > 0, got {o.lr}"),
              (0 <= o.warmup_steps, f"optim.warmup_steps must be >= 0, got {o.warmup_steps}"),
              (0 <= cfg.ema_decay < 1, f"ema_decay must be in [0, 1), got {cfg.ema_decay}")]
    checks += [(t.batch_size > 0, f"tasks.{k}.batch_size must be > 0, got {t.batch_size}")
               for k, t in cfg.tasks.items()]
    checks += [(isinstance(t.balance_on, dict) and all(
                    isinstance(n, str) and isinstance(c, (int, float)) and not isinstance(c, bool)
                    and c >= 0 for n, c in t.balance_on.items())
                and (not t.balance_on or any(c > 0 for c in t.balance_on.values())),
                f"tasks.{k}.balance_on must map loss part names to coefficients >= 0, at "
                f"least one > 0, got {t.balance_on!r}") for k, t in cfg.tasks.items()]
    checks.append((isinstance(cfg.prefetch, bool) or cfg.prefetch == "auto",
                   f"prefetch must be true, false or auto, got {cfg.prefetch!r}"))
    for ok, message in checks:
        if not ok:
            raise InvalidArgumentError(message)
    ignored = [k for k, t in cfg.tasks.items() if t.balance_on]
    if ignored and cfg.balancer == "static":
        warnings.warn(f"balance_on of {ignored} has no effect with balancer: static",
                      stacklevel=3)


def load_train_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML/JSON training config; ``overrides`` replace top-level keys."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no training config at {path}")
    text = path.read_text()
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except ValueError as e:  # json.JSONDecodeError and yaml.YAMLError's subclasses
        raise InvalidArgumentError(f"{path} is not valid {path.suffix[1:].upper()}: {e}") from e
    except Exception as e:
        if type(e).__module__.startswith("yaml"):
            raise InvalidArgumentError(f"{path} is not valid YAML: {e}") from e
        raise
    if not isinstance(data, dict):
        raise InvalidArgumentError(f"{path} must hold a mapping")
    data.update(overrides or {})
    return TrainConfig.from_dict(data)
