"""Adaptive average pooling as two matrix products (exportable for any sizes)."""

from __future__ import annotations

import torch


def _pool_matrix(n_in: int, n_out: int, device, dtype) -> torch.Tensor:
    """(n_out, n_in) averaging matrix with PyTorch's adaptive windows
    [floor(i·n_in/n_out), ceil((i+1)·n_in/n_out))."""
    m = torch.zeros(n_out, n_in, device=device, dtype=dtype)
    for i in range(n_out):
        start = (i * n_in) // n_out
        end = -((-(i + 1) * n_in) // n_out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg_pool2d(x: torch.Tensor, size: int) -> torch.Tensor:
    """Same values as ``F.adaptive_avg_pool2d(x, size)``.

    ONNX has no adaptive pooling for sizes that do not divide the input (UperNet's PPM
    pools 16×16 to 3×3 and 6×6); with the input size fixed at export these matrices are
    constants and the op is two MatMuls.
    """
    h, w = int(x.shape[-2]), int(x.shape[-1])
    ph = _pool_matrix(h, size, x.device, x.dtype)
    pw = _pool_matrix(w, size, x.device, x.dtype)
    return ph @ x @ pw.t()
