"""Small read-only helpers over ONNX graphs shared by the quantization modules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import onnx

from argus_edge._errors import InvalidArgumentError

#: ONNX domains of the standard operator set; any other domain is a custom node.
STANDARD_DOMAINS = frozenset({"", "ai.onnx"})

#: Operations whose inputs are quantized: the ones that do the arithmetic.
COMPUTE_OPS: tuple[str, ...] = ("Conv", "ConvTranspose", "MatMul", "Gemm")

# Ops whose later inputs are shapes, axes or sizes, not data: only input 0 carries data.
_DATA_INPUT_0_ONLY = frozenset(
    {"Reshape", "Expand", "Slice", "Resize", "Tile", "Pad", "Squeeze", "Unsqueeze",
     "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "TopK", "Split", "Upsample"}
)
# Ops that only move or recast constant data (how exporters store transposed weights).
_CONST_PASS_OPS = frozenset({"Transpose", "Cast", "Identity", "Reshape", "DequantizeLinear",
                             "Unsqueeze", "Squeeze"})


def load_model(model: str | Path | onnx.ModelProto) -> onnx.ModelProto:
    """Loads an ONNX model (external data included) and names every unnamed node.

    Node names are how layers are excluded from quantization, so a node without one gets
    ``<op_type>_<index>``. A given ``ModelProto`` is copied, never modified.

    Raises:
        InvalidArgumentError: the file does not exist or is not an ONNX model.
    """
    if isinstance(model, onnx.ModelProto):
        proto = onnx.ModelProto()
        proto.CopyFrom(model)
    else:
        path = Path(model)
        if not path.is_file():
            raise InvalidArgumentError(f"ONNX model {str(path)!r} does not exist")
        try:
            proto = onnx.load(str(path))
        except Exception as exc:  # onnx raises DecodeError, OSError, ValueError...
            raise InvalidArgumentError(f"cannot read ONNX model {str(path)!r}: {exc}") from exc
    taken = {n.name for n in proto.graph.node if n.name}
    for i, node in enumerate(proto.graph.node):
        if not node.name:
            name = f"{node.op_type}_{i}"
            while name in taken:
                name += "_"
            node.name = name
            taken.add(name)
    return proto


def custom_ops(model: onnx.ModelProto) -> tuple[str, ...]:
    """The custom nodes of ``model`` as sorted ``"domain::op_type"`` (e.g.
    ``ai.argus::MSDeformSample``); empty for a standard-op graph."""
    return tuple(sorted({f"{n.domain}::{n.op_type}" for n in model.graph.node
                         if n.domain not in STANDARD_DOMAINS}))


class GraphIndex:
    """Producer / consumer / initializer look-ups of one graph (built once, read many)."""

    def __init__(self, model: onnx.ModelProto) -> None:
        graph = model.graph
        self.model = model
        self.initializers = {t.name for t in graph.initializer}
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = defaultdict(list)
        for node in graph.node:
            for out in node.output:
                self.producer[out] = node
            for inp in node.input:
                if inp:
                    self.consumers[inp].append(node)
        self.nodes = {n.name: n for n in graph.node}
        self.outputs = [o.name for o in graph.output]
        self.inputs = [i.name for i in graph.input if i.name not in self.initializers]

    def is_constant(self, tensor: str) -> bool:
        """Whether ``tensor`` is an initializer or computed from initializers only."""
        return bool(self.constant_sources(tensor)) or self._is_constant_node(tensor)

    def _is_constant_node(self, tensor: str) -> bool:
        node = self.producer.get(tensor)
        return node is not None and node.op_type == "Constant"

    def constant_sources(self, tensor: str, depth: int = 4) -> list[str]:
        """Initializer names that ``tensor`` is a (transposed, cast...) copy of, or []."""
        if tensor in self.initializers:
            return [tensor]
        node = self.producer.get(tensor)
        if node is None or depth == 0 or node.op_type not in _CONST_PASS_OPS:
            return []
        sources: list[str] = []
        for inp in node.input:
            if not inp:
                continue
            found = self.constant_sources(inp, depth - 1)
            if not found and not self._is_constant_node(inp):
                return []  # a dynamic input: not a constant
            sources.extend(found)
        return sources

    def data_inputs(self, node: onnx.NodeProto) -> list[str]:
        """The inputs of ``node`` that carry activations (not shapes, not constants)."""
        inputs = node.input[:1] if node.op_type in _DATA_INPUT_0_ONLY else node.input
        return [i for i in inputs if i and not self.is_constant(i)]

    def compute_nodes(self) -> Iterator[onnx.NodeProto]:
        """The quantizable compute nodes (:data:`COMPUTE_OPS`) in graph order."""
        return (n for n in self.model.graph.node if n.op_type in COMPUTE_OPS)


def module_path(node: onnx.NodeProto) -> str:
    """The torch module path a node came from (``a.b.sampling_offsets``), or ``""``.

    Read from the ``pkg.torch.onnx.name_scopes`` metadata that the dynamo exporter writes;
    the last scope is the aten call itself and is dropped.
    """
    for prop in node.metadata_props:
        if prop.key == "pkg.torch.onnx.name_scopes":
            scopes = [s.strip(" '\"") for s in prop.value.strip("[]").split(",")]
            return ".".join(s for s in scopes[:-1] if s)
    return ""
