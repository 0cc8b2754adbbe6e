"""Trainer checkpoints: everything a killed run needs to continue exactly.

A checkpoint is a folder ``step_XXXXXXXX/`` holding

    model.safetensors      the Argus checkpoint (config in its metadata; loadable alone)
    ema.safetensors        the EMA of the trainable weights
    optimizer.safetensors  the optimizer's tensors and torch's RNG state
    trainer_state.json     step, optimizer hyper-parameters, sampler positions, balancer
                           state, numpy/python RNG, the training config

The folder is written under a temporary name and renamed, then ``latest`` (a text file
naming the folder) is replaced atomically, so a kill at any moment leaves the previous
checkpoint intact. Nothing here is pickled.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from argus_edge._errors import CheckpointError

from ..checkpoint import save_checkpoint, write_safetensors

LATEST = "latest"


def _flatten_optimizer(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    sd = opt.state_dict()
    tensors, scalars = {}, {}
    for pid, st in sd["state"].items():
        for name, v in st.items():
            if torch.is_tensor(v):
                tensors[f"state.{pid}.{name}"] = v.detach().cpu().contiguous()
            else:
                scalars[f"{pid}.{name}"] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, v in tensors.items():
        if key.startswith("state."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = v
    for key, v in meta["scalars"].items():
        pid, name = key.split(".", 1)
        state.setdefault(int(pid), {})[name] = v
    return {"state": state, "param_groups": meta["param_groups"]}


def save_trainer_state(folder: Path, step: int, model, ema, optimizer, extra: dict,
                       rng_states: list[torch.Tensor] | None = None) -> Path:
    """Write a complete checkpoint for ``step`` under ``folder``; returns its path.

    ``rng_states`` holds every data-parallel rank's torch RNG state (rank order); by
    default this process's.
    """
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"step_{step:08d}"
    tmp = folder / f".tmp_step_{step:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_checkpoint(model, tmp / "model.safetensors", metadata={"step": str(step)})
    if ema is not None:
        write_safetensors({k: v.detach().cpu().contiguous() for k, v in ema.state_dict().items()},
                          tmp / "ema.safetensors")
    opt_tensors, opt_meta = _flatten_optimizer(optimizer)
    for r, rng in enumerate(rng_states or [torch.get_rng_state()]):
        opt_tensors[f"rng.torch.{r}"] = rng
    if torch.cuda.is_available():
        opt_tensors["rng.cuda"] = torch.cuda.get_rng_state()
    write_safetensors(opt_tensors, tmp / "optimizer.safetensors")
    py_state = random.getstate()
    state = {"step": step, "optimizer": opt_meta,
             "ema_updates": None if ema is None else ema.updates,
             "rng": {"numpy": _np_state(), "python": [py_state[0], list(py_state[1]),
                                                      py_state[2]]},
             **extra}
    (tmp / "trainer_state.json").write_text(json.dumps(state, indent=1, sort_keys=True))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    pointer = folder / f".{LATEST}.tmp"
    pointer.write_text(final.name)
    os.replace(pointer, folder / LATEST)
    return final


def latest_checkpoint(folder: Path) -> Path | None:
    """The folder ``latest`` points to, or None when the run has no checkpoint.

    Raises:
        CheckpointError: ``latest`` names a folder that is missing or incomplete (a
            resume must not silently restart from step 0).
    """
    pointer = folder / LATEST
    if not pointer.is_file():
        return None
    path = folder / pointer.read_text().strip()
    if not (path / "trainer_state.json").is_file():
        raise CheckpointError(f"{pointer} names {path.name}, which is missing or incomplete")
    return path


def load_trainer_state(path: Path, model, ema, optimizer, rank: int = 0) -> dict:
    """Restore model, EMA, optimizer and this rank's RNG from ``path``; returns the JSON
    state.

    Raises:
        CheckpointError: a part the run needs is missing.
    """
    from safetensors.torch import load_file
    state = json.loads((path / "trainer_state.json").read_text())
    weights = load_file(path / "model.safetensors")
    model.load_state_dict(weights, strict=True)
    if ema is not None:
        if not (path / "ema.safetensors").is_file():
            raise CheckpointError(f"{path} has no EMA weights but this run keeps an EMA")
        ema.load_state_dict(load_file(path / "ema.safetensors"), state["ema_updates"])
    opt_tensors = load_file(path / "optimizer.safetensors")
    optimizer.load_state_dict(_unflatten_optimizer(opt_tensors, state["optimizer"]))
    key = f"rng.torch.{rank}" if f"rng.torch.{rank}" in opt_tensors else "rng.torch.0"
    torch.set_rng_state(opt_tensors[key])
    if "rng.cuda" in opt_tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(opt_tensors["rng.cuda"])
    np.random.set_state(_np_state_from(state["rng"]["numpy"]))
    v, internal, gauss = state["rng"]["python"]
    random.setstate((v, tuple(internal), gauss))
    return state


def _np_state() -> list:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def _np_state_from(s: list) -> tuple:
    return (s[0], np.array(s[1], dtype=np.uint32), s[2], s[3], s[4])


def load_run_checkpoint(path: Path, ema: bool = True):
    """The model of a trainer checkpoint folder, with the EMA weights when ``ema`` and the
    run kept one (the weights the run validated and would ship).

    Args:
        path: a ``step_XXXXXXXX`` folder, or a run's ``checkpoints`` folder (its latest).
        ema: overlay the EMA of the trainable weights.

    Returns:
        An ``Argus`` model in eval mode.
    """
    from safetensors.torch import load_file

    from ..checkpoint import load_checkpoint
    path = Path(path)
    if (path / LATEST).is_file():
        path = latest_checkpoint(path)
    if not (path / "model.safetensors").is_file():
        raise CheckpointError(f"{path} is not a trainer checkpoint folder (no model.safetensors)")
    model = load_checkpoint(path / "model.safetensors")
    if ema and (path / "ema.safetensors").is_file():
        averaged = load_file(path / "ema.safetensors")
        missing, unexpected = model.load_state_dict(averaged, strict=False)
        if unexpected:
            raise CheckpointError(f"{path}/ema.safetensors has keys the model lacks: "
                                  f"{unexpected[:5]}")
    return model.eval()
