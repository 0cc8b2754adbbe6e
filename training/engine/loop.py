"""The multi-input multitask training loop.

Every step draws one batch per task from that task's own dataset and sampler, runs the
backbone on it, the task's head and loss, combines Σ λ_t ℓ_t through the loss balancer,
and takes one optimizer step (AdamW, warmup-cosine, gradient clipping, EMA).
"""

from __future__ import annotations

import json
import math
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from argus_edge._errors import InvalidArgumentError

from . import distributed as dist
from .amp import autocast, grad_scaler
from .balancers import build_balancer
from .config import TrainConfig
from .ema import ModelEma
from .model_setup import build_training_model, trainable_parameters
from .optim import build_optimizer, set_lr, warmup_cosine
from .state import latest_checkpoint, load_trainer_state, save_trainer_state


def device_for(name: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Owns the model, optimizer, EMA, balancer and the per-task runners of one run.

    Args:
        cfg: the run's configuration.
        runners: task key → a task runner (see ``tasks.build_runners``).
        progress: show a progress bar on rank 0.
    """

    def __init__(self, cfg: TrainConfig, runners: dict[str, Any], progress: bool = True,
                 rank: int = 0, world: int = 1, device: torch.device | None = None) -> None:
        self.cfg, self.runners, self.progress = cfg, runners, progress
        self.device = device or device_for(cfg.device)
        self.rank, self.world = rank, world
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        torch.manual_seed(cfg.seed)
        heads = {t: r.head_config for t, r in runners.items()}
        self.model = build_training_model(cfg, heads).to(self.device)
        self.params = trainable_parameters(self.model)
        self.optimizer = build_optimizer(self.model, cfg.optim.lr, cfg.optim.weight_decay)
        self.ema = ModelEma(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        self.balancer = build_balancer(cfg.balancer, list(runners), reduce=dist.all_reduce_mean,
                                       **cfg.balancer_args)
        # the model was built identically everywhere; from here on each rank draws its
        # own random numbers (dropout, mask-loss subsampling)
        torch.manual_seed(cfg.seed + 1000 * rank)
        self.scaler = grad_scaler(self.device, cfg.amp)
        self.out = Path(cfg.out)
        self.step = 0
        self.history: list[dict] = []
        # the next step's batches, loading on a background thread (cfg.prefetch), and
        # the sampler positions a checkpoint of the current step must record (the
        # samplers themselves are one step ahead while a prefetch is in flight)
        self._prefetch: Future | None = None
        self._loader: ThreadPoolExecutor | None = None
        self._sampler_states: dict[str, dict] | None = None
        self._use_prefetch = cfg.prefetch is True or (cfg.prefetch == "auto"
                                                      and self.device.type == "cuda")

    # ----------------------------------------------------------------- persistence
    @property
    def checkpoint_dir(self) -> Path:
        return self.out / "checkpoints"

    def resume(self) -> bool:
        """Continue from the latest checkpoint in the run folder; False if none."""
        path = latest_checkpoint(self.checkpoint_dir)
        if path is None:
            return False
        state = load_trainer_state(path, self.model, self.ema, self.optimizer, self.rank)
        self.step = state["step"]
        self._drop_prefetch()
        for t, r in self.runners.items():
            r.sampler.load_state_dict(state["samplers"][t])
        self.balancer.load_state_dict(state["balancer"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if self.rank == 0:
            _truncate_log(self.out / "log.jsonl", self.step)
        return True

    def save(self) -> Path | None:
        """Write a checkpoint of the current step (collective: every rank calls it)."""
        rng = dist.all_gather_cpu(torch.get_rng_state())
        path = None
        if self.rank == 0:
            samplers = self._sampler_states
            if samplers is None:  # no batch in flight: the samplers are where the steps left them
                samplers = {t: r.sampler.state_dict() for t, r in self.runners.items()}
            extra = {"samplers": samplers,
                     "balancer": self.balancer.state_dict(), "config": self.cfg.to_dict(),
                     "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None}
            path = save_trainer_state(self.checkpoint_dir, self.step, self.model, self.ema,
                                      self.optimizer, extra, rng_states=rng)
            kept = sorted(self.checkpoint_dir.glob("step_*"))
            for old in kept[:-max(1, self.cfg.keep_checkpoints)]:
                shutil.rmtree(old, ignore_errors=True)
        dist.barrier()
        return path

    # ----------------------------------------------------------------- one step
    def train_step(self) -> dict[str, float]:
        cfg = self.cfg
        lr = set_lr(self.optimizer, cfg.optim.lr, warmup_cosine(
            self.step, cfg.optim.steps, cfg.optim.warmup_steps, cfg.optim.min_lr_ratio))
        self.model.train()
        batches = self._next_batches()
        losses, stats, parts, feats = {}, {}, {}, {}
        with autocast(self.device, cfg.amp):
            for group in _same_size_groups(batches):
                # Tasks whose inputs have one size share one backbone pass: the backbone
                # has no cross-sample ops (GroupNorm, LayerNorm, per-image token scaling),
                # so this equals separate passes and saves per-op overhead.
                images = torch.cat([batches[t][0] for t in group])
                maps = self.model.forward_features(images)
                sizes = [batches[t][0].shape[0] for t in group]
                for t, task_maps in zip(group, zip(*(m.split(sizes) for m in maps))):
                    out = self.model.heads[t](list(task_maps))
                    ld = self.model.heads[t].loss(out, batches[t][1])
                    losses[t] = ld["loss"].float() * cfg.tasks[t].loss_weight
                    stats[t] = _balance_statistic(t, ld, cfg.tasks[t])
                    parts.update({f"{t}/{k}": float(v) for k, v in ld.items() if k != "loss"})
                    feats[t] = list(task_maps)
        total = self.balancer.combine(losses, feats, stats)
        bad = dist.all_reduce_mean(torch.tensor(0.0 if torch.isfinite(total) else 1.0))
        if float(bad) > 0:  # every rank stops together instead of hanging in a reduce
            raise FloatingPointError(f"non-finite loss at step {self.step} (rank {self.rank}: "
                                     f"{ {t: float(v) for t, v in losses.items()} })")
        self.scaler.scale(total).backward()
        dist.average_gradients(self.params)
        self.scaler.unscale_(self.optimizer)
        gnorm = torch.nn.utils.clip_grad_norm_(self.params, cfg.optim.clip_grad or math.inf)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(self.model)
        reduced = dist.all_reduce_mean(torch.stack(
            [v.detach().float().cpu() for v in losses.values()]
            + [stats[t].float().cpu() for t in losses])).tolist()
        task_losses = dict(zip(losses, reduced[:len(losses)]))
        self.balancer.after_step(dict(zip(losses, reduced[len(losses):])))
        self.step += 1
        return {"step": self.step, "lr": lr, "loss": float(sum(task_losses.values())),
                "grad_norm": float(gnorm),
                **{f"{t}/loss": v for t, v in task_losses.items()}, **parts,
                **{f"{t}/weight": w for t, w in self.balancer.weights().items()}}

    # ----------------------------------------------------------------- data
    def _load(self, picks: dict[str, list]) -> dict[str, tuple[torch.Tensor, Any]]:
        return {t: self.runners[t].load_batch(p, self.device) for t, p in picks.items()}

    def _draw(self) -> dict[str, list]:
        return {t: r.next_picks(self.world) for t, r in self.runners.items()}

    def _next_batches(self) -> dict[str, tuple[torch.Tensor, Any]]:
        """This step's batches; with prefetch on, start loading the next step's."""
        if self._prefetch is not None:
            batches, self._prefetch = self._prefetch.result(), None
        else:
            batches = self._load(self._draw())
        self._sampler_states = None
        if self._use_prefetch and self.step + 1 < self.cfg.optim.steps:
            self._sampler_states = {t: r.sampler.state_dict() for t, r in self.runners.items()}
            if self._loader is None:
                self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argus-prefetch")
            self._prefetch = self._loader.submit(self._load, self._draw())
        return batches

    def _drop_prefetch(self) -> None:
        """Discard a batch in flight and move the samplers back to the steps taken."""
        if self._prefetch is not None:
            self._prefetch.cancel()
            try:
                self._prefetch.result()
            except Exception:  # noqa: BLE001 - the batch is discarded either way
                pass
            self._prefetch = None
        if self._sampler_states is not None:
            for t, r in self.runners.items():
                r.sampler.load_state_dict(self._sampler_states[t])
        self._sampler_states = None

    def close(self) -> None:
        """Stop the prefetch thread (fit() calls this when it ends)."""
        self._drop_prefetch()
        if self._loader is not None:
            self._loader.shutdown(wait=True)
            self._loader = None

    # ----------------------------------------------------------------- evaluation
    def eval_model(self) -> torch.nn.Module:
        """The weights to evaluate and ship: the EMA when enabled."""
        return (self.ema.module if self.ema is not None else self.model).eval()

    @torch.no_grad()
    def evaluate(self) -> dict[str, dict[str, float]]:
        """Every task's validation metrics (computed on rank 0; others get {})."""
        metrics = {}
        if self.rank == 0:
            model = self.eval_model()
            metrics = {t: r.evaluate(model, self.device, self.cfg.val_max_images)
                       for t, r in self.runners.items() if r.val_dataset is not None}
        dist.barrier()
        return metrics

    # ----------------------------------------------------------------- the run
    def fit(self) -> dict[str, Any]:
        """Train to ``optim.steps``; returns the final metrics (rank 0)."""
        cfg = self.cfg
        self.out.mkdir(parents=True, exist_ok=True)
        log = (self.out / "log.jsonl").open("a") if self.rank == 0 else None
        bar = _progress(self.rank == 0 and self.progress, cfg.optim.steps, self.step)
        start = time.perf_counter()
        try:
            while self.step < cfg.optim.steps:
                rec = self.train_step()
                rec["time"] = round(time.perf_counter() - start, 3)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{rec['loss']:.3f}")
                last = self.step == cfg.optim.steps
                if cfg.val_every and (self.step % cfg.val_every == 0) and not last:
                    rec["val"] = self.evaluate()
                if log is not None:
                    log.write(json.dumps(rec) + "\n")
                    log.flush()
                if cfg.ckpt_every and self.step % cfg.ckpt_every == 0 and not last:
                    self.save()
            final = {"step": self.step, "val": self.evaluate()}
            self.save()
            if log is not None:
                log.write(json.dumps(final) + "\n")
            return final
        finally:
            self.close()
            if bar is not None:
                bar.close()
            if log is not None:
                log.close()


def _truncate_log(log: Path, step: int) -> None:
    """Drop log records after ``step`` (they are about to be recomputed)."""
    if not log.is_file():
        return
    keep = [line for line in log.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step]
    log.write_text("".join(line + "\n" for line in keep))


def _balance_statistic(task: str, ld: dict[str, torch.Tensor], tcfg) -> torch.Tensor:
    """What the loss balancer reads as ``task``'s loss (detached): the whole weighted
    loss, or the weighted sum of the parts ``balance_on`` names."""
    if not tcfg.balance_on:
        return ld["loss"].detach().float() * tcfg.loss_weight
    missing = sorted(set(tcfg.balance_on) - set(ld))
    if missing:
        raise InvalidArgumentError(
            f"tasks.{task}.balance_on names {missing}, which the {task} head's loss does not "
            f"report; it reports {sorted(k for k in ld if k != 'loss')}")
    stat = sum(c * ld[k].detach().float() for k, c in tcfg.balance_on.items())
    return stat * tcfg.loss_weight


def _same_size_groups(batches: dict[str, tuple[torch.Tensor, Any]]) -> list[list[str]]:
    """Task keys grouped by input (H, W), in first-seen order."""
    groups: dict[tuple[int, int], list[str]] = {}
    for t, (images, _) in batches.items():
        groups.setdefault(tuple(images.shape[-2:]), []).append(t)
    return list(groups.values())


def _progress(enabled: bool, total: int, initial: int):
    if not enabled:
        return None
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, desc="train", unit="step", dynamic_ncols=True)
