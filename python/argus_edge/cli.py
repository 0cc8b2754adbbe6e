"""The ``argus-edge`` command.

Exit codes: 0 success, 1 an argus-edge error (bad input, missing file, ...), 2 wrong
usage, 3 a missing optional dependency (e.g. torch for commands that train or export),
4 ``quantize``: the accuracy gate failed after every retry (the reports are written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._cli_args import (
    add_evaluate_arguments,
    add_export_arguments,
    add_info_arguments,
    add_train_arguments,
    add_validate_arguments,
)
from ._errors import ArgusError
from ._version import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_MISSING_DEPENDENCY = 0, 1, 2, 3


def _add_demo(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="the SDK end to end with the bundled demo model (the main job)",
        description="Build FP32 and INT8 bundles from the demo model trained on the "
                    "synthetic data (cached), run every task on a generated validation "
                    "scene and a sample photo, write the visualizations and print how the "
                    "predictions compare with the scene's ground truth. Needs the [train] "
                    "and [export] extras (the bundles are built once; the ground truth and "
                    "scoring use the training code's generator and evaluators).")
    from .demo import add_demo_arguments  # cheap: the demo imports torch only when run
    add_demo_arguments(p)
    p.set_defaults(func=lambda a: _lazy_command("argus_edge.demo", a))


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="run a bundle on images, folders or videos",
        description="Run the tasks of a .engine bundle on image files, folders of images "
                    "or videos. Prints one JSON line per image or frame (or writes them to "
                    "--jsonl) and, with --out, writes the visualizations. Exit code 1 if "
                    "any input could not be read (the others are still processed).")
    from ._cli_run import add_run_arguments
    add_run_arguments(p)
    p.set_defaults(func=lambda a: _lazy_command("argus_edge._cli_run", a, "run_command"))


def _add_quantize(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "quantize", add_help=False, help="INT8 bundles with an accuracy report (export/quantize.py)",
        description="Same as python export/quantize.py; see argus-edge quantize --help.")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    p.set_defaults(func=_run_quantize)


def _run_quantize(args: argparse.Namespace) -> int:
    import importlib
    return importlib.import_module("argus_edge.export.quantize").main(args.argv)


def _add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench", help="cross-backend latency benchmark (needs the [export] extra)",
        description="PyTorch eager, ONNX Runtime and OpenVINO (FP32 / bf16 / INT8) and the "
                    "argus-edge Session on one model config, single tasks and det+sem+cls "
                    "with the backbone shared vs three separate models. Writes JSON, a "
                    "Markdown table and a PNG chart (docs/benchmarks.md).")
    from ._cli_bench import add_bench_arguments
    add_bench_arguments(p)
    p.set_defaults(func=lambda a: _lazy_command("argus_edge.export.benchmark", a))


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train Argus from a config (needs the [train] extra)",
                       description="Stage 1 multitask training of the adapter and heads, or "
                                   "stage 2 training of new heads on a frozen backbone. "
                                   "Same as python training/train.py.")
    add_train_arguments(p)
    p.set_defaults(func=lambda a: _lazy_command("argus_edge.training.engine.run", a))


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="every task's metrics for a checkpoint",
                       description="Evaluate each head of a checkpoint on the validation "
                                   "sets a training config names.")
    add_evaluate_arguments(p)
    p.set_defaults(func=lambda a: _lazy_command("argus_edge.training.engine.evaluate", a))


def _add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="verify a .engine bundle and describe what it holds",
                       description="Check every checksum of a .engine bundle, then print its "
                                   "format, model, preprocessing, tasks, graphs and "
                                   "provenance (or the manifest as JSON). Exits 1 if the "
                                   "bundle is missing, corrupt or tampered with.")
    add_info_arguments(p)
    p.set_defaults(func=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    import json

    from .bundle import describe, read_bundle
    with read_bundle(args.bundle) as bundle:
        print(json.dumps(bundle.manifest, indent=2) if args.json else describe(bundle))
    return EXIT_OK


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a checkpoint to a .engine bundle",
                       description="Export the backbone (once per input size) and each head "
                                   "as ONNX graphs, convert them to the requested backends "
                                   "and write one checksummed .engine bundle. Needs the "
                                   "[export] extra.")
    add_export_arguments(p)
    p.set_defaults(func=lambda a: _lazy_command("argus_edge.export.bundle_export", a))


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="compare every graph of a bundle with PyTorch",
                       description="Run every graph variant of a bundle on sample inputs and "
                                   "compare each output with the PyTorch checkpoint it was "
                                   "exported from. Exits 1 if any output is out of tolerance.")
    add_validate_arguments(p)
    p.set_defaults(func=lambda a: _lazy_command("argus_edge.export.validate", a))


def _lazy_command(module: str, args: argparse.Namespace, entry: str = "main") -> int:
    """Run ``module.entry(args=args)``, importing the module only for its own command
    (torch, the exporters and the demo load only when asked for)."""
    import importlib
    return getattr(importlib.import_module(module), entry)(args=args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``argus-edge``."""
    parser = argparse.ArgumentParser(
        prog="argus-edge", description="Train, export and run the Argus multitask model.")
    parser.add_argument("--version", action="version", version=f"argus-edge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(sub)
    _add_run(sub)
    _add_info(sub)
    _add_export(sub)
    _add_quantize(sub)
    _add_validate(sub)
    _add_bench(sub)
    _add_train(sub)
    _add_evaluate(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(f"argus-edge {args.command}: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as e:
        print(f"argus-edge {args.command}: missing dependency {e.name!r} ({e}). "
              "Install the extra it needs, e.g. pip install 'argus-edge[train]'.",
              file=sys.stderr)
        return EXIT_MISSING_DEPENDENCY
    except (ArgusError, FileNotFoundError) as e:
        print(f"argus-edge {args.command}: error: {e}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
