"""A test model for INT8: outlier channels in the ViT's residual stream, as its MatMuls see it.

Trained ViTs (DINOv2 ViT-B/L among them) carry a few fixed channels whose activations are
~100–1000× the median channel's, in the residual stream and, through the LayerNorms'
per-channel gains, in the LayerNorm outputs the blocks' ``qkv`` and ``fc1`` MatMuls read
(the "post-LayerNorm inter-channel variation" of RepQ-ViT, the outlier features of
LLM.int8 and SmoothQuant). A per-tensor INT8 activation scale then spends its 256 levels
on those channels and rounds every other channel to one or two steps: the reason naive
INT8 collapses ViTs.

In a pre-norm ViT, and in Argus's backbone graph, the residual stream never feeds a MatMul
directly: every MatMul of a block reads it through a LayerNorm (``norm1`` → ``attn.qkv``,
``norm2`` → ``mlp.fc1``), and the adapter reads it through its own LayerNorms. So the
outliers a quantizer meets are LayerNorm-output outliers, and this module makes exactly
those, without changing the function:

for a few channels ``c`` (the same in every block, as in real ViTs), each block's
``norm1`` and ``norm2`` gain and bias of channel ``c`` are multiplied by ``k_c`` and input
column ``c`` of the Linear that reads the LayerNorm is divided by ``k_c``. The Linear
computes ``(W[:, c] / k_c) (k_c x_c) = W[:, c] x_c``: the FP32 model is the model it was
(up to float rounding), and any error against FP32 is quantization error. ``k_c`` is
measured on images so that channel ``c``'s mean absolute LayerNorm output is ``ratio`` ×
the median channel's (``ratio=1000`` by default).

What follows from the construction, and what it does not model: the injection is a
per-channel rescale between a LayerNorm and its Linear, and SmoothQuant's ideal scales
(``max|X_c|^α / max|W_c|^(1-α)``) would undo it exactly, whatever ``α``:
``max|X_c| · max|W_c|`` is unchanged, so the outlier channels' scales come out ``k_c``×
the others'. NNCF clips its scales to [their 10 % quantile, 100], so a 1000× outlier is
only partly smoothed (to ~10× at α=0.95): the test model measures that. Real outlier
channels may also carry a larger share of the Linear's output (larger ``|W[:, c]| x_c``),
which this model does not. Random weights: the model's LayerScale is set to a
trained-like value (the random init, 1e-5, would make every block an identity and hide
the blocks' quantization error; see :func:`make_outlier_model`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from argus_edge._errors import InvalidArgumentError

__all__ = [
    "OutlierInjection",
    "channel_magnitudes",
    "default_channels",
    "export_vit",
    "inject_outlier_channels",
    "layernorm_linear_pairs",
    "make_outlier_model",
    "outlier_ratios",
]

#: Where the default outlier channels sit, as fractions of the width: fixed indices shared
#: by every block, as real ViTs' outlier channels are (ViT-S: 17, 101, 290).
_DEFAULT_CHANNEL_FRACTIONS = (0.045, 0.263, 0.755)


def default_channels(width: int) -> tuple[int, ...]:
    """Three outlier channels spread over an embedding of ``width`` channels."""
    return tuple(sorted({min(width - 1, round(width * f)) for f in _DEFAULT_CHANNEL_FRACTIONS}))


@dataclass(frozen=True)
class OutlierInjection:
    """What :func:`inject_outlier_channels` did.

    Attributes:
        channels: the outlier channel indices (the same in every block).
        ratio: the target mean-|activation| ratio, outlier channel / median channel.
        factors: ``{LayerNorm name: k per channel}``: the gain and bias of each channel
            were multiplied by ``k``, the reading Linear's input column divided by ``k``.
        ratios: ``{LayerNorm name: measured ratio per channel}`` after the injection, on
            the images the factors were measured on.
    """

    channels: tuple[int, ...]
    ratio: float
    factors: dict[str, tuple[float, ...]]
    ratios: dict[str, tuple[float, ...]]


def layernorm_linear_pairs(vit: nn.Module) -> list[tuple[str, nn.LayerNorm, nn.Linear]]:
    """The (name, LayerNorm, Linear reading it) pairs of a DINOv2 ViT's blocks.

    Args:
        vit: a :class:`~argus_edge.training.models.backbones.DinoV2` (``model.vit``).

    Returns:
        ``blocks.{i}.norm1`` → ``attn.qkv`` and ``blocks.{i}.norm2`` → ``mlp.fc1``, in order.
    """
    pairs = []
    for i, blk in enumerate(vit.blocks):
        pairs.append((f"blocks.{i}.norm1", blk.norm1, blk.attn.qkv))
        pairs.append((f"blocks.{i}.norm2", blk.norm2, blk.mlp.fc1))
    return pairs


@torch.no_grad()
def channel_magnitudes(vit: nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean absolute output per channel of every block LayerNorm, over tokens and images.

    Args:
        vit: a DINOv2 ViT.
        images: (B, 3, H, W) normalised images at the ViT's input size.

    Returns:
        ``{LayerNorm name: (D,) float64 tensor}`` (names of :func:`layernorm_linear_pairs`).
    """
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}

    def hook(name: str):
        def record(_module, _inputs, output: torch.Tensor) -> None:
            flat = output.detach().abs().double().reshape(-1, output.shape[-1])
            sums[name] = sums.get(name, 0) + flat.sum(0)
            counts[name] = counts.get(name, 0) + flat.shape[0]
        return record

    handles = [norm.register_forward_hook(hook(name))
               for name, norm, _ in layernorm_linear_pairs(vit)]
    was_training = vit.training
    try:
        vit.eval()
        vit._run_blocks(images)
    finally:
        vit.train(was_training)
        for h in handles:
            h.remove()
    return {name: sums[name] / counts[name] for name in sums}


def outlier_ratios(magnitudes: dict[str, torch.Tensor],
                   channels: Sequence[int]) -> dict[str, tuple[float, ...]]:
    """``{LayerNorm name: magnitude of each channel / median channel magnitude}``.

    Args:
        magnitudes: :func:`channel_magnitudes`' result.
        channels: the channels to report.
    """
    out = {}
    for name, mag in magnitudes.items():
        median = float(mag.median())
        out[name] = tuple(float(mag[c]) / median for c in channels)
    return out


@torch.no_grad()
def inject_outlier_channels(vit: nn.Module, images: torch.Tensor, *,
                            channels: Sequence[int] | None = None,
                            ratio: float = 1000.0) -> OutlierInjection:
    """Makes ``channels`` ~``ratio``× outliers of every block LayerNorm's output, in place,
    keeping the function (see the module docstring).

    Args:
        vit: a DINOv2 ViT (``model.vit``), modified in place.
        images: (B, 3, H, W) normalised images at the ViT's input size; the factors are
            measured on them.
        channels: channel indices, distinct, within the embedding width (default:
            :func:`default_channels`).
        ratio: target mean |activation| of each channel / the median channel's, > 1.

    Returns:
        What was done, with the ratios measured after it.

    Raises:
        InvalidArgumentError: bad channels or ratio.
    """
    width = vit.cfg.embed_dim
    channels = default_channels(width) if channels is None else tuple(int(c) for c in channels)
    if not channels or len(set(channels)) != len(channels) or not all(0 <= c < width for c in channels):
        raise InvalidArgumentError(f"channels must be distinct indices in [0, {width}), "
                                   f"got {channels}")
    if not ratio > 1.0:
        raise InvalidArgumentError(f"ratio must be > 1, got {ratio}")
    before = channel_magnitudes(vit, images)  # the injection keeps every LayerNorm's input
    factors = {}
    for name, norm, linear in layernorm_linear_pairs(vit):
        mag = before[name]
        k = torch.tensor([ratio * float(mag.median()) / float(mag[c]) for c in channels])
        idx = torch.tensor(channels)
        norm.weight[idx] *= k.to(norm.weight.dtype)
        norm.bias[idx] *= k.to(norm.bias.dtype)
        linear.weight[:, idx] /= k.to(linear.weight.dtype)
        factors[name] = tuple(float(v) for v in k)
    ratios = outlier_ratios(channel_magnitudes(vit, images), channels)
    return OutlierInjection(channels, float(ratio), factors, ratios)


@torch.no_grad()
def make_outlier_model(preset: str = "argus_small", input_size: tuple[int, int] = (128, 128), *,
                       images: torch.Tensor | None = None,
                       channels: Sequence[int] | None = None, ratio: float | None = 1000.0,
                       layerscale: float | None = None, seed: int = 0):
    """A random-weight Argus model whose ViT carries outlier channels (in eval mode).

    The deformable attentions and the injectors get non-zero parameters
    (:func:`~argus_edge.export.deform_op.spread_deform_init`), every LayerScale is set to
    ``layerscale`` so that the blocks contribute, then :func:`inject_outlier_channels`.

    The default LayerScale is ``384 / embed_dim`` (1 for ViT-S, 4 for argus_tiny's 96
    channels, 0.5 for ViT-B): with DINOv2's random init (weights std 0.02) a block
    branch's gain grows with the width (two Linears, each ∝ √width), and this keeps every
    size's blocks adding about what ViT-S's add at LayerScale 1 (~0.15 of the residual).
    With branches that add nothing, their quantization error would not show at the output.

    Args:
        preset: a model preset (``argus_tiny``, ``argus_small``, ``argus_base``...).
        input_size: (H, W) of the model's images, multiples of 32.
        images: (B, 3, H·14/16, W·14/16) normalised images at the ViT's input size to
            measure the factors on; ``None``: 4 seeded Gaussian images.
        channels: outlier channels (default: :func:`default_channels`).
        ratio: outlier / median channel magnitude; ``None``: no injection (the reference
            model, same weights otherwise).
        layerscale: the value of every LayerScale gain (default: ``384 / embed_dim``).
        seed: torch seed for the weights (and the default images).

    Returns:
        ``(model, injection)``; ``injection`` is ``None`` when ``ratio`` is.
    """
    from argus_edge.export.deform_op import spread_deform_init
    from argus_edge.training.models import create_model

    torch.manual_seed(seed)
    model = create_model(preset, input_size=tuple(input_size)).eval()
    spread_deform_init(model)
    if layerscale is None:
        layerscale = 384.0 / model.cfg.vit.embed_dim
    for blk in model.vit.blocks:
        blk.ls1.gamma.fill_(layerscale)
        blk.ls2.gamma.fill_(layerscale)
    if ratio is None:
        return model, None
    if images is None:
        size = model.cfg.vit_input_size(*input_size)
        images = torch.randn(4, 3, *size, generator=torch.Generator().manual_seed(seed))
    injection = inject_outlier_channels(model.vit, images, channels=channels, ratio=ratio)
    return model, injection


class _VitTokens(nn.Module):
    def __init__(self, vit: nn.Module) -> None:
        super().__init__()
        self.vit = vit

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.vit._run_blocks(images)


def export_vit(model: nn.Module, vit_size: tuple[int, int], path: str | Path) -> Path:
    """Exports the ViT alone (patch embedding and blocks, no final norm) as ONNX.

    The graph takes ``images`` (B, 3, H, W) at the ViT's input size and returns ``tokens``
    (B, 1 + R + h·w, D): the residual stream after the last block, what Argus reads. It is
    exported as :mod:`argus_edge.export.graphs` exports the backbone (dynamo, opset 18,
    pos-embed fixed, dynamic batch), in about a third of the time: a fast stand-in for
    the backbone graph when only the ViT matters.

    Args:
        model: an Argus model (its ViT is exported; left as it was found).
        vit_size: (H, W), multiples of the patch size.
        path: the ``.onnx`` file to write.

    Returns:
        ``path``.
    """
    vit = model.vit
    grid, was_training = vit.fixed_grid, vit.training
    vit.fix_input_size(*vit_size)
    batch = torch.export.Dim("batch", min=1)
    example = torch.randn(2, 3, *vit_size, generator=torch.Generator().manual_seed(0))
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore", FutureWarning)  # torch.export's own deprecations
            torch.onnx.export(_VitTokens(vit).eval(), (example,), str(path), dynamo=True,
                              opset_version=18, input_names=["images"], output_names=["tokens"],
                              dynamic_shapes=({0: batch},), external_data=False, verbose=False)
    finally:
        vit.train(was_training)
        if grid is None:
            vit.release_input_size()
        else:
            vit.fix_input_size(grid[0] * vit.patch_size, grid[1] * vit.patch_size)
    return Path(path)
