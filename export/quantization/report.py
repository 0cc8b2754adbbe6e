"""FP32 vs INT8: output comparisons, per-task metric drops, JSON and Markdown reports.

Task metrics come from a caller-supplied evaluator, ``evaluate(runner) -> {task: {metric:
value}}``, called once with the FP32 graphs and once per INT8 backend; ``runner`` is a
:class:`GraphSetRunner` (``runner.run(graph, feed) -> {output: array}``). The lead plugs
the real task evaluators (COCO AP, mIoU, AbsRel...) in there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path

from argus_edge._jsonutil import json_safe

from ._runners import GraphSetRunner, collect_outputs, error_stats
from .calibration import Feeds
from .gate import Gate
from .method import describe_artifacts
from .results import BackendResult, MetricDrop, OutputComparison, QuantizationResult

__all__ = [
    "LOWER_IS_BETTER",
    "Evaluate",
    "GraphSetRunner",
    "compare_outputs",
    "metric_direction",
    "metric_drops",
    "write_reports",
]

#: ``evaluate(runner) -> {task: {metric: value}}``.
Evaluate = Callable[[GraphSetRunner], Mapping[str, Mapping[str, float]]]

#: Metric names (lower case) for which lower is better; every other metric is
#: higher-is-better. Names ending in ``error``/``_err``/``loss`` are lower-is-better too.
LOWER_IS_BETTER: frozenset[str] = frozenset({
    "absrel", "abs_rel", "sqrel", "sq_rel", "rmse", "rmse_log", "rmselog", "log10", "silog", "mae",
    "mse", "mean_angle", "median_angle", "mean_angle_error", "median_angle_error", "epe",
    "nme", "fpr", "miss_rate",
})


def metric_direction(metric: str, overrides: Mapping[str, str] | None = None) -> str:
    """``"higher"`` or ``"lower"``: which way ``metric`` is better.

    Args:
        metric: the metric's name (``AP``, ``mIoU``, ``AbsRel``, ``rmse``...).
        overrides: ``{metric: "higher" | "lower"}`` that win over the built-in rule.
    """
    if overrides and metric in overrides:
        return overrides[metric]
    name = metric.lower()
    lower = name in LOWER_IS_BETTER or name.endswith(("error", "_err", "loss"))
    return "lower" if lower else "higher"


def compare_outputs(reference: Mapping[str, Mapping[str, list]], candidate: GraphSetRunner,
                    feeds: Mapping[str, Feeds]) -> list[OutputComparison]:
    """Compares every output of every graph with its FP32 reference.

    Args:
        reference: ``{graph: {output: [FP32 array per feed]}}``.
        candidate: the INT8 graphs.
        feeds: ``{graph: validation feeds}`` (the ones ``reference`` was computed on).

    Returns:
        One comparison per (graph, output), in graph then output order.
    """
    rows = []
    for graph, ref_outputs in reference.items():
        outs = collect_outputs(candidate.runners[graph], feeds[graph])
        for name, ref in ref_outputs.items():
            s = error_stats(ref, outs[name])
            rows.append(OutputComparison(graph, name, s["cosine"], s["max_abs"], s["mean_abs"]))
    return rows


def metric_drops(fp32: Mapping[str, Mapping[str, float]], int8: Mapping[str, Mapping[str, float]],
                 gate: Gate, directions: Mapping[str, str] | None = None) -> list[MetricDrop]:
    """Per-task, per-metric drops of INT8 against FP32, checked against the gate.

    A metric that is NaN in FP32 is undefined on this validation set (COCO ``APl`` with no
    large object): its drop is ``None`` ("n/a"), and it is never gated. A metric the FP32
    graphs define but the INT8 ones do not (missing, or NaN: e.g. NaN outputs) is an
    infinite drop, failed when gated.
    """
    drops = []
    for task in fp32:
        for metric, ref in fp32[task].items():
            direction = metric_direction(metric, directions)
            ref, value = float(ref), float(int8.get(task, {}).get(metric, float("nan")))
            limit = gate.limit(task, metric)
            if math.isnan(ref):
                drops.append(MetricDrop(task, metric, direction, ref, value, None, limit, None))
                continue
            drop = (ref - value) if direction == "higher" else (value - ref)
            drop = float("inf") if math.isnan(drop) else drop
            passed = None if limit is None else drop <= limit + 1e-12
            drops.append(MetricDrop(task, metric, direction, ref, value, drop, limit, passed))
    return drops


def write_reports(result: QuantizationResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Writes ``report.json`` and ``report.md`` into ``out_dir``.

    Each backend's ``methods`` (how every graph is quantized: SmoothQuant, activation and
    weight granularity, float layers) are read from its artifacts first when it has none
    (:mod:`.method`), so the reports state what the shipped graphs are.

    Returns:
        The two paths (also stored in ``result.report_json`` / ``report_markdown``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    result.report_json, result.report_markdown = str(json_path), str(md_path)
    for backend in result.backends.values():
        if not backend.methods:
            backend.methods = describe_artifacts(backend.artifacts)
    text = json.dumps(json_safe(result.to_dict()), indent=2, allow_nan=False)
    json_path.write_text(text + "\n")
    md_path.write_text(markdown_report(result, out_dir))
    return json_path, md_path


def _table(header: list[str], rows: list[list]) -> list[str]:
    def cell(v) -> str:
        if isinstance(v, float):
            return "n/a" if math.isnan(v) else f"{v:.6g}"
        return "" if v is None else str(v).replace("|", "\\|")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def markdown_report(result: QuantizationResult, out_dir: Path) -> str:
    """The Markdown report (tables) of a run."""
    g = result.gate
    lines = ["# INT8 quantization report", "",
             f"**{'PASSED' if result.passed else 'FAILED'}**. Gate: cosine >= {g.min_cosine} on "
             f"every graph output; max drops {g.max_drop or 'none (task metrics not gated)'}; "
             f"up to {g.max_rounds} rounds of {g.layers_per_round} layers per graph.", ""]
    if result.validation_is_calibration:
        lines += ["Note: outputs were compared on the calibration feeds (no separate "
                  "validation set was given).", ""]
    lines += _table(["backend", "status", "rounds", "worst cosine", "SmoothQuant",
                     "activations / weights", "layers kept float",
                     "of which restored by the gate"], [
        [b.backend, "passed" if b.passed else "FAILED", len(b.rounds),
         min((o.cosine for o in b.outputs), default=None), *_short_method(b),
         len(b.float_layers), sum(f.reason == "gate" for f in b.float_layers)]
        for b in result.backends.values()])
    for b in result.backends.values():
        lines += _backend_section(result, b)
    lines += ["## Sensitivity (ONNX Runtime QDQ, one layer quantized at a time)", ""]
    for graph, ranking in result.sensitivity.items():
        plot = result.sensitivity_plots.get(graph)
        if plot:
            lines += [f"![{graph}]({Path(plot).relative_to(out_dir).as_posix()})", ""]
        lines += _table(["rank", "layer", "module / parameter", "op", "score (1 - cosine)",
                         "max abs", "float by default"],
                        [[i + 1, r.layer, r.module, r.op_type, r.score, r.max_abs,
                          r.default_float or ""]
                         for i, r in enumerate(ranking[:15])])
    return "\n".join(lines)


def _short_method(b: BackendResult) -> tuple[str, str]:
    """(SmoothQuant, "activations / weights" granularity) over a backend's graphs."""
    if not b.methods:
        return "not read", "not read"
    sq = sorted({m.smoothing() for m in b.methods.values()})
    acts = "per tensor" if not any(m.per_channel_activations for m in b.methods.values()) \
        else "some per channel"
    weights = "per channel" if all(m.per_channel_weights == m.weight_quantizers
                                   for m in b.methods.values()) else "some per tensor"
    return " / ".join(sq), f"{acts} / {weights}"


def _method_section(b: BackendResult) -> list[str]:
    """How each graph is quantized (read from the artifacts) and why layers stay float."""
    lines = ["### Method", ""]
    if not b.methods:
        return lines + ["Not read: no INT8 artifact was readable.", ""]
    lines += _table(["graph", "tool", "SmoothQuant", "activations", "weights",
                     "compute layers quantized", "float"], [
        [graph, m.tool, m.smoothing(),
         f"{m.activation_quantizers} quantizers, {m.activation_type}, "
         + ("per tensor" if not m.per_channel_activations
            else f"{m.per_channel_activations} per channel/token"),
         f"{m.weight_quantizers} int8, {m.per_channel_weights} per output channel",
         f"{m.compute_layers - m.float_layers}/{m.compute_layers}", m.float_layers]
        for graph, m in b.methods.items()])
    policy = sum(f.reason == "default" for f in b.float_layers)
    gate = sum(f.reason == "gate" for f in b.float_layers)
    why = (f"Kept float on purpose: {policy} compute layers by the default float-kept rules "
           f"and {gate} restored by the gate (\"Layers kept in float\" below says which and "
           f"why); compute layers whose inputs are all float for another reason (a backend "
           f"fusion, an input it does not quantize) are counted in \"float\" too.")
    return [*lines, why, ""]


def _verdict(d: MetricDrop) -> str:
    if d.drop is None:
        return "n/a (undefined in FP32)"
    return "not gated" if d.passed is None else ("ok" if d.passed else "FAIL")


def _backend_section(result: QuantizationResult, b) -> list[str]:
    lines = [f"## {b.backend}: {'passed' if b.passed else 'FAILED'}", ""]
    lines += [f"- {note}" for note in b.notes] + ([""] if b.notes else [])
    lines += _method_section(b)
    lines += ["### Graph outputs, FP32 vs INT8", ""]
    lines += _table(["graph", "output", "cosine", "max abs", "mean abs", "gate"], [
        [o.graph, o.output, o.cosine, o.max_abs, o.mean_abs,
         "ok" if o.cosine >= result.gate.min_cosine - 1e-12 else "FAIL"] for o in b.outputs])
    lines += ["### Task metrics", ""]
    if result.fp32_metrics is None:
        lines += ["No task evaluator was given: task metric drops were **not measured**.", ""]
    else:
        lines += _table(["task", "metric", "better", "FP32", "INT8", "drop", "max drop", "gate"], [
            [d.task, d.metric, d.direction, d.fp32, d.int8, "n/a" if d.drop is None else d.drop,
             d.limit, _verdict(d)] for d in b.drops])
    lines += ["### Layers kept in float", ""]
    lines += _table(["graph", "layer", "op", "reason", "why", "sensitivity", "round"], [
        [f.graph, f.layer, f.op_type, f.reason, f.detail, f.score, f.round]
        for f in b.float_layers])
    ops = [f"{graph}: " + ", ".join(f"{t} x{n}" for t, n in counts.items())
           for graph, counts in b.float_op_types.items() if counts]
    if ops:
        lines += ["Op types never quantized (inputs stay float): " + "; ".join(ops), ""]
    lines += ["### Rounds", ""]
    lines += _table(["round", "restored to float", "worst cosine per graph", "result"], [
        [r.round, ", ".join(r.restored) or "-",
         ", ".join(f"{k} {v:.6f}" for k, v in r.min_cosine.items()),
         "passed" if r.passed else "; ".join(r.failures)] for r in b.rounds])
    artifacts = [f"- {graph}: `{path}`" for graph, path in b.artifacts.items()]
    return lines + ["### Artifacts", ""] + artifacts + [""]
