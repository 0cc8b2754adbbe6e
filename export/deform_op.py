"""Export mode for the adapter's deformable attention, and the legacy fused node.

Graphs exported with ``deform="custom"`` hold one ``ai.argus::MSDeformSample`` node per
injector and per extractor (``export/ms_deform_sample.py``): the gather-bound sampling
core, with the projections, LayerNorms, residual and token scaling as standard ops around
it. :func:`use_custom_deform` switches a model to it.

``ai.argus::ScaledDeformAttn`` (version 1) is the node argus-edge 0.2 exported: the whole
attention fused (token scaling, query LayerNorm, both query projections, sampling, output
projection, layer scale, residual) in one node whose kernel ran its projections on
libargus's own float32 GEMM, out of reach of bf16 and INT8. The runtime still runs bundles
that hold it; ``use_custom_deform(model, node="fused")`` still exports it (for those
bundles' tests and benchmarks). The contract of both is in ``docs/custom_ops.md``; for the
fused node this module holds

- :func:`scaled_deform_attn`: a ``torch.library`` custom op whose PyTorch reference reuses
  the model's own math (``token_scale``, ``ms_deform_attn_core``);
- the dynamo exporter's translation of that op into the custom-domain node (in
  :data:`CUSTOM_TRANSLATION_TABLE`, with ``MSDeformSample``'s);
- :class:`ScaledDeformAttnRef`: a NumPy implementation for
  ``onnx.reference.ReferenceEvaluator``, so the custom-node graph runs in Python without
  the C++ kernel.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import onnx
import onnxscript
import torch
import torch.nn.functional as F
from onnx.reference.op_run import OpRun
from torch import nn

from argus_edge.training.models.adapter import Extractor, InteractionBlock, Injector, token_scale
from argus_edge.training.models.layers import MSDeformAttn, ms_deform_attn_core

from . import ms_deform_sample as sample_node

__all__ = [
    "CUSTOM_TRANSLATION_TABLE",
    "DEFORM_NODES",
    "DOMAIN",
    "OP_TYPE",
    "OP_VERSION",
    "register_onnx_schema",
    "TOKEN_SCALE_EPS",
    "CustomDeformInteraction",
    "ScaledDeformAttnRef",
    "scaled_deform_attn",
    "scaled_deform_attn_numpy",
    "spread_deform_init",
    "use_custom_deform",
]

DOMAIN = sample_node.DOMAIN
OP_TYPE = "ScaledDeformAttn"
OP_VERSION = 1
TOKEN_SCALE_EPS = 1e-6  # the lower clamp of mean‖x‖₂ in ``token_scale``


# ----------------------------------------------------------------------------- PyTorch
@torch.library.custom_op("argus::scaled_deform_attn", mutates_args=())
def scaled_deform_attn(query: torch.Tensor, value: torch.Tensor,
                       reference_points: torch.Tensor, norm_weight: torch.Tensor,
                       norm_bias: torch.Tensor, offset_weight: torch.Tensor,
                       offset_bias: torch.Tensor, attn_weight: torch.Tensor,
                       attn_bias: torch.Tensor, output_weight: torch.Tensor,
                       output_bias: torch.Tensor, gamma: torch.Tensor | None, n_heads: int,
                       n_levels: int, n_points: int, spatial_shapes: list[int],
                       token_scaling: bool, eps: float) -> torch.Tensor:
    """PyTorch reference of ``ai.argus::ScaledDeformAttn`` (see ``docs/custom_ops.md``).

    Args:
        query: (B, Q, D) query tokens, unscaled; also the residual.
        value: (B, S, M·Dh) projected values, S = Σ h·w over the levels.
        reference_points: (Q, 2) normalised (x, y) reference of each query.
        norm_weight, norm_bias: (D,) query LayerNorm.
        offset_weight, offset_bias: (M·L·P·2, D), (M·L·P·2,) sampling-offset projection.
        attn_weight, attn_bias: (M·L·P, D), (M·L·P,) attention-weight projection.
        output_weight, output_bias: (D, M·Dh), (D,) output projection.
        gamma: (D,) layer scale, or None for 1.
        n_heads, n_levels, n_points: M, L, P.
        spatial_shapes: ``[h0, w0, h1, w1, ...]`` of the value levels.
        token_scaling: scale the query by √D / mean‖x‖₂ and undo it after the residual.
        eps: epsilon of the query LayerNorm.

    Returns:
        (B, Q, D) the updated query tokens.
    """
    shapes = sample_node.pairs(spatial_shapes)
    b, q, d = query.shape
    s = token_scale(query) if token_scaling else query.new_ones(b, 1, 1)
    x = query * s
    xn = F.layer_norm(x, (d,), norm_weight, norm_bias, eps)
    offsets = F.linear(xn, offset_weight, offset_bias).view(b, q, n_heads, n_levels, n_points, 2)
    weights = F.linear(xn, attn_weight, attn_bias).view(b, q, n_heads, n_levels * n_points)
    weights = weights.softmax(-1).view(b, q, n_heads, n_levels, n_points)
    normalizer = torch.tensor([[w, h] for h, w in shapes], dtype=query.dtype,
                              device=query.device)
    locations = (reference_points.view(1, q, 1, 1, 1, 2)
                 + offsets / normalizer[None, None, None, :, None, :])
    sampled = ms_deform_attn_core(value.view(b, value.shape[1], n_heads, -1), shapes,
                                  locations, weights)
    attn = F.linear(sampled, output_weight, output_bias)
    out = x + (attn if gamma is None else gamma * attn)
    return out / s


@scaled_deform_attn.register_fake
def _scaled_deform_attn_fake(query, value, reference_points, *args, **kwargs):
    return torch.empty_like(query)


# ----------------------------------------------------------------------------- ONNX
_INPUTS = (
    ("query", "(B, Q, D) query tokens, unscaled; the residual"),
    ("value", "(B, S, M*Dh) projected values of all levels"),
    ("reference_points", "(Q, 2) normalised (x, y) per query"),
    ("norm_weight", "(D,) query LayerNorm scale"),
    ("norm_bias", "(D,) query LayerNorm shift"),
    ("offset_weight", "(M*L*P*2, D) sampling-offset projection"),
    ("offset_bias", "(M*L*P*2,)"),
    ("attn_weight", "(M*L*P, D) attention-weight projection"),
    ("attn_bias", "(M*L*P,)"),
    ("output_weight", "(D, M*Dh) output projection"),
    ("output_bias", "(D,)"),
)


def _op_schema() -> onnx.defs.OpSchema:
    """The node's ONNX schema: lets onnx.checker validate it and shape inference pass it."""
    schema_cls = onnx.defs.OpSchema
    param, attr = schema_cls.FormalParameter, schema_cls.Attribute
    default = onnx.helper.make_attribute
    schema = schema_cls(
        OP_TYPE, DOMAIN, OP_VERSION,
        doc="Argus scaled multi-scale deformable cross-attention (docs/custom_ops.md).",
        inputs=[param(n, "T", d) for n, d in _INPUTS] + [
            param("gamma", "T", "(D,) layer scale; absent: 1",
                  param_option=schema_cls.FormalParameterOption.Optional)],
        outputs=[param("output", "T", "(B, Q, D) updated query tokens")],
        type_constraints=[("T", ["tensor(float)"], "float32 tensors")],
        attributes=[*sample_node.sampling_attributes(),
                    attr("token_scaling", default("token_scaling", 0),
                         "1: scale the query by sqrt(D) / mean |x| and undo it at the end"),
                    attr("eps", default("eps", 1e-6), "query LayerNorm epsilon")])
    schema.set_type_and_shape_inference_function(_infer_output)
    return schema


def _infer_output(ctx) -> None:
    ctx.set_output_type(0, ctx.get_input_type(0))


def register_onnx_schema() -> None:
    """Register the node's schema with ``onnx.defs`` (idempotent; done at import)."""
    sample_node.register_schema(OP_TYPE, OP_VERSION, _op_schema)


register_onnx_schema()
_ARGUS_OPSET = onnxscript.values.Opset(DOMAIN, OP_VERSION)


def _onnx_scaled_deform_attn(query, value, reference_points, norm_weight, norm_bias,
                             offset_weight, offset_bias, attn_weight, attn_bias,
                             output_weight, output_bias, gamma=None, n_heads: int = 1,
                             n_levels: int = 1, n_points: int = 1,
                             spatial_shapes: Sequence[int] = (), token_scaling: bool = False,
                             eps: float = 1e-6):
    """Dynamo-exporter translation: one ``ai.argus::ScaledDeformAttn`` node."""
    inputs = [query, value, reference_points, norm_weight, norm_bias, offset_weight,
              offset_bias, attn_weight, attn_bias, output_weight, output_bias]
    if gamma is not None:
        inputs.append(gamma)
    return _ARGUS_OPSET.ScaledDeformAttn(
        *inputs, n_heads=int(n_heads), n_levels=int(n_levels), n_points=int(n_points),
        spatial_shapes=[int(v) for v in spatial_shapes], token_scaling=int(bool(token_scaling)),
        eps=float(eps))


CUSTOM_TRANSLATION_TABLE = {torch.ops.argus.scaled_deform_attn.default: _onnx_scaled_deform_attn,
                            **sample_node.TRANSLATION_TABLE}


# ----------------------------------------------------------------------------- export mode
def _attention_call(module: Injector | Extractor, query: torch.Tensor, ref: torch.Tensor,
                    feat: torch.Tensor, shapes: Sequence[tuple[int, int]], *,
                    gamma: torch.Tensor | None, token_scaling: bool) -> torch.Tensor:
    """``module``'s attention + residual as the custom op; value computed outside."""
    attn = module.attn
    if len(shapes) != attn.n_levels:
        raise ValueError(f"expected {attn.n_levels} levels, got {len(shapes)}")
    value = attn.value_proj(module.feat_norm(feat))
    return scaled_deform_attn(
        query, value, ref.reshape(-1, 2), module.query_norm.weight, module.query_norm.bias,
        attn.sampling_offsets.weight, attn.sampling_offsets.bias,
        attn.attention_weights.weight, attn.attention_weights.bias,
        attn.output_proj.weight, attn.output_proj.bias, gamma, attn.n_heads, attn.n_levels,
        attn.n_points, [v for hw in shapes for v in hw], token_scaling,
        float(module.query_norm.eps))


class CustomDeformInteraction(nn.Module):
    """An :class:`InteractionBlock` whose injector and extractors run as the custom op.

    Holds the block's own submodules under the same names (so the state dict is
    unchanged) and computes what ``InteractionBlock.forward`` computes.

    Args:
        block: the interaction block to wrap (its modules are shared, not copied).
    """

    def __init__(self, block: InteractionBlock) -> None:
        super().__init__()
        self.token_scaling = block.token_scaling
        self.injector = block.injector
        self.extractor = block.extractor
        self.extra_extractors = block.extra_extractors

    def forward(self, tokens: torch.Tensor, c: torch.Tensor, blocks: Sequence[nn.Module],
                n_prefix: int, grid: tuple[int, int], c_shapes: Sequence[tuple[int, int]],
                ref_vit: torch.Tensor, ref_c: torch.Tensor):
        """Same signature and result as ``InteractionBlock.forward``."""
        prefix, x = tokens[:, :n_prefix], tokens[:, n_prefix:]
        x = _attention_call(self.injector, x, ref_vit, c, c_shapes,
                            gamma=self.injector.gamma, token_scaling=self.token_scaling)
        tokens = torch.cat([prefix, x], dim=1)
        for blk in blocks:
            tokens = blk(tokens)
        feat = tokens[:, n_prefix:]
        for extractor in (self.extractor, *self.extra_extractors):
            c = _attention_call(extractor, c, ref_c, feat, [grid], gamma=None,
                                token_scaling=False)
            c = c + extractor.ffn(extractor.ffn_norm(c), c_shapes)
        return tokens, c


DEFORM_NODES = ("sample", "fused")


def use_custom_deform(model: nn.Module, node: str = "sample") -> nn.Module:
    """Export mode: a deep copy of ``model`` whose deformable attentions are custom nodes.

    The training model is left untouched.

    Args:
        model: an :class:`~argus_edge.training.models.Argus`.
        node: ``"sample"``: each attention's sampling core becomes one
            ``ai.argus::MSDeformSample`` (what ``deform="custom"`` exports); ``"fused"``:
            each injector and extractor attention becomes one legacy
            ``ai.argus::ScaledDeformAttn`` (version 1, argus-edge 0.2 bundles).

    Returns:
        The copy, in the same train/eval mode.

    Raises:
        ValueError: an unknown ``node``.
    """
    if node not in DEFORM_NODES:
        raise ValueError(f"unknown deform node {node!r}; expected one of {DEFORM_NODES}")
    model = copy.deepcopy(model)
    if node == "sample":
        for module in model.modules():
            if isinstance(module, (Injector, Extractor)) and isinstance(module.attn, MSDeformAttn):
                module.attn = sample_node.SampleNodeAttention(module.attn)
        return model
    interactions = model.adapter.interactions
    for i, block in enumerate(interactions):
        if isinstance(block, InteractionBlock):
            interactions[i] = CustomDeformInteraction(block)
    return model


# ----------------------------------------------------------------------------- NumPy
def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = np.square(x - mean).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + np.float32(eps)) * weight + bias


def scaled_deform_attn_numpy(query, value, reference_points, norm_weight, norm_bias,
                             offset_weight, offset_bias, attn_weight, attn_bias,
                             output_weight, output_bias, gamma=None, *, n_heads: int,
                             n_levels: int, n_points: int, spatial_shapes: Sequence[int],
                             token_scaling: bool, eps: float) -> np.ndarray:
    """NumPy float32 implementation of the node, step by step as ``docs/custom_ops.md``.

    Arguments as :func:`scaled_deform_attn`, as NumPy arrays.

    Returns:
        (B, Q, D) float32.
    """
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    x, value, ref = f32(query), f32(value), f32(reference_points)
    b, q, d = x.shape
    s = np.ones((b, 1, 1), np.float32)
    if token_scaling:
        mean_norm = np.sqrt(np.square(x).sum(-1)).mean(-1)
        s = (np.float32(np.sqrt(d)) / np.maximum(mean_norm, np.float32(TOKEN_SCALE_EPS)))
        s = s.astype(np.float32)[:, None, None]
    x = x * s
    xn = _layer_norm(x, f32(norm_weight), f32(norm_bias), eps)
    sampled = sample_node.ms_deform_sample_numpy(
        value, ref, xn @ f32(offset_weight).T + f32(offset_bias),
        xn @ f32(attn_weight).T + f32(attn_bias), n_heads=n_heads, n_levels=n_levels,
        n_points=n_points, spatial_shapes=spatial_shapes)
    attn = sampled @ f32(output_weight).T + f32(output_bias)
    out = x + (attn if gamma is None else f32(gamma) * attn)
    return (out / s).astype(np.float32)


class ScaledDeformAttn(OpRun):
    """``ai.argus::ScaledDeformAttn`` for ``onnx.reference.ReferenceEvaluator``.

    The evaluator dispatches on ``(op_domain, class name)``, so the class carries the op's
    name; :data:`ScaledDeformAttnRef` is the same class under an unambiguous import name.

    Example:
        ``ReferenceEvaluator(model, new_ops=[ScaledDeformAttnRef]).run(None, feeds)``
    """

    op_domain = DOMAIN

    def _run(self, query, value, reference_points, norm_weight, norm_bias, offset_weight,
             offset_bias, attn_weight, attn_bias, output_weight, output_bias, gamma=None,
             n_heads=None, n_levels=None, n_points=None, spatial_shapes=None,
             token_scaling=None, eps=None):
        out = scaled_deform_attn_numpy(
            query, value, reference_points, norm_weight, norm_bias, offset_weight,
            offset_bias, attn_weight, attn_bias, output_weight, output_bias, gamma,
            n_heads=int(n_heads), n_levels=int(n_levels), n_points=int(n_points),
            spatial_shapes=[int(v) for v in spatial_shapes],
            token_scaling=bool(token_scaling), eps=float(eps))
        return (out,)


ScaledDeformAttnRef = ScaledDeformAttn


@torch.no_grad()
def spread_deform_init(model: nn.Module) -> nn.Module:
    """Give every deformable attention non-zero offset and attention-weight projections and
    every injector a non-zero gamma (in place, from torch's RNG; returns ``model``).

    Their initialisation is zero, which would hide the sampling offsets and the injector
    from a parity check or a benchmark of the node; trained models have them non-zero.
    """
    for m in model.modules():
        if isinstance(m, MSDeformAttn):
            m.sampling_offsets.weight.normal_(std=0.05)
            m.attention_weights.weight.normal_(std=0.1)
        if isinstance(m, Injector):
            m.gamma.normal_(std=0.5)
    return model
