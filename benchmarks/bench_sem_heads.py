"""UperNet vs the light FPN head for ``sem``: FLOPs, head latency and synthetic mIoU.

In one run, on one backbone (a preset with random weights, or ``--checkpoint``'s), the
two ``sem`` decoders are compared three ways:

- **GFLOPs** of the head alone and of the backbone, at ``--size``² with ``--num-classes``
  classes, by the project's counter (``export/bench/_flops.py``: matrix products and
  convolutions only, on the meta device);
- **latency** of the head's forward in PyTorch eager FP32 (``torch.inference_mode``,
  batch 1, ``--threads`` intra-op threads) on the backbone's features of one image:
  median and p90 of ``--runs`` timed calls after ``--warmup``, the backbone's and the
  two heads' calls taking turns within each round (a busy machine slows them alike);
- **synthetic mIoU**: each head trains ``--train-steps`` AdamW steps (warmup + cosine,
  the lr, weight decay and gradient clip of ``--config``) on the frozen backbone's
  features of the synthetic training scenes, from the same initial seed and the same
  batch order, and is scored by ``SegmentationAccumulator`` (training/evaluation) on
  held-out validation scenes. The backbone is frozen, as for a stage-2 decoder
  (DESIGN.md): features are computed once, so there is no augmentation.

The heads' loss settings (auxiliary FCN, Lovász weight, dropout) and the training input
size come from the ``sem`` task of ``--config`` (``training/configs/synthetic.yaml``);
UperNet's width is that config's unless ``--upernet-channels`` is given, the FPN head's
is its config default (128) unless ``--fpn-channels`` is. The table's last column is
FPN / UperNet. Every figure is from this run on this machine (the CPU is printed);
compare ratios, not absolute times across machines.

Usage::

    python benchmarks/bench_sem_heads.py                   # argus_tiny, 128², a few minutes
    python benchmarks/bench_sem_heads.py --model argus_base --size 512 \\
        --upernet-channels 512 --train-steps 0 --runs 3 --warmup 1  # argus_base 512² costs

``--train-steps 0`` skips training; ``--data DIR`` reuses a generated synthetic dataset
(default: ``--num-train`` + ``--num-val`` scenes generated into a temporary folder).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from argus_edge.export.bench._flops import count_gflops
from argus_edge.export.bench._machine import describe, machine_info
from argus_edge.training.engine.config import load_train_config
from argus_edge.training.engine.optim import build_optimizer, set_lr, warmup_cosine
from argus_edge.training.evaluation import SegmentationAccumulator
from argus_edge.training.heads import build_head, head_config_class, head_config_from_dict
from argus_edge.training.models import Argus, create_model
from argus_edge.training.tasks import SegmentationRunner
from argus_edge.training.tasks._synthetic import expand_synthetic

ROOT = Path(__file__).resolve().parents[1]
DECODERS = ("upernet", "fpn")
NAMES = {"upernet": "UperNet", "fpn": "FPN"}


# ----------------------------------------------------------------------------- setup
def head_dicts(base: dict, args: argparse.Namespace) -> dict[str, dict]:
    """Per decoder, the config dict: ``base``'s fields that decoder has (the shared loss
    settings, and UperNet's own) plus its width."""
    base = {k: v for k, v in base.items() if k != "decoder"}
    widths = {"upernet": args.upernet_channels, "fpn": args.fpn_channels}
    out = {}
    for decoder in DECODERS:
        fields = {f.name for f in dataclasses.fields(head_config_class("sem", decoder)) if f.init}
        d = {k: v for k, v in base.items() if k in fields and k != "channels"}
        if decoder == "upernet" and "channels" in base:
            d["channels"] = base["channels"]
        if widths[decoder]:
            d["channels"] = widths[decoder]
        out[decoder] = {"decoder": decoder, **d}
    return out


def load_backbone(args: argparse.Namespace) -> Argus:
    """The frozen backbone: ``--checkpoint``'s, or the preset with seeded random weights."""
    if args.checkpoint:
        from argus_edge.training.checkpoint import load_checkpoint
        model = load_checkpoint(args.checkpoint)
    else:
        torch.manual_seed(args.seed)
        model = create_model(args.model)
    model.requires_grad_(False)
    return model.eval()


def _quantiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"median_ms": 1e3 * statistics.median(times),
            "p90_ms": 1e3 * times[min(len(times) - 1, int(0.9 * len(times)))]}


@torch.inference_mode()
def time_interleaved(calls: dict, runs: int, warmup: int) -> dict[str, dict[str, float]]:
    """Median and p90 of each of ``calls`` (name → fn), timed in turn within every
    round so that a busy machine slows them alike; ``warmup`` untimed rounds first."""
    times = {name: [] for name in calls}
    for round_ in range(warmup + runs):
        for name, fn in calls.items():
            t = time.perf_counter()
            fn()
            if round_ >= warmup:
                times[name].append(time.perf_counter() - t)
    return {name: _quantiles(t) for name, t in times.items()}


# ----------------------------------------------------------------------------- costs
def measure_costs(model: Argus, dicts: dict[str, dict], args: argparse.Namespace) -> dict:
    """GFLOPs and eager latency of the backbone and of each head at ``args.size``²."""
    size, c = args.size, model.cfg.vit.embed_dim
    image = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(args.seed))
    with torch.inference_mode():
        feats = model.forward_features(image)
    out, calls = {"backbone": {}}, {"backbone": lambda: model.forward_features(image)}
    for decoder, d in dicts.items():
        cfg = head_config_from_dict("sem", {**d, "num_classes": args.num_classes})
        with torch.device("meta"):  # count_gflops reads only the config
            twin = Argus(dataclasses.replace(model.cfg, heads={"sem": cfg}))
        gflops = count_gflops(twin, size, ["sem"])
        out["backbone"]["gflops"] = gflops["backbone"]
        torch.manual_seed(args.seed)
        head = build_head("sem", cfg, c).eval()
        calls[decoder] = lambda head=head: head(feats)
        out[decoder] = {"gflops": gflops["sem"],
                        "params_m": sum(p.numel() for p in head.parameters()) / 1e6}
    for name, t in time_interleaved(calls, args.runs, args.warmup).items():
        out[name]["time"] = t
    return out


# ----------------------------------------------------------------------------- quality
def synthetic_root(args: argparse.Namespace, workdir: Path) -> Path:
    if args.data:
        return Path(args.data)
    from argus_edge.training.data import generate_synthetic_dataset
    print(f"generating {args.num_train} + {args.num_val} synthetic scenes ...", file=sys.stderr)
    root = workdir / "synthetic"
    generate_synthetic_dataset(root, num_train=args.num_train, num_val=args.num_val,
                               seed=args.seed, num_cls_train=1, num_cls_val=1)
    return root


def cached_features(model: Argus, runner: SegmentationRunner, max_images: int):
    """The frozen backbone's maps and the label maps of ``runner``'s validation split
    (no augmentation), all images stacked: ``([f4, f8, f16, f32], seg)``."""
    feats, segs = [[] for _ in range(4)], []
    with torch.no_grad():
        for batch in runner.val_batches(max_images):
            images, targets = runner.collate(batch, torch.device("cpu"))
            for level, f in zip(feats, model.forward_features(images)):
                level.append(f)
            segs.append(targets["seg"])
    return [torch.cat(level) for level in feats], torch.cat(segs)


def train_head(head, data, steps: int, batch: int, optim, seed: int) -> float:
    """``steps`` AdamW steps on cached features; returns the mean seconds per step."""
    (feats, seg), gen = data, torch.Generator().manual_seed(seed)
    opt = build_optimizer(head, optim.lr, optim.weight_decay)
    head.train()
    t0 = time.perf_counter()
    for step in range(steps):
        set_lr(opt, optim.lr, warmup_cosine(step, steps, min(optim.warmup_steps, steps // 5),
                                            optim.min_lr_ratio))
        idx = torch.randint(0, seg.shape[0], (batch,), generator=gen)
        loss = head.loss(head([f[idx] for f in feats]), {"seg": seg[idx]})["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if optim.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(head.parameters(), optim.clip_grad)
        opt.step()
    return (time.perf_counter() - t0) / max(1, steps)


@torch.no_grad()
def evaluate_head(head, data, num_classes: int, batch: int = 8) -> dict[str, float]:
    """mIoU, mAcc and aAcc of ``head`` on cached validation features."""
    (feats, seg), acc = data, SegmentationAccumulator(num_classes)
    head.eval()
    for start in range(0, seg.shape[0], batch):
        part = [f[start:start + batch] for f in feats]
        target = seg[start:start + batch]
        acc.update(head.predict(head(part), size=tuple(target.shape[-2:])), target)
    return acc.compute().as_dict()


def measure_quality(model: Argus, dicts: dict[str, dict], train_cfg, args,
                    workdir: Path) -> dict:
    """Train each head on the frozen features of the synthetic set; its val mIoU."""
    root = synthetic_root(args, workdir)
    size = tuple(train_cfg.tasks["sem"].input_size or train_cfg.input_size)

    def runner(split: str, decoder: str) -> SegmentationRunner:
        # the project's sem runner: its validation loading for ``split`` (letterbox +
        # normalise, no augmentation), and the head config with the dataset's classes
        spec = lambda s: expand_synthetic("sem", {"synthetic": str(root), "split": s})  # noqa: E731
        return SegmentationRunner.build(spec("train"), spec(split), size, args.batch_size,
                                        dicts[decoder], model.cfg.mean, model.cfg.std,
                                        args.seed, 0, 1)

    print(f"backbone features of the synthetic scenes at {size[0]}x{size[1]} ...", file=sys.stderr)
    data = {split: cached_features(model, runner(split, "upernet"), 10**9)
            for split in ("train", "val")}
    out = {"input_size": size, "train_images": int(data["train"][1].shape[0]),
           "val_images": int(data["val"][1].shape[0])}
    for decoder in DECODERS:
        cfg = runner("val", decoder).head_config
        torch.manual_seed(args.seed)
        head = build_head("sem", cfg, model.cfg.vit.embed_dim)
        print(f"training {NAMES[decoder]} ({args.train_steps} steps) ...", file=sys.stderr)
        step_s = train_head(head, data["train"], args.train_steps, args.batch_size,
                            train_cfg.optim, args.seed)
        out[decoder] = {"step_ms": 1e3 * step_s, "num_classes": cfg.num_classes,
                        **evaluate_head(head, data["val"], cfg.num_classes)}
    return out


# ----------------------------------------------------------------------------- report
def table(results: dict, args: argparse.Namespace) -> str:
    """The Markdown table: one row per figure, UperNet | FPN | FPN/UperNet."""
    cost, quality = results["costs"], results.get("quality")
    rows = [("head config", *(results["configs"][d] for d in DECODERS), "")]

    def row(label, values, fmt):
        ratio = values[1] / values[0] if values[0] else float("nan")
        rows.append((label, *(fmt.format(v) for v in values), f"{ratio:.3f}"))

    s, n = args.size, args.num_classes
    row("parameters (M)", [cost[d]["params_m"] for d in DECODERS], "{:.3f}")
    row(f"head GFLOPs, {s}², {n} classes", [cost[d]["gflops"] for d in DECODERS], "{:.2f}")
    row("head GFLOPs / backbone GFLOPs",
        [cost[d]["gflops"] / cost["backbone"]["gflops"] for d in DECODERS], "{:.3f}")
    for q in ("median_ms", "p90_ms"):
        row(f"head latency {q[:-3]} (ms), eager FP32, {args.threads} threads",
            [cost[d]["time"][q] for d in DECODERS], "{:.2f}")
    if quality:
        row(f"training step (ms), batch {args.batch_size}",
            [quality[d]["step_ms"] for d in DECODERS], "{:.1f}")
        for key in ("mIoU", "mAcc", "aAcc"):
            row(f"synthetic val {key}", [quality[d][key] for d in DECODERS], "{:.3f}")
    lines = ["| | UperNet | FPN | FPN/UperNet |", "|---|---:|---:|---:|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def describe_run(results: dict, args: argparse.Namespace) -> str:
    b, q = results["costs"]["backbone"], results.get("quality")
    lines = [f"machine: {describe(results['machine'])}",
             (f"backbone {results['model']} ({results['weights']}), {args.size}²: "
              f"{b['gflops']:.1f} GFLOPs, eager median {b['time']['median_ms']:.1f} ms")]
    if q:
        lines.append(f"synthetic: {q['train_images']} training / {q['val_images']} validation "
                     f"scenes at {q['input_size'][0]}x{q['input_size'][1]}, "
                     f"{q['upernet']['num_classes']} classes, {args.train_steps} steps each, "
                     f"frozen backbone")
    return "\n".join(lines)


def _config_name(d: dict) -> str:
    extra = f", stride {d['output_stride']}" if "output_stride" in d else ""
    width = d.get("channels", head_config_class("sem", d["decoder"])().channels)
    return f"{d['decoder']} {width} ch{extra}"


# ----------------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default=str(ROOT / "training/configs/synthetic.yaml"),
                   help="training config: model, sem head settings, input size, optimiser")
    p.add_argument("--model", help="model preset (default: the config's)")
    p.add_argument("--checkpoint", help="take the frozen backbone from this Argus checkpoint")
    p.add_argument("--size", type=int, default=128, help="square side for GFLOPs and timing")
    p.add_argument("--num-classes", type=int, default=150,
                   help="classes for GFLOPs and timing (ADE20K: 150)")
    p.add_argument("--upernet-channels", type=int, help="UperNet width (default: the config's)")
    p.add_argument("--fpn-channels", type=int, help="FPN width (default: its config's, 128)")
    p.add_argument("--runs", type=int, default=10, help="timed calls per head")
    p.add_argument("--warmup", type=int, default=2, help="untimed calls before them")
    p.add_argument("--threads", type=int, default=machine_info()["usable_cpus"],
                   help="torch intra-op threads (default: the CPUs this process may use)")
    p.add_argument("--train-steps", type=int, default=100, help="training steps per head (0: skip)")
    p.add_argument("--batch-size", type=int, default=8, help="training batch")
    p.add_argument("--data", help="an existing synthetic dataset root")
    p.add_argument("--num-train", type=int, default=64, help="scenes generated for training")
    p.add_argument("--num-val", type=int, default=32, help="scenes generated for validation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the results here")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    train_cfg = load_train_config(args.config)
    args.model = args.model or train_cfg.model
    dicts = head_dicts(dict(train_cfg.tasks["sem"].head), args)
    model = load_backbone(args)
    results = {"machine": machine_info(), "model": model.cfg.name, "args": vars(args),
               "weights": args.checkpoint or f"random, seed {args.seed}",
               "configs": {d: _config_name(dicts[d]) for d in DECODERS}}
    print(f"GFLOPs and latency at {args.size}x{args.size} ...", file=sys.stderr)
    results["costs"] = measure_costs(model, dicts, args)
    if args.train_steps > 0:
        with tempfile.TemporaryDirectory() as tmp:
            results["quality"] = measure_quality(model, dicts, train_cfg, args, Path(tmp))
    print(describe_run(results, args))
    print(table(results, args))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
