"""The quantization pipeline: sensitivity, INT8 per backend, the gate loop, the reports.

Output folder layout (each INT8 backend of :mod:`.int8_backends` writes into its folder)::

    <out>/report.json, report.md       the reports (docs/quantization.md)
    <out>/sensitivity/<graph>.png      per-layer sensitivity bar plots
    <out>/openvino/<graph>.xml/.bin    NNCF INT8 IR
    <out>/onnxruntime/<graph>.onnx     QDQ ONNX (U8S8) for ONNX Runtime
    <out>/tensorrt/<graph>.onnx        QDQ ONNX (symmetric S8S8) for TensorRT
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from argus_edge._errors import InvalidArgumentError

from . import int8_backends
from ._graph import GraphIndex, custom_ops, load_model
from ._runners import GraphSetRunner, collect_outputs, fp32_runner
from .calibration import Feeds
from .gate import Gate, check_gate, layers_to_restore
from .int8_backends import Int8Backend, Int8Job
from .onnxruntime_ptq import U8S8, QdqFlavour
from .report import Evaluate, compare_outputs, metric_drops, write_reports
from .results import BackendResult, FloatLayer, QuantizationResult, RoundRecord
from .sensitive import SensitivePolicy, default_float_nodes
from .sensitivity import LayerSensitivity, layer_sensitivity, plot_sensitivity

__all__ = ["quantize_graphs"]

_IMAGE_INPUTS = {"images", "vit_images"}


class _Context:
    """What every backend's gate loop shares (graphs, feeds, references, rankings)."""

    def __init__(self, models, calibration, validation, policy, work: Path, out: Path,
                 evaluate, directions, precision_hint: str) -> None:
        self.models = models
        self.calibration, self.validation = calibration, validation
        self.policy, self.work, self.out = policy, work, out
        self.evaluate, self.directions = evaluate, directions
        self.precision_hint = precision_hint
        self.defaults = {g: default_float_nodes(m, policy) for g, m in self.models.items()}
        self.op_types = {g: {n.name: n.op_type for n in m.graph.node}
                         for g, m in self.models.items()}
        self.custom = {g: ops for g, m in self.models.items() if (ops := custom_ops(m))}
        self.reference = {g: collect_outputs(fp32_runner(m), validation[g])
                          for g, m in self.models.items()}
        self.rankings: dict[str, list[LayerSensitivity]] = {}
        self.fp32_metrics = None

    def cache(self, graph: str) -> Path:
        return self.work / f"{graph}.ranges.json"


def quantize_graphs(
    graphs: Mapping[str, str | Path],
    calibration_inputs: Mapping[str, Feeds],
    backends: Sequence[str] | None,
    gate: Gate,
    out_dir: str | Path,
    evaluate: Evaluate | None = None,
    *,
    validation_inputs: Mapping[str, Feeds] | None = None,
    policy: SensitivePolicy | None = None,
    task_graphs: Mapping[str, Sequence[str]] | None = None,
    sensitivity_samples: int = 8,
    metric_directions: Mapping[str, str] | None = None,
    openvino_precision: str = "f32",
    progress: bool = True,
) -> QuantizationResult:
    """Quantizes a set of FP32 graphs to INT8 for each backend, under an accuracy gate.

    Writes the module docstring's files; the reports also when the gate fails.

    Args:
        graphs: ``{graph name: FP32 ONNX path}`` (``backbone``, ``det``...).
        calibration_inputs: ``{graph name: feeds}`` to calibrate on.
        backends: INT8 backend names (:func:`.int8_backends.names`); None: the default
            ones (:func:`.int8_backends.default_names`), for graphs with custom nodes
            those of them that quantize such graphs.
        gate: the accuracy requirements and the restore schedule.
        out_dir: output folder.
        evaluate: ``evaluate(runner) -> {task: {metric: value}}`` on the FP32 and each
            INT8 graph set (:mod:`.report`); ``None``: no task metrics (reported so).
        validation_inputs: ``{graph: feeds}`` to compare outputs on (default: calibration).
        policy: default float-kept rules (default: :class:`SensitivePolicy`).
        task_graphs: ``{task: graphs computing it}`` (default: see :func:`_task_graphs`).
        sensitivity_samples: validation feeds per graph used for the sensitivity ranking.
        metric_directions: ``{metric: "higher" | "lower"}`` overrides.
        openvino_precision: the inference precision hint of the evaluation on engines
            that take one (OpenVINO's ``INFERENCE_PRECISION_HINT``).
        progress: show progress bars.

    Returns:
        The result (``result.passed``: every backend passed).

    Raises:
        InvalidArgumentError: unknown backend, no graphs, feeds missing for a graph, or
            graphs with custom nodes for a backend that cannot quantize them.
    """
    validation = validation_inputs or calibration_inputs
    _check_arguments(graphs, calibration_inputs, validation, backends)
    models = {g: load_model(p) for g, p in graphs.items()}
    chosen = _choose_backends(models, backends)
    with tempfile.TemporaryDirectory(prefix="argus_quantize_") as tmp:  # folders made on write
        ctx = _Context(models, calibration_inputs, validation, policy or SensitivePolicy(),
                       Path(tmp), Path(out_dir), evaluate, metric_directions, openvino_precision)
        # The ranking only picks the layers a failed round restores: none without rounds.
        plots = (_rank_layers(ctx, _ranking_flavour(chosen), sensitivity_samples, progress)
                 if gate.max_rounds > 0 else {})
        if evaluate is not None:
            ctx.fp32_metrics = _metrics(evaluate(GraphSetRunner(
                "fp32", "fp32", {g: fp32_runner(m) for g, m in ctx.models.items()})))
        results = {b.name: _gate_loop(ctx, b, gate, _task_graphs(ctx, task_graphs))
                   for b in chosen}
    result = QuantizationResult(
        results, gate, ctx.rankings, plots, ctx.fp32_metrics,
        {g: len(calibration_inputs[g]) for g in graphs}, {g: len(validation[g]) for g in graphs},
        validation_inputs is None)
    write_reports(result, out_dir)
    return result


def _check_arguments(graphs, calibration, validation, backends) -> None:
    known = int8_backends.names()
    if backends is not None and (not backends or any(b not in known for b in backends)):
        raise InvalidArgumentError(f"backends must be among {known}, got {list(backends)}")
    if not graphs:
        raise InvalidArgumentError("no graphs to quantize")
    for name, feeds in (("calibration", calibration), ("validation", validation)):
        if missing := [g for g in graphs if g not in feeds or len(feeds[g]) == 0]:
            raise InvalidArgumentError(f"no {name} feeds for graphs {missing}")


def _choose_backends(models: Mapping[str, object],
                     backends: Sequence[str] | None) -> list[Int8Backend]:
    """The INT8 backends to run: ``backends``, or the defaults that can quantize
    ``models``. Refuses named backends that cannot quantize graphs with custom nodes."""
    custom = sorted(g for g, m in models.items() if custom_ops(m))
    if backends is None:
        defaults = [int8_backends.get(n) for n in int8_backends.default_names()]
        return [b for b in defaults if b.custom_ops or not custom]
    chosen = [int8_backends.get(b) for b in backends]
    refused = [b.name for b in chosen if not b.custom_ops]
    if custom and refused:
        ops = sorted({op for g in custom for op in custom_ops(models[g])})
        able = [b.name for b in int8_backends.all_backends() if b.custom_ops]
        raise InvalidArgumentError(
            f"graphs {custom} have custom nodes {ops}, which the INT8 backends {refused} "
            f"cannot quantize; use {able} for them, or quantize a standard-op export "
            f"(deform='standard') for {refused}")
    return chosen


def _ranking_flavour(chosen: Sequence[Int8Backend]) -> QdqFlavour:
    """The sensitivity ranking measures one backend's own QDQ flavour; several backends,
    or one that writes no QDQ graph, share ONNX Runtime's U8S8 ranking."""
    if len(chosen) == 1 and chosen[0].qdq is not None:
        return chosen[0].qdq
    return U8S8


def _metrics(raw: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    return {str(t): {str(k): float(v) for k, v in m.items()} for t, m in raw.items()}


def _rank_layers(ctx: _Context, flavour: QdqFlavour, samples: int,
                 progress: bool) -> dict[str, str]:
    plots = {}
    for graph, model in ctx.models.items():
        if graph in ctx.custom:  # ONNX Runtime, which the ranking runs on, cannot run them
            ctx.rankings[graph] = []
            continue
        feeds = ctx.validation[graph][:max(1, samples)]
        ctx.rankings[graph] = layer_sensitivity(
            model, ctx.calibration[graph], feeds, graph=graph, flavour=flavour,
            default_float=ctx.defaults[graph], calibration_cache=ctx.cache(graph),
            progress=progress)
        png = plot_sensitivity(ctx.rankings[graph], ctx.out / "sensitivity" / f"{graph}.png",
                               title=f"{graph}: per-layer INT8 sensitivity")
        plots[graph] = str(png)
    return plots


def _task_graphs(ctx: _Context, given: Mapping[str, Sequence[str]] | None) -> dict[str, list[str]]:
    """``{task: graphs}``: ``given``, else the graphs named ``task`` or ``task_*`` plus
    the image graphs (the backbone), else every graph."""
    if given is not None:
        return {t: list(g) for t, g in given.items()}
    image_graphs = [g for g, m in ctx.models.items()
                    if set(GraphIndex(m).inputs) <= _IMAGE_INPUTS]
    mapping = {}
    for task in ctx.fp32_metrics or {}:
        named = [g for g in ctx.models if g == task or g.startswith(task + "_")]
        mapping[task] = list(dict.fromkeys(named + image_graphs)) if named else list(ctx.models)
    return mapping


def _quantize_graph(ctx: _Context, backend: Int8Backend, graph: str, restored: Sequence[str]):
    """Quantizes one graph for one backend; returns (runner, artifact path)."""
    return backend.quantize(Int8Job(
        graph, ctx.models[graph], ctx.calibration[graph], ctx.out / backend.name,
        keep_float=restored, policy=ctx.policy, calibration_cache=ctx.cache(graph),
        precision_hint=ctx.precision_hint))


def _gate_loop(ctx: _Context, backend: Int8Backend, gate: Gate, tasks) -> BackendResult:
    result = BackendResult(backend.name)
    restored: dict[str, dict[str, FloatLayer]] = {g: {} for g in ctx.models}
    unmappable = backend.unmappable(ctx.models)
    runner = GraphSetRunner(backend.name, backend.precision)
    dirty, new = set(ctx.models), []
    for rnd in range(gate.max_rounds + 1):
        for graph in [g for g in ctx.models if g in dirty]:
            runner.runners[graph], path = _quantize_graph(ctx, backend, graph, list(restored[graph]))
            result.artifacts[graph] = str(path)
        result.outputs = compare_outputs(ctx.reference, runner, ctx.validation)
        if ctx.evaluate is not None:
            result.int8_metrics = _metrics(ctx.evaluate(runner))
            result.drops = metric_drops(ctx.fp32_metrics, result.int8_metrics, gate, ctx.directions)
        verdict = check_gate(gate, result.outputs, result.drops)
        worst = {g: min(o.cosine for o in result.outputs if o.graph == g) for g in ctx.models}
        result.rounds.append(RoundRecord(rnd, new, worst, verdict.passed, list(verdict.failures)))
        result.passed = verdict.passed
        if verdict.passed or rnd == gate.max_rounds:
            break
        picks = layers_to_restore(
            verdict, ctx.rankings,
            lambda g, layer: layer in ctx.defaults[g] or layer in restored[g] or layer in unmappable[g],
            tasks, gate.layers_per_round)
        if not picks:
            result.notes.append(f"round {rnd + 1} not run: no quantized layer left to restore")
            break
        why = "; ".join(verdict.failures[:2]) + ("; ..." if len(verdict.failures) > 2 else "")
        for graph, r in picks:
            restored[graph][r.layer] = FloatLayer(graph, r.layer, r.op_type, "gate", why,
                                                  r.score, rnd + 1)
        dirty, new = {g for g, _ in picks}, [f"{g}:{r.layer}" for g, r in picks]
    result.float_layers = _float_layers(ctx, restored)
    result.float_op_types = _float_op_types(ctx)
    result.notes += backend.notes(unmappable, ctx.precision_hint)
    result.notes += [f"{g}: custom nodes {', '.join(ops)} run float inside their "
                     f"kernels; the layers around them are quantized. No per-layer ranking "
                     f"(ONNX Runtime cannot run the graph), so the gate restores none of its "
                     f"layers" for g, ops in ctx.custom.items()]
    return result


def _float_layers(ctx: _Context, restored) -> list[FloatLayer]:
    layers = []
    for graph, reasons in ctx.defaults.items():
        scores = {r.layer: r.score for r in ctx.rankings.get(graph, [])}
        for name, why in reasons.items():
            if name in scores:  # compute layers; op-type nodes are summarised separately
                layers.append(FloatLayer(graph, name, ctx.op_types[graph][name], "default", why,
                                         scores[name]))
        layers.extend(restored[graph].values())
    return layers


def _float_op_types(ctx: _Context) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for graph, model in ctx.models.items():
        kinds = [n.op_type for n in model.graph.node if n.op_type in ctx.policy.op_types]
        counts[graph] = {t: kinds.count(t) for t in dict.fromkeys(kinds)}
    return counts
