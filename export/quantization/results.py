"""The typed results of a quantization run (what the reports are written from)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .gate import Gate
from .sensitivity import LayerSensitivity

__all__ = [
    "BackendResult",
    "FloatLayer",
    "MetricDrop",
    "OutputComparison",
    "QuantizationMethod",
    "QuantizationResult",
    "RoundRecord",
]


@dataclass(frozen=True)
class OutputComparison:
    """FP32 vs INT8 on one graph output, over the validation feeds."""

    graph: str
    output: str
    cosine: float
    max_abs: float
    mean_abs: float


@dataclass(frozen=True)
class MetricDrop:
    """One task metric, FP32 vs INT8.

    Attributes:
        drop: how much worse INT8 is, in the metric's units: ``fp32 - int8`` for
            higher-is-better metrics, ``int8 - fp32`` for lower-is-better ones. Negative
            means INT8 is better; ``inf`` when INT8 lost a metric FP32 has; ``None``
            ("n/a") when the metric is NaN in FP32 (undefined on the validation set).
        direction: ``higher`` or ``lower`` (is better).
        limit: the gate's max allowed drop, ``None`` when this metric is not gated.
        passed: ``drop <= limit``, ``None`` when not gated (or n/a).
    """

    task: str
    metric: str
    direction: str
    fp32: float
    int8: float
    drop: float | None
    limit: float | None
    passed: bool | None


@dataclass(frozen=True)
class FloatLayer:
    """A compute layer kept in float, and why.

    Attributes:
        reason: ``default`` (the float-kept policy) or ``gate`` (restored by the gate).
        detail: the policy rule that matched, or the gate failure that caused it.
        score: the layer's sensitivity score, when measured.
        round: the gate round that restored it (1-based), ``None`` for defaults.
    """

    graph: str
    layer: str
    op_type: str
    reason: str
    detail: str
    score: float | None = None
    round: int | None = None


@dataclass(frozen=True)
class QuantizationMethod:
    """How one INT8 artifact is quantized, read back from the artifact (:mod:`.method`).

    Attributes:
        tool: the quantizer and its settings as the artifact records them (``NNCF 3.4.0
            model_type=transformer preset=mixed``, ``ONNX Runtime QDQ``).
        smooth_quant_alpha: SmoothQuant's MatMul alpha, ``None`` when it was off or the
            tool has none.
        smoothed_layers: compute layers whose input SmoothQuant rescaled.
        layernorm_smoothing_alpha: alpha of the SmoothQuant folded into LayerNorms
            (:mod:`.smoothing`), ``None`` when not folded.
        smoothed_layernorms: LayerNorms it was folded into.
        activation_quantizers: quantizers on activations (FakeQuantize / QuantizeLinear).
        per_channel_activations: how many of them have more than one range (per channel
            or per token); 0 means every activation is quantized per tensor.
        activation_type: ``u8 asymmetric``, ``s8 symmetric``, ... (``mixed`` when they differ).
        weight_quantizers: int8 weight tensors.
        per_channel_weights: how many of them have one scale per output channel.
        compute_layers: Conv / ConvTranspose / MatMul / Gemm layers of the graph.
        float_layers: compute layers none of whose activation inputs is quantized.
    """

    tool: str
    smooth_quant_alpha: float | None
    smoothed_layers: int
    activation_quantizers: int
    per_channel_activations: int
    activation_type: str
    weight_quantizers: int
    per_channel_weights: int
    compute_layers: int
    float_layers: int
    layernorm_smoothing_alpha: float | None = None
    smoothed_layernorms: int = 0

    def smoothing(self) -> str:
        """Which SmoothQuant was applied: folded into LayerNorms, NNCF's, both or none."""
        parts = []
        if self.layernorm_smoothing_alpha is not None and self.smoothed_layernorms:
            parts.append(f"folded into {self.smoothed_layernorms} LayerNorms "
                         f"(alpha {self.layernorm_smoothing_alpha:g})")
        if self.smooth_quant_alpha is not None and self.smoothed_layers:
            parts.append(f"NNCF's on {self.smoothed_layers} layers "
                         f"(alpha {self.smooth_quant_alpha:g})")
        return " + ".join(parts) or "off"

    def summary(self) -> str:
        """One line: SmoothQuant, activation and weight granularity, float layers."""
        sq = f"SmoothQuant {self.smoothing()}"
        acts = ("per tensor" if not self.per_channel_activations else
                f"{self.per_channel_activations} of them per channel/token")
        weights = ("per output channel" if self.per_channel_weights == self.weight_quantizers
                   else f"{self.per_channel_weights} of {self.weight_quantizers} per channel")
        return (f"{sq}; {self.activation_quantizers} activation quantizers ({self.activation_type}, "
                f"{acts}); {self.weight_quantizers} int8 weights ({weights}); "
                f"{self.compute_layers - self.float_layers}/{self.compute_layers} compute layers "
                f"quantized, {self.float_layers} float")


@dataclass
class RoundRecord:
    """One quantize-and-check attempt of one backend (round 0 = the defaults only)."""

    round: int
    restored: list[str]
    min_cosine: dict[str, float]
    passed: bool
    failures: list[str]


@dataclass
class BackendResult:
    """Everything about one backend's INT8 graphs (of the last round).

    ``methods`` is ``{graph: how its artifact is quantized}``, read from the artifacts
    when the reports are written (:func:`~.report.write_reports`).
    """

    backend: str
    passed: bool = False
    rounds: list[RoundRecord] = field(default_factory=list)
    float_layers: list[FloatLayer] = field(default_factory=list)
    float_op_types: dict[str, dict[str, int]] = field(default_factory=dict)
    outputs: list[OutputComparison] = field(default_factory=list)
    drops: list[MetricDrop] = field(default_factory=list)
    int8_metrics: dict[str, dict[str, float]] | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    methods: dict[str, QuantizationMethod] = field(default_factory=dict)


@dataclass
class QuantizationResult:
    """The outcome of :func:`~argus_edge.export.quantization.quantize_graphs`.

    Attributes:
        backends: ``{backend: result}``.
        gate: the gate that was applied.
        sensitivity: ``{graph: ranking}``, most sensitive first.
        sensitivity_plots: ``{graph: PNG path}``.
        fp32_metrics: the task metrics of the FP32 graphs (``None``: no evaluator).
        num_calibration: calibration feeds per graph.
        num_validation: validation feeds per graph.
        validation_is_calibration: the outputs were compared on the calibration feeds.
        report_json: path of the JSON report, once written.
        report_markdown: path of the Markdown report, once written.
    """

    backends: dict[str, BackendResult]
    gate: Gate
    sensitivity: dict[str, list[LayerSensitivity]] = field(default_factory=dict)
    sensitivity_plots: dict[str, str] = field(default_factory=dict)
    fp32_metrics: dict[str, dict[str, float]] | None = None
    num_calibration: dict[str, int] = field(default_factory=dict)
    num_validation: dict[str, int] = field(default_factory=dict)
    validation_is_calibration: bool = False
    report_json: str | None = None
    report_markdown: str | None = None

    @property
    def passed(self) -> bool:
        """Whether every backend passed the gate."""
        return all(b.passed for b in self.backends.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the content of ``report.json``)."""
        return {
            "passed": self.passed,
            "gate": dataclasses.asdict(self.gate),
            "num_calibration": self.num_calibration,
            "num_validation": self.num_validation,
            "validation_is_calibration": self.validation_is_calibration,
            "fp32_metrics": self.fp32_metrics,
            "backends": {name: dataclasses.asdict(b) for name, b in self.backends.items()},
            "sensitivity": {g: [r.to_dict() for r in ranking]
                            for g, ranking in self.sensitivity.items()},
            "sensitivity_plots": self.sensitivity_plots,
        }
