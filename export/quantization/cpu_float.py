"""Layers OpenVINO's CPU plugin does not run faster in INT8: the NNCF backend keeps them float.

Found by profiling argus_base's INT8 graphs (512², 2 threads, an Intel Xeon with AMX,
OpenVINO 2026.4; ``docs/quantization.md``, "Layers kept float for speed"):

- **Attention**: ``ScaledDotProductAttention`` operations (OpenVINO's converter makes
  them from the ViT blocks' and the cls head's attention) and MatMuls whose two inputs
  are activations (attention scores and attention × values the converter left as
  MatMuls). The plugin computes attention at the float precision, so the FakeQuantizes
  NNCF puts on its query, key and value buy nothing and stay behind as f32 FakeQuantize
  and layout Reorder nodes: about 0.3 s per backbone run, and 0.2 s on the cls head,
  whose keys are 5376 tokens.

Neither costs accuracy: a layer kept float is closer to the FP32 graph, never further.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CPU_FLOAT_REASONS", "cpu_float_ops"]

#: reason key → what the report says of it
CPU_FLOAT_REASONS = {
    "attention": "attention (ScaledDotProductAttention, MatMuls of two activations): the "
                 "CPU plugin computes it float",
}

# Ops a weight passes through on its way from a Constant (and that do not make it an
# activation): conversions and pure layout changes.
_WEIGHT_PATH = {"Convert", "Reshape", "Transpose", "Unsqueeze", "Squeeze"}


def _is_weight(value: Any) -> bool:
    node = value.get_node()
    while node.get_type_name() in _WEIGHT_PATH:
        node = node.input_value(0).get_node()
    return node.get_type_name() == "Constant"


def cpu_float_ops(ov_model: Any) -> dict[str, list[str]]:
    """The operations of an ``openvino.Model`` (FP32, before quantization) to keep float.

    Returns:
        ``{reason: [friendly names]}`` for the reasons of :data:`CPU_FLOAT_REASONS`
        (empty lists included).
    """
    found: dict[str, list[str]] = {k: [] for k in CPU_FLOAT_REASONS}
    for op in ov_model.get_ordered_ops():
        kind = op.get_type_name()
        if kind == "ScaledDotProductAttention" or (
                kind == "MatMul" and not any(_is_weight(v) for v in op.input_values())):
            found["attention"].append(op.get_friendly_name())
    return found
