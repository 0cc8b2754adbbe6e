"""Which operations stay in float by default, and the rules that find them.

Argus's graphs are quantized on the inputs of their compute layers (Conv, ConvTranspose,
MatMul, Gemm). A few operations are kept in float because INT8 hurts them far more than
it speeds them up (``docs/quantization.md`` has the measurements):

* op types: ``LayerNormalization``, ``Softmax`` and ``GridSample`` (the deformable
  attention's bilinear sampling) are never fed quantized tensors;
* the deformable attention's ``sampling_offsets`` and ``attention_weights`` projections:
  an offset error of one quantization step moves a sampling point by a fraction of a pixel
  on every level, and the attention logits go through a softmax;
* the heads' final prediction layers, whose outputs are the task's raw predictions.

Layers are found by the *parameters they compute with*, not by node names, which
exporters make up (``node_MatMul_51``); see :func:`parameter_names`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import onnx

from ._graph import COMPUTE_OPS, GraphIndex, module_path

__all__ = [
    "DEFAULT_FLOAT_OP_TYPES",
    "DEFAULT_HEAD_PATTERNS",
    "DEFAULT_PARAMETER_PATTERNS",
    "SensitivePolicy",
    "default_float_nodes",
    "final_layers",
    "parameter_names",
]

#: Op types whose inputs are never quantized.
DEFAULT_FLOAT_OP_TYPES: tuple[str, ...] = ("LayerNormalization", "Softmax", "GridSample")
#: Parameter-name patterns of the deformable attention's sensitive projections.
DEFAULT_PARAMETER_PATTERNS: tuple[str, ...] = ("sampling_offsets", "attention_weights")
#: Parameter-name patterns of the heads' final prediction layers (argus_edge.training.heads).
DEFAULT_HEAD_PATTERNS: tuple[str, ...] = (
    "cls_pred", "box_pred", "coef_pred", "coeff_pred", "classifier",
)

# Ops a prediction passes through on its way to a graph output (see final_layers).
_MERGE_OPS = frozenset({"Concat"})


@dataclass(frozen=True)
class SensitivePolicy:
    """The default float-kept set of a graph.

    Attributes:
        op_types: ONNX op types whose inputs stay float.
        parameter_patterns: a compute layer stays float when one of its
            :func:`parameter_names` contains one of these substrings.
        extra_patterns: more substrings from the caller (e.g. ``"head.final"``).
        final_layers: also keep the compute layers that directly produce a graph output
            (see :func:`final_layers`) float.
    """

    op_types: tuple[str, ...] = DEFAULT_FLOAT_OP_TYPES
    parameter_patterns: tuple[str, ...] = DEFAULT_PARAMETER_PATTERNS + DEFAULT_HEAD_PATTERNS
    extra_patterns: tuple[str, ...] = ()
    final_layers: bool = True

    @property
    def patterns(self) -> tuple[str, ...]:
        """All parameter-name patterns, the defaults then the caller's."""
        return tuple(self.parameter_patterns) + tuple(self.extra_patterns)


def parameter_names(model: onnx.ModelProto | GraphIndex, node: onnx.NodeProto) -> tuple[str, ...]:
    """The names a compute layer is known by, for pattern matching.

    The rule:

    1. every initializer that reaches the node's inputs through constant-only ops
       (``Transpose``, ``Cast``, ``Reshape``, ``DequantizeLinear``...), e.g. ``stem.weight``;
    2. the torch module path recorded in the node's metadata by the dynamo exporter
       (``adapter.interactions.0.injector.attn.sampling_offsets``), when present;
    3. only when there is no such metadata: the initializer of the bias ``Add`` right
       after a ``MatMul``/``Gemm``. The dynamo exporter constant-folds ``linear.weight.T``
       into an anonymous ``val_52`` but keeps ``x.sampling_offsets.bias`` named. Caveat:
       the exporter also merges initializers with identical values into one (the first
       name wins), so in untrained models every zero bias of one shape carries one name.
       Trained biases differ, and Argus's offset / attention-weight biases have shapes
       (heads x levels x points [x 2]) no other layer has.

    Args:
        model: the graph (or its index, to match many nodes without re-indexing).
        node: a node of that graph.

    Returns:
        The names found, without duplicates, in the order above (possibly empty, e.g. for
        an activation-by-activation ``MatMul``); the last one best says what the layer is.
    """
    index = model if isinstance(model, GraphIndex) else GraphIndex(model)
    names: list[str] = []
    for inp in node.input:
        if inp:
            names.extend(index.constant_sources(inp))
    path = module_path(node)
    if path:
        names.append(path)
    elif node.op_type in ("MatMul", "Gemm") and node.output:
        for consumer in index.consumers.get(node.output[0], []):
            if consumer.op_type in ("Add", "Sub"):
                names.extend(i for i in consumer.input if i in index.initializers)
    return tuple(dict.fromkeys(names))


def final_layers(index: GraphIndex) -> dict[str, str]:
    """The compute layers that directly produce a graph output.

    Walks back from every graph output through ops with a single activation input
    (reshapes, activations, scaling by constants, resizes) and through ``Concat`` (the
    dense heads concatenate their levels), and stops at the first compute layer on each
    path. An op that merges two activations (a residual ``Add``) ends the walk, so a
    backbone whose outputs come out of a normalisation of a sum has no final layers.

    Returns:
        ``{node name: graph output name}``.
    """
    found: dict[str, str] = {}
    for output in index.outputs:
        stack, seen = [output], set()
        while stack:
            node = index.producer.get(stack.pop())
            if node is None or node.name in seen:
                continue
            seen.add(node.name)
            if node.op_type in COMPUTE_OPS:
                found.setdefault(node.name, output)
                continue
            data = index.data_inputs(node)
            if len(data) == 1 or node.op_type in _MERGE_OPS:
                stack.extend(data)
    return found


def default_float_nodes(model: onnx.ModelProto | GraphIndex,
                        policy: SensitivePolicy | None = None) -> dict[str, str]:
    """The nodes a policy keeps in float, each with the reason.

    Args:
        model: the FP32 graph (or its index).
        policy: the rules; ``None`` means :class:`SensitivePolicy` defaults.

    Returns:
        ``{node name: reason}`` in graph order; reasons read ``op type Softmax``,
        ``parameter 'attn.sampling_offsets.bias' matches 'sampling_offsets'`` or
        ``final layer of output 'logits'``.
    """
    index = model if isinstance(model, GraphIndex) else GraphIndex(model)
    policy = policy or SensitivePolicy()
    finals = final_layers(index) if policy.final_layers else {}
    reasons: dict[str, str] = {}
    for node in index.model.graph.node:
        if node.op_type in policy.op_types:
            reasons[node.name] = f"op type {node.op_type}"
        elif node.op_type in COMPUTE_OPS:
            reason = _pattern_reason(parameter_names(index, node), policy.patterns)
            if reason is None and node.name in finals:
                reason = f"final layer of output {finals[node.name]!r}"
            if reason is not None:
                reasons[node.name] = reason
    return reasons


def _pattern_reason(names: Sequence[str], patterns: Sequence[str]) -> str | None:
    for name in names:
        for pattern in patterns:
            if pattern and pattern in name:
                return f"parameter {name!r} matches {pattern!r}"
    return None
