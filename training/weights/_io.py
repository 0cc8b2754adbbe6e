"""Reading a weight file into a flat ``{name: tensor}`` dict without executing code.

PyTorch files (``.pth``, ``.pt``, ``.bin``) go through ``torch.load(weights_only=True)``,
which refuses pickled objects other than tensors and plain containers; safetensors files
through ``safetensors``. The kind of file is read from its first bytes, not its name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Union

import torch

from argus_edge._errors import CheckpointError

from .._state_dict import format_keys

WeightSource = Union[str, "os.PathLike[str]", Mapping[str, torch.Tensor]]

# Wrappers that training frameworks put around every key. A prefix is removed only when
# every key carries it, so a removal can never merge or hide a key.
STRIPPABLE_PREFIXES = ("module.", "model.", "backbone.", "teacher.", "student.",
                       "dinov2_with_registers.", "dinov2.", "vit.")
# Keys under which training checkpoints keep the state dict next to optimizer state etc.
_CONTAINER_KEYS = ("state_dict", "model", "model_state_dict", "teacher", "module")
# Files looked for when a Hugging Face snapshot directory is given.
_DIRECTORY_FILES = ("model.safetensors", "pytorch_model.bin")
_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's zip container
_PICKLE_MAGIC = b"\x80"  # torch.save's legacy format starts with a pickle protocol opcode


def read_state_dict(source: WeightSource) -> tuple[dict[str, torch.Tensor], str]:
    """Read a state dict from a file, a Hugging Face snapshot folder or a dict.

    Args:
        source: path of a ``.pth``/``.bin``/``.safetensors`` file, a folder holding
            ``model.safetensors`` or ``pytorch_model.bin``, or an in-memory mapping.

    Returns:
        ``(state_dict, origin)``: a new flat dict, and a description of the source for
        error messages.

    Raises:
        FileNotFoundError: the path does not exist.
        CheckpointError: the file is neither a PyTorch nor a safetensors file, holds
            pickled objects other than tensors, or is not a flat dict of tensors.
    """
    if isinstance(source, Mapping):
        return _as_tensor_dict(source, "the given state dict"), "the given state dict"
    path = Path(os.fspath(source))
    if not path.exists():
        raise FileNotFoundError(f"no weight file at {path}")
    if path.is_dir():
        path = _file_in_directory(path)
    origin = f"file {path}"
    with open(path, "rb") as f:
        head = f.read(9)
    if head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC):
        return _as_tensor_dict(_torch_load(path), origin), origin
    if _looks_like_safetensors(head, path.stat().st_size):
        return _as_tensor_dict(_safetensors_load(path), origin), origin
    raise CheckpointError(f"{path} is neither a PyTorch (torch.save) nor a safetensors file")


def strip_prefixes(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove wrapper prefixes (``module.``, ``backbone.``, ...) carried by every key."""
    while state_dict:
        prefix = next((p for p in STRIPPABLE_PREFIXES
                       if all(k.startswith(p) for k in state_dict)), None)
        if prefix is None:
            break
        state_dict = {k[len(prefix):]: v for k, v in state_dict.items()}
    return state_dict


def _file_in_directory(folder: Path) -> Path:
    for name in _DIRECTORY_FILES:
        if (folder / name).is_file():
            return folder / name
    raise CheckpointError(f"folder {folder} holds none of {', '.join(_DIRECTORY_FILES)}")


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """An 8-byte little-endian header length that fits in the file, then a JSON object."""
    if len(head) < 9:
        return False
    header_len = int.from_bytes(head[:8], "little")
    return 2 <= header_len <= size - 8 and head[8:9] == b"{"


def _torch_load(path: Path) -> object:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except OSError:
        raise
    except Exception as e:  # torch.load raises many types: UnpicklingError, RuntimeError, ...
        raise CheckpointError(f"cannot read {path} as a PyTorch weight file with "
                              f"weights_only=True (no code is executed on load): {e}") from e


def _safetensors_load(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        return load_file(path, device="cpu")
    except SafetensorError as e:
        raise CheckpointError(f"cannot read {path} as safetensors: {e}") from e


def _as_tensor_dict(obj: object, origin: str) -> dict[str, torch.Tensor]:
    """Unwrap ``{"model": {...}, "optimizer": ...}``-style containers; check the values."""
    while isinstance(obj, Mapping) and not _all_tensors(obj):
        inner = [k for k in _CONTAINER_KEYS if isinstance(obj.get(k), Mapping)]
        if len(inner) != 1:
            break
        obj = obj[inner[0]]
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{origin} holds a {type(obj).__name__}, not a state dict")
    bad = [str(k) for k, v in obj.items() if not isinstance(k, str)
           or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{origin} is not a flat dict of tensors; entries that are "
                              f"not tensors: {format_keys(bad)}")
    if not obj:
        raise CheckpointError(f"{origin} holds no tensors")
    return dict(obj)


def _all_tensors(obj: Mapping) -> bool:
    return all(isinstance(v, torch.Tensor) for v in obj.values())
