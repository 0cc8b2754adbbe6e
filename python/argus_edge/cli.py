"""The ``argus-edge`` command.

Exit codes: 0 success, 1 an argus-edge error (bad input, missing file, ...), 2 wrong
usage, 3 a missing optional dependency (e.g. torch for commands that train or export).
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
        "demo", help="run argus_tiny on a sample photo and print the feature maps",
        description="Build argus_tiny (random weights), preprocess a scikit-image sample "
                    "photo with the C++ core and print the four feature maps. Needs the "
                    "[train] extra (torch).")
    p.add_argument("--image", help="an image file to use instead of the sample photo")
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=(256, 256),
                   help="model input size, multiples of 32 (default: 256 256)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    p.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo
    return run_demo(image_path=args.image, size=tuple(args.size), seed=args.seed)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train Argus from a config (needs the [train] extra)",
                       description="Stage 1 multitask training of the adapter and heads, or "
                                   "stage 2 training of new heads on a frozen backbone. "
                                   "Same as python training/train.py.")
    add_train_arguments(p)
    p.set_defaults(func=lambda a: _torch_command("argus_edge.training.engine.run", a))


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="every task's metrics for a checkpoint",
                       description="Evaluate each head of a checkpoint on the validation "
                                   "sets a training config names.")
    add_evaluate_arguments(p)
    p.set_defaults(func=lambda a: _torch_command("argus_edge.training.engine.evaluate", a))


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
    p.set_defaults(func=lambda a: _torch_command("argus_edge.export.bundle_export", a))


def _add_validate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="compare every graph of a bundle with PyTorch",
                       description="Run every graph variant of a bundle on sample inputs and "
                                   "compare each output with the PyTorch checkpoint it was "
                                   "exported from. Exits 1 if any output is out of tolerance.")
    add_validate_arguments(p)
    p.set_defaults(func=lambda a: _torch_command("argus_edge.export.validate", a))


def _torch_command(module: str, args: argparse.Namespace) -> int:
    import importlib
    return importlib.import_module(module).main(args=args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``argus-edge``."""
    parser = argparse.ArgumentParser(
        prog="argus-edge", description="Train, export and run the Argus multitask model.")
    parser.add_argument("--version", action="version", version=f"argus-edge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_demo(sub)
    _add_train(sub)
    _add_evaluate(sub)
    _add_info(sub)
    _add_export(sub)
    _add_validate(sub)
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
