"""Export rewrite: a ConvTranspose whose kernel equals its stride as a 1x1 convolution and
a pixel shuffle.

``nn.ConvTranspose2d(c_in, c_out, k, stride=k)`` (the adapter's stride-8 → stride-4
``up``) writes each input pixel's ``c_in`` channels times a ``(c_in, c_out, k, k)``
weight into its own ``k x k`` output block: exactly a 1x1 convolution to
``c_out·k·k`` channels followed by ``DepthToSpace`` (``pixel_shuffle``). The same sums
per output value (up to float rounding: 2e-6 on unit-scale argus_base maps), so the
export tests' tolerances hold; but the 1x1 convolution is the plain GEMM every backend runs fast and
INT8 tooling quantizes, where OpenVINO's CPU plugin ran the ``ConvolutionBackpropData``
in f32 even in INT8 and bf16 graphs (0.13 s of argus_base's 512² backbone on 2 threads;
``docs/export.md``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ConvTransposeAsConv", "convertible", "conv_transposes_as_convs"]


def convertible(conv: nn.Module) -> bool:
    """Whether ``conv`` is a ConvTranspose2d this rewrite reproduces exactly: kernel equal
    to stride, no padding, output padding or dilation, one group."""
    return (isinstance(conv, nn.ConvTranspose2d) and conv.kernel_size == conv.stride
            and conv.padding == (0, 0) and conv.output_padding == (0, 0)
            and conv.dilation == (1, 1) and conv.groups == 1)


class ConvTransposeAsConv(nn.Module):
    """``conv`` as a 1x1 convolution and a pixel shuffle (the weights are shared).

    Args:
        conv: a ConvTranspose2d for which :func:`convertible` holds.
    """

    def __init__(self, conv: nn.ConvTranspose2d) -> None:
        super().__init__()
        if not convertible(conv):
            raise ValueError(f"not a kernel == stride ConvTranspose2d: {conv}")
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same as ``self.conv(x)``."""
        w = self.conv.weight  # (c_in, c_out, kh, kw)
        c_in, c_out, kh, kw = w.shape
        if kh != kw:
            raise ValueError("pixel_shuffle needs a square kernel")
        weight = w.permute(1, 2, 3, 0).reshape(c_out * kh * kw, c_in, 1, 1)
        y = F.pixel_shuffle(F.conv2d(x, weight), kh)
        return y if self.conv.bias is None else y + self.conv.bias.view(1, -1, 1, 1)


@contextlib.contextmanager
def conv_transposes_as_convs(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` with every convertible square ConvTranspose2d replaced by
    :class:`ConvTransposeAsConv` while the context lasts (then put back)."""
    swapped = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if convertible(child) and child.kernel_size[0] == child.kernel_size[1]:
                setattr(parent, name, ConvTransposeAsConv(child))
                swapped.append((parent, name, child))
    try:
        yield model
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)
