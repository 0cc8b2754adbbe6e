"""Registry of task heads by task key (``det``, ``sem``, ...) and decoder name.

A head is registered with its config dataclass, so a model config that names its heads
rebuilds from JSON alone. Adding a task (or another decoder for one) is a new file that
calls :func:`register_head`; nothing else changes.

A task may have several decoders (``sem``: UperNet, and the light FPN head for the edge).
Each one's config class then has a ``decoder`` field, ``init=False`` with the decoder's
name as its default: a config dict selects the decoder by that key (a YAML ``head:``
block, a checkpoint's JSON), and ``dataclasses.asdict`` records it, so the name is said
once, in the config class. One decoder per task is the default, built for a dict that
names none (every checkpoint written before the task had a second decoder). "Decoder"
here is the network that turns the adapter's maps into the head's outputs (DESIGN.md's
decoder column), not the runtime's post-processing ``decoder_kind``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

#: task → decoder name (None: the config has no ``decoder`` field) → (config, head)
_HEADS: dict[str, dict[str | None, tuple[type, type]]] = {}
#: task → the decoder a config without a ``decoder`` entry builds
_DEFAULTS: dict[str, str | None] = {}


def register_head(task: str, config_cls: type, default: bool = True) -> Callable[[type], type]:
    """Class decorator registering a head class for ``task`` with its config class.

    Args:
        task: the task key.
        config_cls: the head's frozen config dataclass. Its ``decoder`` field, if any
            (``init=False``, a string default), names this decoder of the task.
        default: whether configs that name no decoder build this head; one per task.
            A non-default head must have a named decoder.

    Raises:
        ValueError: a second default head for ``task``, a decoder name registered twice,
            or a non-default head without a decoder name.
    """
    name = _decoder_name(config_cls)

    def wrap(head_cls: type) -> type:
        variants = _HEADS.get(task, {})
        if default and task in _DEFAULTS:
            raise ValueError(f"a head for task {task!r} is already registered")
        if name in variants:
            raise ValueError(f"decoder {name!r} of task {task!r} is already registered")
        if not default and name is None:
            raise ValueError(f"{config_cls.__name__}: a head that is not its task's default "
                             f"needs a config with a 'decoder' field")
        head_cls.task, head_cls.decoder = task, name
        _HEADS.setdefault(task, {})[name] = (config_cls, head_cls)
        if default:
            _DEFAULTS[task] = name
        return head_cls
    return wrap


def _decoder_name(config_cls: type) -> str | None:
    """The default of ``config_cls``'s ``decoder`` field (None without one)."""
    for f in dataclasses.fields(config_cls):
        if f.name == "decoder":
            if f.init or not isinstance(f.default, str):
                raise TypeError(f"{config_cls.__name__}.decoder must be a field with "
                                f"init=False and the decoder's name as its default")
            return f.default
    return None


def list_heads() -> list[str]:
    """Task keys with a registered head, sorted."""
    _load_builtin_heads()
    return sorted(_DEFAULTS)


def list_decoders(task: str) -> list[str]:
    """Names of the decoders registered for ``task``, sorted (empty when its only head
    has no ``decoder`` field)."""
    _load_builtin_heads()
    return sorted(n for n in _variants(task) if n is not None)


def _variants(task: str) -> dict[str | None, tuple[type, type]]:
    if task not in _DEFAULTS:
        raise KeyError(f"no head registered for task {task!r}; "
                       f"known: {', '.join(sorted(_DEFAULTS))}")
    return _HEADS[task]


def _lookup(task: str, decoder: str | None = None) -> tuple[type, type]:
    _load_builtin_heads()
    variants = _variants(task)
    name = _DEFAULTS[task] if decoder is None else decoder
    try:
        return variants[name]
    except KeyError:
        known = ", ".join(sorted(n for n in variants if n is not None)) or "none named"
        raise ValueError(f"unknown decoder {decoder!r} for task {task!r}; "
                         f"known: {known}") from None


def head_config_class(task: str, decoder: str | None = None) -> type:
    """The config dataclass of ``task``'s head ``decoder`` (None: the default one).

    Raises:
        KeyError: no head for ``task``.
        ValueError: ``task`` has no decoder of that name.
    """
    return _lookup(task, decoder)[0]


def head_config_from_dict(task: str, d: dict[str, Any]) -> Any:
    """Rebuild a head config from its ``dataclasses.asdict`` form (lists → tuples).

    A ``"decoder"`` entry selects the config class (default: the task's default decoder).

    Raises:
        KeyError: no head for ``task``.
        ValueError: an unknown ``decoder``.
        TypeError: fields the config class does not have.
    """
    d = dict(d)
    cls = head_config_class(task, d.pop("decoder", None))
    settable = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = set(d) - settable
    if unknown:
        raise TypeError(f"unknown fields for the {task!r} head config: {sorted(unknown)}")
    return cls(**{k: _to_tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def _to_tuple(v: Any) -> Any:
    return tuple(_to_tuple(x) if isinstance(x, list) else x for x in v)


def build_head(task: str, cfg: Any, in_channels: int):
    """Instantiate the head that ``cfg`` configures for ``task`` (its decoder is the one
    ``cfg``'s class names) on features with ``in_channels`` channels."""
    config_cls, head_cls = _lookup(task, getattr(cfg, "decoder", None))
    if not isinstance(cfg, config_cls):
        raise TypeError(f"the {task!r} head needs a {config_cls.__name__}, "
                        f"got {type(cfg).__name__}")
    return head_cls(cfg, in_channels)


def _load_builtin_heads() -> None:
    from . import _builtin  # noqa: F401  (imports every head module once)
