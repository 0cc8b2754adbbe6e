"""Arguments of ``argus-edge bench``, defined without importing torch (the command itself,
``argus_edge.export.benchmark.main``, needs the export extra)."""

from __future__ import annotations

import argparse
import os

from ._bench_engines import ENGINES, IMAGE_TASKS

#: engine keys, in table order (the benchmark's engines, :mod:`._bench_engines`)
BENCH_ENGINES = tuple(e.key for e in ENGINES)
#: tasks whose heads run on the full image
BENCH_TASKS = IMAGE_TASKS
#: what --quick changes: (runs, warm-up runs, calibration images)
QUICK = {"runs": 3, "warmup": 1, "calib": 2}
DEFAULTS = {"runs": 10, "warmup": 2, "calib": 8}


def _default_threads() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def add_bench_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``bench``: latency, throughput, peak RSS and GFLOP/s of every engine in one run.

    Args:
        p: the parser (or subparser) to add the arguments to.

    Returns:
        ``p``.
    """
    p.add_argument("--model", default="argus_base",
                   help="model preset, random weights (default: argus_base)")
    p.add_argument("--size", type=int, default=512,
                   help="square input side, a multiple of 32 (default: 512)")
    p.add_argument("--tasks", nargs="+", choices=BENCH_TASKS, default=["det", "sem", "cls"],
                   help="heads: each alone, then all together with the backbone once and as "
                        "separate models (default: det sem cls)")
    p.add_argument("--engines", nargs="+", choices=BENCH_ENGINES, default=list(BENCH_ENGINES),
                   help="engines to run (default: all)")
    p.add_argument("--runs", type=int, help=f"timed runs per configuration "
                   f"(default: {DEFAULTS['runs']}; --quick: {QUICK['runs']})")
    p.add_argument("--warmup", type=int, help=f"warm-up runs before them "
                   f"(default: {DEFAULTS['warmup']}; --quick: {QUICK['warmup']})")
    p.add_argument("--threads", type=int, default=_default_threads(),
                   help="intra-op threads of every engine (default: the CPUs this process "
                        "may use)")
    p.add_argument("--calib", type=int, help=f"INT8 calibration images "
                   f"(default: {DEFAULTS['calib']}; --quick: {QUICK['calib']})")
    p.add_argument("--quick", action="store_true",
                   help="fewer runs and calibration images (a smoke run; noisy numbers)")
    p.add_argument("--seed", type=int, default=0, help="weights seed")
    p.add_argument("--out", default="bench-results",
                   help="folder for bench.json, bench.md and bench.png (default: bench-results)")
    p.add_argument("--workdir",
                   help="keep the exported graphs and bundles here (default: a temporary "
                        "folder)")
    p.add_argument("--timeout", type=float, default=3600.0,
                   help="seconds allowed per configuration process (default: 3600)")
    return p


def resolve_counts(args: argparse.Namespace) -> dict[str, int]:
    """``runs``, ``warmup`` and ``calib``: given values, else --quick's, else the defaults."""
    base = QUICK if args.quick else DEFAULTS
    return {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in base.items()}
