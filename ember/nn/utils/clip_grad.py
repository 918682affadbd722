"""Gradient clipping against exploding gradients (NOTES §4), PyTorch's functions.

``clip_grad_norm_`` rescales all gradients together so that their joint norm is
at most ``max_norm`` (the direction of the step is kept); ``clip_grad_value_``
clamps every gradient entry to ``[-clip_value, clip_value]``. Both modify
``p.grad`` in place; call them between ``loss.backward()`` and ``optimizer.step()``.
"""
from __future__ import annotations

import math
import numbers
from typing import Iterable

import numpy as np

from ember.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm"]


def _as_list(tensors) -> list[Tensor]:
    if isinstance(tensors, Tensor):
        return [tensors]
    tensors = list(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"expected ember Tensors (e.g. model.parameters()), got a {type(t).__name__}")
    return tensors


def _norm_type(norm_type) -> float:
    try:
        p = float(norm_type)  # accepts 'inf' like PyTorch
    except (TypeError, ValueError):
        raise ValueError(f"norm_type must be a number > 0 or 'inf', got norm_type={norm_type!r}") from None
    if not p > 0:
        raise ValueError(f"norm_type must be a number > 0 or 'inf', got norm_type={norm_type!r}")
    return p


def _array_norm(a: np.ndarray, p: float) -> float:
    """The p-norm of one array, as a Python float."""
    if a.size == 0:
        return 0.0
    if p == 2.0:
        v = a.reshape(-1)
        return math.sqrt(float(np.dot(v, v)))
    if math.isinf(p):
        return float(np.max(np.abs(a)))
    if p == 1.0:
        return float(np.sum(np.abs(a), dtype=np.float64))
    return float(np.sum(np.abs(a.astype(np.float64)) ** p) ** (1.0 / p))


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False) -> Tensor:
    """The p-norm of all the given tensors together, as if concatenated into one vector (a 0-d Tensor)."""
    arrays = [t.array for t in _as_list(tensors)]
    p = _norm_type(norm_type)
    if not arrays:
        return Tensor(0.0)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing norm is reported, not warned about
        norms = [_array_norm(a, p) for a in arrays]
    if math.isinf(p):
        total = max(norms)
    elif p == 2.0:
        total = math.sqrt(math.fsum(n * n for n in norms))
    else:
        total = math.fsum(n**p for n in norms) ** (1.0 / p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it cannot be clipped. "
            "To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`"
        )
    dtype = np.result_type(*arrays) if np.result_type(*arrays).kind == "f" else np.float32
    return Tensor(np.asarray(total, dtype=dtype))


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm) -> None:
    """Scale the gradients by ``min(1, max_norm / (total_norm + 1e-6))`` in place, given their total norm."""
    grads = [p.grad.array for p in _as_list(parameters) if p.grad is not None]
    if not grads:
        return
    total = total_norm.array if isinstance(total_norm, Tensor) else np.asarray(total_norm, dtype=np.float32)
    total = total.reshape(()) if total.dtype.kind == "f" else total.astype(np.float32).reshape(())
    coef = total.dtype.type(max_norm) / (total + total.dtype.type(1e-6))
    coef = np.minimum(coef, total.dtype.type(1.0))
    if coef == 1.0:
        return  # multiplying by 1 changes nothing
    with np.errstate(invalid="ignore"):  # inf · 0 = nan, as in PyTorch
        for g in grads:
            g *= coef


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Rescale the gradients in place so that their total norm is at most ``max_norm``; return the norm before.

    ``g ← g · min(1, max_norm / (‖g‖ + 1e-6))`` where ``‖g‖`` is the ``norm_type``
    norm of all gradients concatenated (``'inf'``: the largest magnitude).
    Parameters without a gradient are skipped. A non-finite norm is an error
    when ``error_if_nonfinite`` (otherwise the gradients become NaN, as in
    PyTorch). The returned norm is handy for logging exploding gradients.

    Example::

        loss.backward()
        norm = ember.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
    """
    params = _as_list(parameters)
    if not isinstance(max_norm, numbers.Real) or isinstance(max_norm, bool) or not max_norm >= 0:
        raise ValueError(f"max_norm must be a number >= 0, got max_norm={max_norm!r}")
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient entry to ``[-clip_value, clip_value]`` in place."""
    params = _as_list(parameters)
    if not isinstance(clip_value, numbers.Real) or isinstance(clip_value, bool) or not clip_value >= 0:
        raise ValueError(f"clip_value must be a number >= 0, got clip_value={clip_value!r}")
    for p in params:
        if p.grad is not None:
            np.clip(p.grad.array, -clip_value, clip_value, out=p.grad.array)
