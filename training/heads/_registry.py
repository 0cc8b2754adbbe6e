"""Registry of task heads by task key (``det``, ``sem``, ...).

A head is registered with its config dataclass, so a model config that names its heads
rebuilds from JSON alone. Adding a task (or a heavier decoder for one) is a new file that
calls :func:`register_head`; nothing else changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

_HEADS: dict[str, tuple[type, type]] = {}


def register_head(task: str, config_cls: type) -> Callable[[type], type]:
    """Class decorator registering a head class for ``task`` with its config class."""
    def wrap(head_cls: type) -> type:
        if task in _HEADS:
            raise ValueError(f"a head for task {task!r} is already registered")
        head_cls.task = task
        _HEADS[task] = (config_cls, head_cls)
        return head_cls
    return wrap


def list_heads() -> list[str]:
    """Task keys with a registered head, sorted."""
    _load_builtin_heads()
    return sorted(_HEADS)


def _lookup(task: str) -> tuple[type, type]:
    _load_builtin_heads()
    try:
        return _HEADS[task]
    except KeyError:
        raise KeyError(f"no head registered for task {task!r}; "
                       f"known: {', '.join(sorted(_HEADS))}") from None


def head_config_class(task: str) -> type:
    """The config dataclass of the head for ``task``."""
    return _lookup(task)[0]


def head_config_from_dict(task: str, d: dict[str, Any]) -> Any:
    """Rebuild a head config from its ``dataclasses.asdict`` form (lists → tuples)."""
    cls = head_config_class(task)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in d:
            v = d[f.name]
            kwargs[f.name] = _to_tuple(v) if isinstance(v, list) else v
    unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise TypeError(f"unknown fields for the {task!r} head config: {sorted(unknown)}")
    return cls(**kwargs)


def _to_tuple(v: Any) -> Any:
    return tuple(_to_tuple(x) if isinstance(x, list) else x for x in v)


def build_head(task: str, cfg: Any, in_channels: int):
    """Instantiate the head for ``task`` on features with ``in_channels`` channels."""
    config_cls, head_cls = _lookup(task)
    if not isinstance(cfg, config_cls):
        raise TypeError(f"the {task!r} head needs a {config_cls.__name__}, "
                        f"got {type(cfg).__name__}")
    return head_cls(cfg, in_channels)


def _load_builtin_heads() -> None:
    from . import _builtin  # noqa: F401  (imports every head module once)
