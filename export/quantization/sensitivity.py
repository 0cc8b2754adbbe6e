"""Per-layer quantization sensitivity: which layers lose accuracy in INT8.

Measured with ONNX Runtime's QDQ quantizer (the ranking is then used by every backend,
by layer name). Two modes:

* ``only`` (default): quantize one compute layer, everything else float; the score is
  that layer's own error. Attribution is clean and the scores add up roughly.
* ``all_but``: quantize everything except one layer; the score is how much error goes
  away when that layer is float (can be negative). Captures interactions, costs the same.

The error of a variant is measured against the FP32 graph on the evaluation feeds, per
graph output: ``1 - cosine`` and max abs error. A layer's score is the worst ``1 - cosine``
over the outputs. Calibration runs once (activation ranges are cached and reused).
"""

from __future__ import annotations

import tempfile
from functools import partial
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import onnx
from tqdm import tqdm

from argus_edge._errors import InvalidArgumentError

from ._graph import GraphIndex, load_model
from ._runners import OrtRunner, collect_outputs, error_stats
from .calibration import Feeds
from .onnxruntime_ptq import U8S8, QdqFlavour, quantize_onnxruntime
from .sensitive import parameter_names

__all__ = ["LayerSensitivity", "layer_sensitivity", "plot_sensitivity"]

_MODES = ("only", "all_but")


@dataclass(frozen=True)
class LayerSensitivity:
    """How much one layer's quantization costs.

    Attributes:
        graph: the graph's name.
        layer: the ONNX node name.
        op_type: its op type.
        score: worst ``1 - cosine`` over the graph outputs (``only`` mode), or the drop
            of that error when the layer is float (``all_but`` mode).
        max_abs: worst max abs error over the outputs of the variant.
        outputs: ``{output: {"cosine", "max_abs", "mean_abs"}}`` of the variant.
        default_float: why the default policy keeps it float, or ``None``.
        module: what the layer is in the model: its torch module path, or its first
            parameter name (see :func:`~.sensitive.parameter_names`), or ``""``.
    """

    graph: str
    layer: str
    op_type: str
    score: float
    max_abs: float
    outputs: dict[str, dict[str, float]] = field(default_factory=dict)
    default_float: str | None = None
    module: str = ""

    @property
    def label(self) -> str:
        """``layer (module)`` or ``layer (op type)`` for plots and tables."""
        return f"{self.layer} ({self.module or self.op_type})"

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {"graph": self.graph, "layer": self.layer, "op_type": self.op_type,
                "score": self.score, "max_abs": self.max_abs, "outputs": self.outputs,
                "default_float": self.default_float, "module": self.module}


def _variant_error(model: onnx.ModelProto, path: Path, calib: Feeds, feeds: Feeds,
                   reference: dict, exclude: Sequence[str], *, flavour: QdqFlavour | str,
                   cache: Path):
    quantize_onnxruntime(model, path, calib, exclude_nodes=exclude, flavour=flavour,
                         policy=None, calibration_cache=cache)
    outs = collect_outputs(OrtRunner(path), feeds)
    stats = {name: error_stats(reference[name], outs[name]) for name in reference}
    worst = max(1.0 - s["cosine"] for s in stats.values())
    return worst, max(s["max_abs"] for s in stats.values()), stats


def layer_sensitivity(
    onnx_path: str | Path | onnx.ModelProto,
    calibration_inputs: Feeds,
    eval_inputs: Feeds | None = None,
    *,
    graph: str = "graph",
    mode: str = "only",
    flavour: QdqFlavour | str = U8S8,
    layers: Sequence[str] | None = None,
    default_float: Mapping[str, str] | None = None,
    calibration_cache: str | Path | None = None,
    progress: bool = True,
) -> list[LayerSensitivity]:
    """Ranks the compute layers of a graph by quantization sensitivity.

    Args:
        onnx_path: the FP32 graph.
        calibration_inputs: feeds to calibrate on.
        eval_inputs: feeds to measure the error on (default: the calibration feeds).
        graph: the graph's name (carried into the results).
        mode: ``only`` or ``all_but`` (see the module docstring).
        flavour: the QDQ flavour measured with (see
            :func:`~.onnxruntime_ptq.quantize_onnxruntime`).
        layers: the layers to measure (default: every compute layer).
        default_float: ``{layer: reason}`` of the default float-kept set, only recorded.
        calibration_cache: activation-range cache file to reuse or create (see
            :func:`~.onnxruntime_ptq.quantize_onnxruntime`); default: a temporary one.
        progress: show a tqdm progress bar.

    Returns:
        Most sensitive first; ties broken by graph order.

    Raises:
        InvalidArgumentError: unknown mode or layer names.
    """
    if mode not in _MODES:
        raise InvalidArgumentError(f"mode must be one of {_MODES}, got {mode!r}")
    model = load_model(onnx_path)
    index = GraphIndex(model)
    compute = [n.name for n in index.compute_nodes()]
    chosen = compute if layers is None else list(layers)
    if unknown := sorted(set(chosen) - set(compute)):
        raise InvalidArgumentError(f"not compute layers of graph {graph!r}: {unknown[:5]}")
    feeds = eval_inputs if eval_inputs is not None else calibration_inputs
    with tempfile.TemporaryDirectory(prefix="argus_sensitivity_") as tmp:
        cache = Path(calibration_cache) if calibration_cache else Path(tmp) / "ranges.json"
        measure = partial(_variant_error, model, Path(tmp) / "variant.onnx", calibration_inputs,
                          feeds, collect_outputs(OrtRunner(model), feeds), flavour=flavour,
                          cache=cache)
        base = measure([])[0] if mode == "all_but" else 0.0
        results, bar = [], tqdm(chosen, desc=f"sensitivity {graph}", disable=not progress)
        for order, layer in enumerate(bar):
            worst, max_abs, stats = measure(
                [n for n in compute if n != layer] if mode == "only" else [layer])
            names = parameter_names(index, index.nodes[layer])
            results.append((order, LayerSensitivity(
                graph, layer, index.nodes[layer].op_type,
                worst if mode == "only" else base - worst, max_abs, stats,
                (default_float or {}).get(layer), names[-1] if names else "")))
    results.sort(key=lambda item: (-item[1].score, item[0]))
    return [r for _, r in results]


def plot_sensitivity(ranking: Sequence[LayerSensitivity], png_path: str | Path, *,
                     title: str = "", top: int = 40) -> Path:
    """Renders a horizontal bar plot of the ``top`` most sensitive layers as PNG.

    Default-float layers are drawn in a different colour. Uses matplotlib's Agg canvas
    directly, so no global backend is switched.

    Returns:
        ``png_path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = list(ranking[:top])[::-1]
    fig = Figure(figsize=(9, 1.5 + 0.28 * max(len(shown), 1)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colours = ["#d62728" if r.default_float else "#1f77b4" for r in shown]
    ax.barh([r.label for r in shown], [r.score for r in shown],
            color=colours)
    ax.set_xlabel("sensitivity: worst 1 - cosine over outputs (red: float by default)")
    ax.set_title(title or "per-layer INT8 sensitivity")
    ax.tick_params(axis="y", labelsize=7)
    if shown and min(r.score for r in shown) > 0:
        ax.set_xscale("log")
    fig.tight_layout()
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(png_path))
    return png_path
