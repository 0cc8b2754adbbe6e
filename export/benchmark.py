"""``argus-edge bench``: every engine on one model, in one run (a script, not a test).

    python export/benchmark.py                                  # argus_base, 512x512
    python export/benchmark.py --model argus_tiny --size 128 --quick --out /tmp/bench
    argus-edge bench --engines ort-fp32 ov-f32 session --tasks det sem

PyTorch eager FP32, ONNX Runtime FP32 / INT8 (QDQ), OpenVINO f32 / bf16 / INT8 (NNCF)
and the argus-edge Session (OpenVINO + the MSDeformSample kernel), each for every task
alone, for all tasks with the backbone run once and for all tasks as separate models.
Random weights; every configuration in its own process; median and p90 latency,
throughput (batch 1), peak RSS, GFLOPs and achieved GFLOP/s. Writes ``bench.json``,
``bench.md`` and ``bench.png`` to ``--out`` and prints the Markdown. Every figure is
measured in this one run on this machine: compare ratios within it. The methodology is
in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path


def main(argv: list[str] | None = None, args: argparse.Namespace | None = None) -> int:
    """``argus-edge bench`` (arguments: ``argus_edge._cli_bench.add_bench_arguments``)."""
    from argus_edge._cli_bench import add_bench_arguments, resolve_counts

    if args is None:
        parser = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
        args = add_bench_arguments(parser).parse_args(argv)
    from argus_edge.export.bench import BenchOptions, markdown, run_benchmark, write_outputs

    counts = resolve_counts(args)
    options = BenchOptions(
        model=args.model, size=args.size, tasks=tuple(dict.fromkeys(args.tasks)),
        engines=tuple(dict.fromkeys(args.engines)), threads=args.threads, seed=args.seed,
        workdir=Path(args.workdir) if args.workdir else None, timeout_s=args.timeout,
        extra={"quick": bool(args.quick)}, **counts)
    # stdout carries only the Markdown: the exporters' and NNCF's chatter goes to stderr
    with contextlib.redirect_stdout(sys.stderr):
        results = run_benchmark(options)
    paths = write_outputs(results, Path(args.out))
    print(markdown(results))
    print("wrote " + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    failed = [r for r in results["rows"] if r.get("status") == "error"]
    return 1 if failed else 0


if __name__ == "__main__":
    # run as a script, this file's folder would shadow installed modules (tensorrt, ...)
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    sys.exit(main())
