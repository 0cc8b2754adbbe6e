"""The gather-bound core of the adapter's deformable attention as one custom ONNX node.

``ai.argus::MSDeformSample`` (version 1) replaces, per injector and per extractor, the
softmax, the sampling-location arithmetic, one ``GridSample`` per level and the weighted
sum of multi-scale deformable attention. Everything around it (LayerNorms, the value,
offset, attention-weight and output projections, layer scale, residual, Argus's token
scaling) stays standard ONNX ops: plain MatMuls that every backend runs at full speed and
that INT8 tooling quantizes. The contract is in ``docs/custom_ops.md``; this module holds
its Python implementations:

- :func:`ms_deform_sample`: a ``torch.library`` custom op whose PyTorch body is the
  training model's own :func:`~argus_edge.training.models.layers.ms_deform_sample`;
- :data:`TRANSLATION_TABLE`: the dynamo exporter's translation of that op into the node;
- :func:`ms_deform_sample_numpy` / :class:`MSDeformSampleRef`: a NumPy implementation,
  also for ``onnx.reference.ReferenceEvaluator``;
- :class:`SampleNodeAttention`: an ``MSDeformAttn`` whose core is the custom op (export
  mode, see :func:`~argus_edge.export.deform_op.use_custom_deform`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import onnxscript
import torch
from onnx.reference.op_run import OpRun
from torch import nn

from argus_edge.training.models.layers import MSDeformAttn
from argus_edge.training.models.layers import ms_deform_sample as _torch_sample

__all__ = [
    "DOMAIN",
    "OP_TYPE",
    "OP_VERSION",
    "MSDeformSampleRef",
    "SampleNodeAttention",
    "TRANSLATION_TABLE",
    "bilinear_zeros",
    "ms_deform_sample",
    "ms_deform_sample_numpy",
    "pairs",
    "register_onnx_schema",
    "register_schema",
    "sampling_attributes",
]

DOMAIN = "ai.argus"
OP_TYPE = "MSDeformSample"
OP_VERSION = 1


def pairs(flat: Sequence[int]) -> list[tuple[int, int]]:
    """``[h0, w0, h1, w1, ...]`` as ``[(h0, w0), (h1, w1), ...]``."""
    if len(flat) % 2:
        raise ValueError(f"spatial_shapes must hold (h, w) pairs, got {list(flat)}")
    return [(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]


# ----------------------------------------------------------------------------- PyTorch
@torch.library.custom_op("argus::ms_deform_sample", mutates_args=())
def ms_deform_sample(value: torch.Tensor, reference_points: torch.Tensor,
                     offsets: torch.Tensor, logits: torch.Tensor, n_heads: int, n_levels: int,
                     n_points: int, spatial_shapes: list[int]) -> torch.Tensor:
    """PyTorch reference of ``ai.argus::MSDeformSample`` (see ``docs/custom_ops.md``).

    Args:
        value: (B, S, M·Dh) projected values, S = Σ h·w over the levels.
        reference_points: (Q, 2) normalised (x, y) reference of each query.
        offsets: (B, Q, M·L·P·2) sampling offsets in pixels of each level.
        logits: (B, Q, M·L·P) attention logits.
        n_heads, n_levels, n_points: M, L, P.
        spatial_shapes: ``[h0, w0, h1, w1, ...]`` of the value levels.

    Returns:
        (B, Q, M·Dh) the attention-weighted samples, heads concatenated.
    """
    shapes = pairs(spatial_shapes)
    if len(shapes) != n_levels:
        raise ValueError(f"spatial_shapes has {len(shapes)} levels, n_levels is {n_levels}")
    return _torch_sample(value, reference_points[None], offsets, logits, shapes, n_heads,
                         n_points)


@ms_deform_sample.register_fake
def _ms_deform_sample_fake(value, reference_points, offsets, logits, *args, **kwargs):
    return value.new_empty(offsets.shape[0], offsets.shape[1], value.shape[2])


class SampleNodeAttention(nn.Module):
    """An :class:`MSDeformAttn` whose sampling core is the ``MSDeformSample`` custom op.

    Holds the attention's own projections under the same names (the state dict is
    unchanged) and computes what ``MSDeformAttn.forward`` computes.

    Args:
        attn: the attention to wrap (its modules are shared, not copied).
    """

    def __init__(self, attn: MSDeformAttn) -> None:
        super().__init__()
        self.n_levels, self.n_heads, self.n_points = attn.n_levels, attn.n_heads, attn.n_points
        self.sampling_offsets = attn.sampling_offsets
        self.attention_weights = attn.attention_weights
        self.value_proj = attn.value_proj
        self.output_proj = attn.output_proj

    def forward(self, query: torch.Tensor, ref_points: torch.Tensor, feat: torch.Tensor,
                shapes: Sequence[tuple[int, int]]) -> torch.Tensor:
        """Same signature and result as ``MSDeformAttn.forward``."""
        if len(shapes) != self.n_levels:
            raise ValueError(f"expected {self.n_levels} levels, got {len(shapes)}")
        sampled = ms_deform_sample(
            self.value_proj(feat), ref_points.reshape(-1, 2), self.sampling_offsets(query),
            self.attention_weights(query), self.n_heads, self.n_levels, self.n_points,
            [v for hw in shapes for v in hw])
        return self.output_proj(sampled)


# ----------------------------------------------------------------------------- ONNX
_INPUTS = (
    ("value", "(B, S, M*Dh) projected values of all levels"),
    ("reference_points", "(Q, 2) normalised (x, y) per query"),
    ("offsets", "(B, Q, M*L*P*2) sampling offsets in pixels of each level"),
    ("logits", "(B, Q, M*L*P) attention logits"),
)


def sampling_attributes() -> list[onnx.defs.OpSchema.Attribute]:
    """The attributes of both ``ai.argus`` nodes: n_heads, n_levels, n_points,
    spatial_shapes."""
    attr, kind = onnx.defs.OpSchema.Attribute, onnx.defs.OpSchema.AttrType
    return [attr("n_heads", kind.INT, "M"), attr("n_levels", kind.INT, "L"),
            attr("n_points", kind.INT, "P"),
            attr("spatial_shapes", kind.INTS, "[h0, w0, h1, w1, ...] of the levels")]


def register_schema(op_type: str, version: int, make_schema) -> None:
    """Register ``make_schema()`` with ``onnx.defs`` unless ``DOMAIN::op_type`` of that
    version is there already (idempotent)."""
    try:
        onnx.defs.get_schema(op_type, version, DOMAIN)
    except onnx.defs.SchemaError:
        onnx.defs.register_schema(make_schema())


def _op_schema() -> onnx.defs.OpSchema:
    """The node's ONNX schema: lets onnx.checker validate it and shape inference pass it."""
    schema_cls = onnx.defs.OpSchema
    param = schema_cls.FormalParameter
    schema = schema_cls(
        OP_TYPE, DOMAIN, OP_VERSION,
        doc="Sampling core of multi-scale deformable attention (docs/custom_ops.md).",
        inputs=[param(n, "T", d) for n, d in _INPUTS],
        outputs=[param("output", "T", "(B, Q, M*Dh) weighted samples, heads concatenated")],
        type_constraints=[("T", ["tensor(float)"], "float32 tensors")],
        attributes=sampling_attributes())
    schema.set_type_and_shape_inference_function(_infer_output)
    return schema


def _infer_output(ctx) -> None:
    value, offsets = ctx.get_input_type(0), ctx.get_input_type(2)
    out = onnx.TypeProto()
    out.tensor_type.elem_type = value.tensor_type.elem_type
    if value.tensor_type.HasField("shape") and offsets.tensor_type.HasField("shape"):
        dims = [offsets.tensor_type.shape.dim[0], offsets.tensor_type.shape.dim[1],
                value.tensor_type.shape.dim[2]]
        for d in dims:
            out.tensor_type.shape.dim.add().CopyFrom(d)
    ctx.set_output_type(0, out)


def register_onnx_schema() -> None:
    """Register the node's schema with ``onnx.defs`` (idempotent; done at import)."""
    register_schema(OP_TYPE, OP_VERSION, _op_schema)


register_onnx_schema()
_ARGUS_OPSET = onnxscript.values.Opset(DOMAIN, OP_VERSION)


def _onnx_ms_deform_sample(value, reference_points, offsets, logits, n_heads: int = 1,
                           n_levels: int = 1, n_points: int = 1,
                           spatial_shapes: Sequence[int] = ()):
    """Dynamo-exporter translation: one ``ai.argus::MSDeformSample`` node."""
    return _ARGUS_OPSET.MSDeformSample(
        value, reference_points, offsets, logits, n_heads=int(n_heads),
        n_levels=int(n_levels), n_points=int(n_points),
        spatial_shapes=[int(v) for v in spatial_shapes])


TRANSLATION_TABLE = {torch.ops.argus.ms_deform_sample.default: _onnx_ms_deform_sample}


# ----------------------------------------------------------------------------- NumPy
def bilinear_zeros(v: np.ndarray, h: int, w: int, loc: np.ndarray) -> np.ndarray:
    """grid_sample(bilinear, zeros, align_corners=False) of one level.

    Args:
        v: (B, h·w, M, Dh) level values, row-major pixels.
        loc: (B, Q, M, P, 2) normalised (x, y).

    Returns:
        (B, Q, M, P, Dh)
    """
    b, _, m, _ = v.shape
    bi = np.arange(b)[:, None, None, None]
    mi = np.arange(m)[None, None, :, None]
    with np.errstate(invalid="ignore"):  # non-finite offsets: such a point contributes 0
        x = loc[..., 0] * np.float32(w) - np.float32(0.5)
        y = loc[..., 1] * np.float32(h) - np.float32(0.5)
        x0, y0 = np.floor(x), np.floor(y)
        fx, fy = x - x0, y - y0
        out = np.zeros(x.shape + (v.shape[-1],), np.float32)
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                xi = np.nan_to_num(x0, nan=-2, posinf=-2, neginf=-2).astype(np.int64) + dx
                yi = np.nan_to_num(y0, nan=-2, posinf=-2, neginf=-2).astype(np.int64) + dy
                inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
                idx = np.where(inside, yi * w + xi, 0)
                corner = v[bi, idx, mi]  # (B, Q, M, P, Dh)
                out += corner * np.where(inside, wx * wy, 0)[..., None]
    return out


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def ms_deform_sample_numpy(value, reference_points, offsets, logits, *, n_heads: int,
                           n_levels: int, n_points: int,
                           spatial_shapes: Sequence[int]) -> np.ndarray:
    """NumPy float32 implementation of the node, step by step as ``docs/custom_ops.md``.

    Arguments as :func:`ms_deform_sample`, as NumPy arrays.

    Returns:
        (B, Q, M·Dh) float32.
    """
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    value, ref, offsets, logits = f32(value), f32(reference_points), f32(offsets), f32(logits)
    b, q, _ = offsets.shape
    m, n_l, n_p = n_heads, n_levels, n_points
    offsets = offsets.reshape(b, q, m, n_l, n_p, 2)
    weights = _softmax(logits.reshape(b, q, m, n_l * n_p)).reshape(b, q, m, n_l, n_p)
    v = value.reshape(b, value.shape[1], m, -1)
    acc = np.zeros((b, q, m, v.shape[-1]), np.float32)
    start = 0
    for lvl, (h, w) in enumerate(pairs(spatial_shapes)):
        norm = np.array([w, h], np.float32)
        loc = ref[None, :, None, None, :] + offsets[:, :, :, lvl] / norm  # (B, Q, M, P, 2)
        sampled = bilinear_zeros(v[:, start:start + h * w], h, w, loc)
        acc += (sampled * weights[:, :, :, lvl, :, None]).sum(3)
        start += h * w
    return acc.reshape(b, q, -1)


class MSDeformSample(OpRun):
    """``ai.argus::MSDeformSample`` for ``onnx.reference.ReferenceEvaluator``.

    The evaluator dispatches on ``(op_domain, class name)``, so the class carries the op's
    name; :data:`MSDeformSampleRef` is the same class under an unambiguous import name.
    """

    op_domain = DOMAIN

    def _run(self, value, reference_points, offsets, logits, n_heads=None, n_levels=None,
             n_points=None, spatial_shapes=None):
        out = ms_deform_sample_numpy(
            value, reference_points, offsets, logits, n_heads=int(n_heads),
            n_levels=int(n_levels), n_points=int(n_points),
            spatial_shapes=[int(v) for v in spatial_shapes])
        return (out,)


MSDeformSampleRef = MSDeformSample
