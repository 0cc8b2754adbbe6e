"""INT8 quantization of the Argus graphs with an accuracy report and gate.

Run as ``python export/quantize.py --help`` or call
``argus_edge.export.quantize.main(argv)``. Exit codes: 0 every backend passed the gate,
1 an error (one ``error: ...`` line on stderr), 2 wrong usage, 3 a missing dependency
(the ``[export]`` extra), 4 the gate failed after every retry (the reports are still
written).

Sources: ``--checkpoint`` (exported first to ``<out>/fp32.engine``), ``--bundle``
(an FP32 bundle with ``onnx-fp32`` graphs), or ``--graphs`` (bare FP32 ONNX files; no
bundle is written then). With a bundle source, one INT8 bundle per backend that passed the
gate is written to ``<out>/<model>.<variant>.engine`` (its INT8 variant: ``openvino-int8``,
...), its variants recording the gate; a backend that failed gets none unless
``--allow-failed-gate`` (then ``<model>.<variant>.gate-failed.engine``, which the Session
refuses unless told ``accept_failed_gate``).
``--val-config`` (a training YAML) gives per-task metrics through the training code's
evaluators, on graphs exported at that config's per-task input sizes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from typing import TYPE_CHECKING

from argus_edge._errors import ArgusError, InvalidArgumentError

if TYPE_CHECKING:
    from argus_edge.export.quantization import Evaluate

# torch, onnx, openvino... are imported by _run (and by --help, which names the INT8
# backends of the registry), not by the parser, so that a usage error answers at once.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_MISSING_DEPENDENCY, EXIT_GATE_FAILED = 0, 1, 2, 3, 4

#: ``export_graphs(source, kind, work_dir) -> {graph name: FP32 ONNX path}``: exports the
#: graphs of a checkpoint (``kind="checkpoint"``) or extracts them from an FP32 bundle
#: (``kind="bundle"``) into ``work_dir``. Graph names are the bundle's (``backbone``, task
#: keys...); image graphs take ``images`` (+ ``vit_images``), heads take the backbone's
#: outputs by name.
ExportGraphs = Callable[[Path, str, Path], Mapping[str, Path]]
#: ``make_evaluator(val_config, graphs) -> evaluate``: builds the per-task evaluator from a
#: training YAML's validation datasets (see ``argus_edge.export.quantization.report``).
MakeEvaluator = Callable[[Path, Mapping[str, Path]], "Evaluate"]


class _HelpFormatter(argparse.HelpFormatter):
    """Fills ``{int8_backends}`` and ``{default_backends}`` in a help text from the INT8
    registry, read only when the help is printed (the registry's package imports torch)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = super()._get_help_string(action) or ""
        if "{int8_backends}" not in text:
            return text
        from argus_edge.export.quantization import int8_backends
        return text.format(int8_backends=",".join(int8_backends.names()),
                           default_backends=",".join(int8_backends.default_names()))


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    p = argparse.ArgumentParser(
        prog="quantize.py", formatter_class=_HelpFormatter,
        description="Quantize the Argus graphs to INT8 (OpenVINO via NNCF, "
        "ONNX Runtime and TensorRT QDQ), compare with FP32, gate on accuracy and restore the "
        "most sensitive layers to float until the gate passes.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="an Argus checkpoint (.safetensors)")
    src.add_argument("--bundle", help="an FP32 .engine bundle")
    src.add_argument("--graphs", help="FP32 ONNX graphs: name=path[,name=path...]")
    cal = p.add_mutually_exclusive_group(required=True)
    cal.add_argument("--calib-dir", nargs="+", help="calibration image folder(s), recursive")
    cal.add_argument("--calib-config", help="a training YAML: calibrate on its training images")
    p.add_argument("--num-calib", type=int, default=128, help="calibration images (default 128)")
    p.add_argument("--val-dir", nargs="+", help="validation images for the FP32/INT8 output "
                   "comparison (default: the calibration images)")
    p.add_argument("--num-val", type=int, default=32, help="validation images (default 32)")
    p.add_argument("--val-config", help="a training YAML whose validation sets give per-task metrics")
    p.add_argument("--seed", type=int, default=0, help="seed of the image subsets (default 0)")
    p.add_argument("--backend", help="comma-separated, of {int8_backends} "
                   "(default {default_backends}; for graphs with the fused node, those of "
                   "them that quantize it)")
    p.add_argument("--max-drop", default="", help="max metric drop per task, e.g. "
                   "det=0.02,sem=0.03,depth.rmse=0.05,*=0.01 (needs --val-config)")
    p.add_argument("--min-cosine", type=float, default=0.99,
                   help="min FP32/INT8 cosine of every graph output (default 0.99)")
    p.add_argument("--max-rounds", type=int, default=3, help="gate retry rounds (default 3)")
    p.add_argument("--layers-per-round", type=int, default=2,
                   help="layers restored to float per graph and round (default 2)")
    p.add_argument("--keep-float", action="append", default=[], metavar="PATTERN",
                   help="also keep layers whose parameter names contain PATTERN in float")
    p.add_argument("--deform", choices=("standard", "custom"), default="standard",
                   help="with --checkpoint: export the deformable attention as standard ops "
                   "(every backend) or with libargus's MSDeformSample node (custom: INT8 graphs "
                   "that keep the sampling kernel; openvino only). A --bundle's graphs are used as they are")
    p.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"),
                   help="image size for graphs exported with dynamic H, W")
    p.add_argument("--sensitivity-samples", type=int, default=8,
                   help="validation images used by the sensitivity ranking (default 8)")
    p.add_argument("--allow-failed-gate", action="store_true",
                   help="also write the bundle of a backend that failed the gate, as "
                   "<model>.<variant>.gate-failed.engine: the Session refuses it unless told "
                   "accept_failed_gate (default: no bundle for it; its graphs and the reports "
                   "are still written)")
    p.add_argument("--out", required=True, help="output folder (INT8 graphs and reports)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: Sequence[str] | None = None, *, export_graphs: ExportGraphs | None = None,
         make_evaluator: MakeEvaluator | None = None) -> int:
    """Runs the command.

    Args:
        argv: arguments (default: ``sys.argv[1:]``).
        export_graphs: replaces the checkpoint / bundle → FP32 graphs step
            (:data:`ExportGraphs`; default: the bundle exporter).
        make_evaluator: replaces the task evaluators (:data:`MakeEvaluator`; default: the
            training code's evaluators on the config's validation sets).

    Returns:
        The exit code (see the module docstring).
    """
    args = build_parser().parse_args(argv)
    try:
        return _run(args, export_graphs, make_evaluator)
    except ArgusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ModuleNotFoundError as exc:  # e.g. nncf / openvino: not an argus-edge bug
        print(f"error: {exc}; install the [export] extra", file=sys.stderr)
        return EXIT_MISSING_DEPENDENCY


def _run(args: argparse.Namespace, export_graphs: ExportGraphs | None,
         make_evaluator: MakeEvaluator | None) -> int:
    from argus_edge.export.quantization import (
        Gate, SensitivePolicy, feeds_for_graphs, int8_backends, load_calibration_images,
        parse_max_drop, quantize_graphs)

    backends = [b.strip() for b in (args.backend or "").split(",") if b.strip()]
    if args.backend is not None and (not backends or set(backends) - set(int8_backends.names())):
        raise InvalidArgumentError(f"--backend takes {','.join(int8_backends.names())}, "
                                   f"got {args.backend!r}")
    gate = Gate(min_cosine=args.min_cosine, max_drop=parse_max_drop(args.max_drop),
                max_rounds=args.max_rounds, layers_per_round=args.layers_per_round)
    if gate.max_drop and not args.val_config:
        raise InvalidArgumentError("--max-drop gates task metrics: it needs --val-config")
    size = tuple(args.input_size) if args.input_size else None
    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="argus_quantize_cli_") as work:
        graphs, fp32_bundle = _graphs(args, export_graphs, Path(work))
        evaluate = None
        if args.val_config:
            if make_evaluator is not None:
                evaluate = make_evaluator(Path(args.val_config), graphs)
            elif fp32_bundle is not None:
                from argus_edge.export.int8_bundle import make_evaluator as bundle_evaluator
                evaluate = bundle_evaluator(Path(args.val_config), fp32_bundle, args.num_val)
            else:
                raise InvalidArgumentError("--val-config needs a --checkpoint or --bundle "
                                           "source (the task decoders come from its config)")
        folders = args.calib_dir or _config_image_dirs(Path(args.calib_config))
        images = load_calibration_images(folders, args.num_calib, seed=args.seed,
                                         progress=not args.quiet)
        calib = feeds_for_graphs(graphs, images, input_size=size)
        val = None
        if args.val_dir:
            val = feeds_for_graphs(graphs, load_calibration_images(
                args.val_dir, args.num_val, seed=args.seed, progress=not args.quiet), input_size=size)
        result = quantize_graphs(
            graphs, calib, backends or None, gate, args.out, evaluate, validation_inputs=val,
            policy=SensitivePolicy(extra_patterns=tuple(args.keep_float)),
            sensitivity_samples=args.sensitivity_samples, progress=not args.quiet)
        bundles = {}
        if fp32_bundle is not None:
            from argus_edge.export.int8_bundle import write_int8_bundles
            bundles = write_int8_bundles(result, fp32_bundle, out, len(images),
                                         allow_failed_gate=args.allow_failed_gate)
    for name, b in result.backends.items():
        restored = sum(f.reason == "gate" for f in b.float_layers)
        print(f"{name}: {'passed' if b.passed else 'FAILED'} after {len(b.rounds)} attempt(s), "
              f"{restored} layer(s) restored to float"
              + (f"; bundle {bundles[name]}" if name in bundles else "")
              + ("" if b.passed or fp32_bundle is None or name in bundles
                 else "; no bundle written (--allow-failed-gate writes one)"))
    print(f"report: {result.report_markdown}")
    return EXIT_OK if result.passed else EXIT_GATE_FAILED


def _graphs(args: argparse.Namespace, export_graphs: ExportGraphs | None,
            work: Path) -> tuple[dict[str, Path], Path | None]:
    """``({graph name: FP32 ONNX}, the FP32 bundle or None)``."""
    if args.graphs:
        graphs = {}
        for entry in filter(None, (e.strip() for e in args.graphs.split(","))):
            name, sep, path = entry.rpartition("=")
            graphs[name if sep else Path(path).stem] = Path(path)
        if not graphs:
            raise InvalidArgumentError("--graphs is empty")
        return graphs, None
    kind, source = ("checkpoint", args.checkpoint) if args.checkpoint else ("bundle", args.bundle)
    if not Path(source).exists():
        raise InvalidArgumentError(f"{kind} {source!r} does not exist")
    if export_graphs is not None:
        return {n: Path(p) for n, p in export_graphs(Path(source), kind, work).items()}, None
    from argus_edge.export.int8_bundle import fp32_graphs, task_sizes_from_config
    sizes = task_sizes_from_config(Path(args.val_config)) if args.val_config else None
    bundle = Path(source)
    if kind == "checkpoint":
        Path(args.out).mkdir(parents=True, exist_ok=True)
        bundle = Path(args.out) / "fp32.engine"
    return fp32_graphs(Path(source), kind, work, bundle, sizes, deform=args.deform), bundle


def _config_image_dirs(config: Path) -> list[Path]:
    """The training image folders of a training YAML (``dataset.images`` / ``dataset.root``)."""
    import yaml

    if not config.is_file():
        raise InvalidArgumentError(f"calibration config {str(config)!r} does not exist")
    try:
        data = yaml.safe_load(config.read_text())
    except yaml.YAMLError as exc:
        raise InvalidArgumentError(f"{config} is not valid YAML: {exc}") from exc
    tasks = data.get("tasks", {}) if isinstance(data, dict) else {}
    folders = []
    for spec in tasks.values():
        dataset = spec.get("dataset", {}) if isinstance(spec, dict) else {}
        folder = dataset.get("images") or dataset.get("root")
        if folder:
            folders.append(Path(folder))
    if not folders:
        raise InvalidArgumentError(f"{config} names no dataset image folders (tasks.*.dataset)")
    return list(dict.fromkeys(folders))


if __name__ == "__main__":
    sys.exit(main())
