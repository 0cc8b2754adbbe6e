"""Argus checkpoints: one safetensors file whose metadata carries the model config.

Layout: the tensors of ``model.state_dict()`` under their module names (``vit.``,
``adapter.``, and later ``heads.<task>.``), and in the safetensors ``__metadata__``
(strings only)::

    format              "argus-checkpoint"
    format_version      "1"
    config              ArgusConfig.to_json()
    argus_edge_version  the writing package's version
    <user keys>         free-form strings

A checkpoint rebuilds its model from ``config`` alone, so adding parts to the model
(task heads described in the config, stored under their own key prefix) needs no change
to this format. Loading never executes code.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Union

import torch

from argus_edge._errors import CheckpointError, InvalidArgumentError
from argus_edge._version import __version__

from ._state_dict import diff_state_dict
from .models import Argus, ArgusConfig, build_argus

FORMAT = "argus-checkpoint"
FORMAT_VERSION = "1"
_SUPPORTED_VERSIONS = ("1",)
RESERVED_KEYS = ("format", "format_version", "config", "argus_edge_version")
PathLike = Union[str, "os.PathLike[str]"]


def save_checkpoint(model: Argus, path: PathLike, *,
                    metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``model`` to a safetensors checkpoint, atomically.

    The file is written to a temporary name in the same folder, flushed to disk and
    renamed over ``path``, so a crash never leaves a half-written checkpoint behind.

    Args:
        model: the model; its ``cfg`` is stored as JSON.
        path: destination file (conventionally ``*.safetensors``).
        metadata: extra string entries; must not use the reserved keys
            ``format``, ``format_version``, ``config``, ``argus_edge_version``.

    Returns:
        The path written.

    Raises:
        InvalidArgumentError: ``model`` has no ``ArgusConfig``, or ``metadata`` is not a
            str → str mapping or uses a reserved key.
    """
    if not isinstance(getattr(model, "cfg", None), ArgusConfig):
        raise InvalidArgumentError("save_checkpoint needs an Argus model (with an ArgusConfig)")
    header = _header(model.cfg, metadata or {})
    tensors = _standalone_tensors(model.state_dict())
    path = Path(os.fspath(path))
    tmp = _create_temp_beside(path)
    try:
        write_safetensors(tensors, tmp, metadata=header)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def read_checkpoint_metadata(path: PathLike) -> dict[str, str]:
    """The metadata of an Argus checkpoint (reads the header only).

    Returns:
        All metadata entries, reserved and user ones, as strings.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: not a safetensors file, or not an Argus checkpoint of a
            supported format version.
    """
    from safetensors import SafetensorError, safe_open
    path = _existing(path)
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            meta = dict(f.metadata() or {})
    except SafetensorError as e:
        raise CheckpointError(f"{path} is not a readable safetensors file: {e}") from e
    _check_header(meta, path)
    return meta


def load_checkpoint(path: PathLike, *, map_location: str | torch.device = "cpu") -> Argus:
    """Rebuild an Argus model from a checkpoint written by :func:`save_checkpoint`.

    Args:
        path: the checkpoint file.
        map_location: device of the returned model.

    Returns:
        The model (ViT frozen, as :func:`build_argus` returns it), on ``map_location``.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: not a safetensors file, not an Argus checkpoint, a config that
            cannot be parsed, or tensors that do not match the model the config builds.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    meta = read_checkpoint_metadata(path)
    cfg = _parse_config(meta["config"], path)
    device = torch.device(map_location)
    try:
        state = load_file(path, device=str(device))
    except SafetensorError as e:
        raise CheckpointError(f"cannot read the tensors of {path}: {e}") from e
    model = _build(cfg, path).to(device)
    diff = diff_state_dict(model.state_dict(), state)
    if not diff.ok:
        raise CheckpointError(f"the tensors of {path} do not match the {cfg.name} model "
                              f"its config describes: {diff.describe()}")
    model.load_state_dict(state, strict=True)
    return model


def _header(cfg: ArgusConfig, user: Mapping[str, str]) -> dict[str, str]:
    bad = [k for k, v in user.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad:
        raise InvalidArgumentError(f"checkpoint metadata must map str to str; bad entries: {bad}")
    reserved = [k for k in user if k in RESERVED_KEYS]
    if reserved:
        raise InvalidArgumentError(f"metadata keys {reserved} are reserved for the format")
    return {**user, "format": FORMAT, "format_version": FORMAT_VERSION,
            "config": cfg.to_json(), "argus_edge_version": __version__}


def _standalone_tensors(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Tensors safetensors accepts: contiguous, each owning its storage.

    safetensors refuses tensors that share memory (tied weights, views of one buffer);
    those are copied, so a tied weight is stored once per name and re-tied on load by
    ``load_state_dict`` copying into the shared parameter.
    """
    out, seen = {}, set()
    for key, t in state.items():
        t = t.detach()
        storage = t.untyped_storage()
        owns = storage.nbytes() == t.numel() * t.element_size()
        if not t.is_contiguous() or not owns or storage.data_ptr() in seen:
            t = t.contiguous().clone()
        seen.add(t.untyped_storage().data_ptr())
        out[key] = t
    return out


def _check_header(meta: Mapping[str, str], path: Path) -> None:
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an Argus checkpoint (metadata format="
                              f"{meta.get('format')!r}, expected {FORMAT!r})")
    if meta.get("format_version") not in _SUPPORTED_VERSIONS:
        raise CheckpointError(f"{path} has checkpoint format version "
                              f"{meta.get('format_version')!r}; this argus-edge reads "
                              f"{', '.join(_SUPPORTED_VERSIONS)}")
    if "config" not in meta:
        raise CheckpointError(f"{path} has no model config in its metadata")


def _parse_config(text: str, path: PathLike) -> ArgusConfig:
    try:
        return ArgusConfig.from_dict(json.loads(text))
    except (ValueError, TypeError, KeyError, AttributeError) as e:  # incl. JSONDecodeError
        raise CheckpointError(f"the model config stored in {path} is invalid "
                              f"(written by a newer argus-edge?): {e}") from e


def _build(cfg: ArgusConfig, path: PathLike) -> Argus:
    try:
        return build_argus(cfg)
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"the model config stored in {path} does not describe a "
                              f"valid model: {e}") from e


def _existing(path: PathLike) -> Path:
    path = Path(os.fspath(path))
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    return path


def write_safetensors(tensors: Mapping[str, torch.Tensor], path: PathLike,
                      metadata: Mapping[str, str] | None = None) -> None:
    """``safetensors.torch.save_file`` with the file mode any program's file gets: 0666
    minus the umask (or the mode the file already has). safetensors alone re-creates the
    file owner-only (0600), which stops a group from sharing checkpoints."""
    from safetensors.torch import save_file
    path = Path(os.fspath(path))
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o666))
    mode = path.stat().st_mode & 0o777
    save_file(dict(tensors), path, metadata=dict(metadata) if metadata else None)
    os.chmod(path, mode)


def _create_temp_beside(path: Path) -> Path:
    """An empty new file next to ``path``; created with mode 0666 minus the umask."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); folders cannot be opened this way on Windows."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
