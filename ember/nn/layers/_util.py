"""Argument checks shared by the layers: fail up front with a sentence."""
from __future__ import annotations

from numbers import Integral, Real


def positive_int(value, name: str, layer: str, allow_zero: bool = False) -> int:
    ok = isinstance(value, Integral) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        kind = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{layer}: {name} must be {kind} integer, got {value!r}")
    return int(value)


def int_or_pair(value, name: str, layer: str, allow_zero: bool = False):
    """An int or a pair of ints (each positive, or non-negative with ``allow_zero``); returned unchanged."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if isinstance(value, (tuple, list)) and len(items) != 2:
        raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {value!r}")
    for v in items:
        positive_int(v, name, layer, allow_zero)
    return tuple(int(v) for v in items) if isinstance(value, (tuple, list)) else int(value)


def probability(p, name: str, layer: str) -> float:
    if not isinstance(p, Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{layer}: {name} must be a probability between 0 and 1, got {p!r}")
    return float(p)


def positive_float(value, name: str, layer: str, allow_zero: bool = False) -> float:
    if not isinstance(value, Real) or isinstance(value, bool) or not (value >= 0 if allow_zero else value > 0):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{layer}: {name} must be a {kind} number, got {value!r}")
    return float(value)
