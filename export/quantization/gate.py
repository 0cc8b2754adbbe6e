"""The accuracy gate: when INT8 is good enough, and what to put back in float when not.

The gate passes when

* every graph output has ``cosine(FP32, INT8) >= min_cosine`` on the validation feeds, and
* every gated task metric dropped by at most its limit (in the metric's own units, with
  the metric's direction: a lower-is-better RMSE "drops" when it grows).

When it fails, the next ``layers_per_round`` most sensitive layers (from the sensitivity
ranking, skipping layers already float) of every graph involved in a failure go back to
float, and the backend is quantized again; at most ``max_rounds`` such rounds. A failing
graph output involves its graph; a failing task involves the graphs that compute it.
Everything is ordered, so the same inputs give the same rounds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from argus_edge._errors import InvalidArgumentError

__all__ = ["Gate", "Verdict", "check_gate", "layers_to_restore", "parse_max_drop"]

_TOLERANCE = 1e-12  # float noise: identical outputs must pass a cosine gate of 1.0


@dataclass(frozen=True)
class Gate:
    """Accuracy requirements of the INT8 graphs.

    Attributes:
        min_cosine: minimum cosine similarity of every graph output to FP32.
        max_drop: max allowed metric drop, keyed by ``task`` (every metric of the task),
            ``task.metric`` (one metric; wins over ``task``) or ``*`` (every task).
            Metrics with no limit are reported but not gated.
        max_rounds: rounds of restoring layers to float after the first attempt.
        layers_per_round: layers restored per involved graph and round.
    """

    min_cosine: float = 0.99
    max_drop: dict[str, float] = field(default_factory=dict)
    max_rounds: int = 3
    layers_per_round: int = 2

    def __post_init__(self) -> None:
        if not 0.0 < self.min_cosine <= 1.0:
            raise InvalidArgumentError(f"min_cosine must be in (0, 1], got {self.min_cosine}")
        if self.max_rounds < 0 or self.layers_per_round < 1:
            raise InvalidArgumentError(
                f"max_rounds must be >= 0 and layers_per_round >= 1, got {self.max_rounds} "
                f"and {self.layers_per_round}")
        bad = {k: v for k, v in self.max_drop.items() if not v >= 0.0}
        if bad:
            raise InvalidArgumentError(f"max drops must be >= 0, got {bad}")

    def limit(self, task: str, metric: str) -> float | None:
        """The max allowed drop of ``task``'s ``metric``, or ``None`` (not gated)."""
        for key in (f"{task}.{metric}", task, "*"):
            if key in self.max_drop:
                return float(self.max_drop[key])
        return None


def parse_max_drop(text: str) -> dict[str, float]:
    """Parses ``det=0.02,sem=0.03,depth.rmse=0.05,*=0.01`` (also ``default=`` for ``*``).

    Raises:
        InvalidArgumentError: an entry that is not ``key=number`` or a negative number.
    """
    limits: dict[str, float] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        key, sep, value = entry.partition("=")
        key = key.strip()
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not key or not number >= 0.0:
            raise InvalidArgumentError(
                f"bad --max-drop entry {entry!r}: expected task=DROP with DROP >= 0 "
                "(e.g. det=0.02,depth.rmse=0.05,*=0.01)")
        limits["*" if key == "default" else key] = number
    return limits


@dataclass(frozen=True)
class Verdict:
    """The gate's decision on one attempt.

    Attributes:
        passed: everything within the limits.
        graphs: graphs with an output below ``min_cosine``.
        tasks: tasks with a metric over its limit.
        failures: one human-readable line per failure.
    """

    passed: bool
    graphs: tuple[str, ...]
    tasks: tuple[str, ...]
    failures: tuple[str, ...]


def check_gate(gate: Gate, outputs: Sequence, drops: Sequence) -> Verdict:
    """Applies the gate to output comparisons and metric drops.

    Args:
        gate: the requirements.
        outputs: :class:`~.results.OutputComparison` items.
        drops: :class:`~.results.MetricDrop` items (their ``passed`` is already set).

    Returns:
        The verdict.
    """
    failures: list[str] = []
    graphs: dict[str, None] = {}
    tasks: dict[str, None] = {}
    for o in outputs:
        if o.cosine < gate.min_cosine - _TOLERANCE:
            graphs[o.graph] = None
            failures.append(f"{o.graph}/{o.output}: cosine {o.cosine:.6f} < {gate.min_cosine}")
    for d in drops:
        if d.passed is False:
            tasks[d.task] = None
            failures.append(f"{d.task}.{d.metric}: drop {d.drop:.6g} > {d.limit:.6g} "
                            f"({d.direction} is better; FP32 {d.fp32:.6g}, INT8 {d.int8:.6g})")
    return Verdict(not failures, tuple(graphs), tuple(tasks), tuple(failures))


def layers_to_restore(
    verdict: Verdict,
    rankings: Mapping[str, Sequence],
    is_float: Callable[[str, str], bool],
    task_graphs: Mapping[str, Sequence[str]],
    k: int,
) -> list[tuple[str, object]]:
    """The next layers to put back in float after a failed attempt.

    Args:
        verdict: the failed verdict.
        rankings: ``{graph: LayerSensitivity items, most sensitive first}``.
        is_float: ``is_float(graph, layer)``: already float (or cannot be restored on
            this backend) and so skipped.
        task_graphs: ``{task: graphs that compute it}``; a task not listed involves
            every graph.
        k: layers per involved graph.

    Returns:
        ``[(graph, LayerSensitivity)]`` in graph order, then ranking order; empty when
        nothing is left to restore.
    """
    involved = dict.fromkeys(verdict.graphs)
    for task in verdict.tasks:
        involved.update(dict.fromkeys(task_graphs.get(task, list(rankings))))
    chosen = []
    for graph in [g for g in rankings if g in involved]:
        fresh = [r for r in rankings[graph] if not is_float(graph, r.layer)]
        chosen.extend((graph, r) for r in fresh[:k])
    return chosen
