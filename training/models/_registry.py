"""Registry of named model entrypoints (timm-style)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_ENTRYPOINTS: dict[str, Callable] = {}
F = TypeVar("F", bound=Callable)


def register_model(fn: F) -> F:
    """Decorator: register ``fn`` under its function name."""
    if fn.__name__ in _ENTRYPOINTS:
        raise ValueError(f"model {fn.__name__!r} is registered twice")
    _ENTRYPOINTS[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """Names of the registered models, sorted."""
    return sorted(_ENTRYPOINTS)


def create_model(name: str, **kwargs):
    """Build a registered model by name; ``kwargs`` go to its entrypoint."""
    try:
        fn = _ENTRYPOINTS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(list_models())}") from None
    return fn(**kwargs)
