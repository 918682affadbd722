"""The model registry: builders by name, for ``ember models`` and ``ember train --model NAME``.

Each family registers its builders with ``@register_model``; ``list_models()`` names them and
``get(name, **kwargs)`` builds one, passing the keyword arguments (num_classes, in_channels,
input_size, ...) to the builder.
"""
from __future__ import annotations

from typing import Callable

_REGISTRY: dict[str, Callable] = {}


def register_model(fn: Callable) -> Callable:
    """Decorator: make the builder ``fn`` available as ``get(fn.__name__)``."""
    name = fn.__name__
    if name in _REGISTRY and _REGISTRY[name] is not fn:
        raise ValueError(f"a model named {name!r} is already registered")
    _REGISTRY[name] = fn
    return fn


def list_models() -> list[str]:
    """The names ``get`` accepts, sorted."""
    return sorted(_REGISTRY)


def describe(name: str) -> str:
    """The first paragraph of the builder's docstring, on one line: one sentence about the model."""
    doc = (_builder(name).__doc__ or "").strip()
    return " ".join(line.strip() for line in doc.split("\n\n")[0].splitlines())


def _builder(name: str) -> Callable:
    if not isinstance(name, str) or name.lower() not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(list_models())}")
    return _REGISTRY[name.lower()]


def get(name: str, **kwargs):
    """Build the model called ``name`` (case-insensitive) with the builder's keyword arguments."""
    return _builder(name)(**kwargs)
