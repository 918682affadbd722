"""More losses with PyTorch's names, arguments and reductions: ranking and embedding hinges, the soft
margins, the multi-label margins and the Poisson and Gaussian negative log-likelihoods.

Every loss here is a composition of differentiable ember ops (no fused backward), so gradients reach
every input that requires grad. ``reduction`` is ``'mean'`` (the default), ``'sum'`` or ``'none'``.
As with ember's other losses, an input and a target of different shapes are refused rather than
broadcast (:func:`gaussian_nll_loss`, whose rules allow a broadcast target and variance, excepted).
"""
from __future__ import annotations

import math
from numbers import Number

import numpy as np

from ember.nn.functional.loss import _arr, _check_reduction, _pair, _reduce, _tensor_like
from ember.ops import api as E
from ember.ops.activation import Softplus
from ember.tensor import Tensor

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "multilabel_margin_loss", "poisson_nll_loss", "gaussian_nll_loss"]


def _softplus(x: Tensor) -> Tensor:
    """log(1 + eˣ), computed stably (linear above 20)."""
    return Softplus.apply(x, beta=1.0, threshold=20.0)


def _as_input(value, fn: str, name: str = "input") -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}: {name} must be a Tensor, got {type(value).__name__}")
    return value


# ----------------------------------------------------------------------------- ranking and embeddings


def margin_ranking_loss(input1: Tensor, input2: Tensor, target, margin: float = 0.0,
                        reduction: str = "mean") -> Tensor:
    """loss = max(0, −y·(x₁ − x₂) + margin) per element, y = 1 when x₁ should rank higher than x₂ and
    y = −1 when x₂ should. The three tensors must have the same number of dimensions (they broadcast)."""
    _check_reduction(reduction, "margin_ranking_loss")
    target = _tensor_like(target, input1)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss: all input tensors should have the same number of dimensions, "
                           f"got input1 {tuple(input1.shape)}, input2 {tuple(input2.shape)} and target "
                           f"{tuple(target.shape)}")
    return _reduce(E.clamp(-target * (input1 - input2) + margin, min=0.0), reduction)


def hinge_embedding_loss(input: Tensor, target, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """loss = x where y = 1, max(0, margin − x) where y = −1 (x typically a distance between a pair, y
    saying whether the pair is similar). As in PyTorch, an element whose y is neither 1 nor −1 gets
    both terms."""
    _check_reduction(reduction, "hinge_embedding_loss")
    t = _pair(input, target, "hinge_embedding_loss")
    y = t.array
    zero = Tensor._wrap(np.zeros(input.shape, input.dtype))
    below_margin = E.where(y != 1, E.clamp(margin - input, min=0.0), zero)
    itself = E.where(y != -1, input, zero)
    return _reduce(below_margin + itself, reduction)


# ----------------------------------------------------------------------------- soft margins


def soft_margin_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """The two-class logistic loss log(1 + exp(−y·x)) per element, y ∈ {1, −1} (computed as softplus(−y·x),
    so large margins neither overflow nor underflow)."""
    _check_reduction(reduction, "soft_margin_loss")
    t = _pair(input, target, "soft_margin_loss")
    return _reduce(_softplus(-t * input), reduction)


def multilabel_soft_margin_loss(input: Tensor, target, weight: Tensor | None = None,
                                reduction: str = "mean") -> Tensor:
    """One-versus-all logistic loss over C classes, y ∈ {0, 1} per class (several may be 1):

        loss_n = −(1/C)·Σ_c w_c·(y_c·log σ(x_c) + (1 − y_c)·log σ(−x_c))
               =  (1/C)·Σ_c w_c·(y_c·softplus(−x_c) + (1 − y_c)·softplus(x_c))

    over the last axis of an (N, C) or (C,) input; ``weight`` (broadcast against the input, usually (C,))
    rescales each class."""
    _check_reduction(reduction, "multilabel_soft_margin_loss")
    t = _pair(input, target, "multilabel_soft_margin_loss")
    if input.ndim == 0:
        raise ValueError("multilabel_soft_margin_loss expects an input of shape (N, C) or (C,), got a 0-d tensor")
    loss = t * _softplus(-input) + (1 - t) * _softplus(input)
    if weight is not None:
        w = _tensor_like(weight, input)
        np.broadcast_shapes(w.shape, input.shape)
        loss = loss * w
    c = input.shape[-1]
    return _reduce(loss.sum(dim=input.ndim - 1) / c, reduction)


def multilabel_margin_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """The multi-label hinge: each row's target lists the indices of its positive classes, ended by the
    first −1 (the rest ignored), in an integer tensor of the input's shape (N, C) or (C,). With J the
    positive classes,

        loss_n = Σ_{j ∈ J} Σ_{i ∉ J} max(0, 1 − (x[y_j] − x[i])) / C

    so every positive class should score at least 1 above every negative one. (An index listed twice
    counts twice, as in PyTorch.)"""
    _check_reduction(reduction, "multilabel_margin_loss")
    _as_input(input, "multilabel_margin_loss")
    y = _arr(target)
    if input.ndim not in (1, 2):
        raise ValueError(f"multilabel_margin_loss expects an input of shape (N, C) or (C,), got {tuple(input.shape)}")
    if y.shape != input.shape:
        raise ValueError(f"multilabel_margin_loss: target of shape {y.shape} must have the input's shape "
                         f"{tuple(input.shape)} (class indices, ended by -1)")
    if y.dtype.kind not in "iu":
        raise TypeError(f"multilabel_margin_loss: target must hold integer class indices, got dtype {y.dtype}")
    unbatched = input.ndim == 1
    x = E.unsqueeze(input, 0) if unbatched else input
    y2 = y.reshape(x.shape).astype(np.int64)
    n, c = x.shape
    if y2.size and (y2.min() < -1 or y2.max() >= c):
        raise IndexError(f"multilabel_margin_loss: target indices must be in 0..{c - 1}, or -1 to end the list")
    # slot j of row n is used until the first -1 of that row
    valid = np.cumprod(y2 >= 0, axis=1).astype(bool)
    ys = np.where(valid, y2, 0)
    is_target = np.zeros((n, c), bool)
    rows = np.repeat(np.arange(n), c).reshape(n, c)
    is_target[rows[valid], ys[valid]] = True
    x_pos = x[np.arange(n)[:, None], ys]  # (N, C): x[y_j] for every slot j
    hinge = E.clamp(1.0 - E.unsqueeze(x_pos, 2) + E.unsqueeze(x, 1), min=0.0)  # (N, slot j, class i)
    mask = (valid[:, :, None] & ~is_target[:, None, :]).astype(x.dtype)
    loss = (hinge * Tensor._wrap(mask)).sum(dim=(1, 2)) / c
    if unbatched and reduction == "none":
        loss = E.squeeze(loss, 0)
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------- likelihoods


def poisson_nll_loss(input: Tensor, target, log_input: bool = True, full: bool = False, eps: float = 1e-8,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of counts y under a Poisson distribution of rate λ, dropping log(y!):

        log_input=True  (input = log λ):  loss = exp(x) − y·x
        log_input=False (input = λ):      loss = x − y·log(x + eps)

    ``full`` adds Stirling's approximation of log(y!), y·log y − y + ½·log(2πy), for targets y > 1
    (0 for y ≤ 1)."""
    _check_reduction(reduction, "poisson_nll_loss")
    t = _pair(input, target, "poisson_nll_loss")
    if log_input:
        loss = E.exp(input) - t * input
    else:
        loss = input - t * E.log(input + eps)
    if full:
        big = t.array > 1
        safe = E.where(big, t, 1.0)  # log(1) = 0 where the term is masked: no log of 0 or of a negative
        stirling = safe * E.log(safe) - safe + 0.5 * E.log(2 * math.pi * safe)
        loss = loss + E.where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def _gaussian_var(var, input: Tensor) -> Tensor:
    """The variance as a tensor that broadcasts against ``input``, by PyTorch's rules: the input's shape
    (one variance per element), the input's shape less its last axis (one per row), or the input's
    number of axes with exactly one axis of size 1 where the input's is not."""
    if isinstance(var, Number) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("gaussian_nll_loss: var has negative entry/entries")
        return Tensor._wrap(np.full(input.shape, var, dtype=input.dtype))
    if not isinstance(var, Tensor):
        var = Tensor._wrap(np.asarray(var, dtype=input.dtype))
    if var.array.size and (var.array < 0).any():
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = E.unsqueeze(var, -1)
        elif not (var.ndim == input.ndim and
                  sum(v for i, v in zip(input.shape, var.shape) if i != v) == 1):
            raise ValueError(f"gaussian_nll_loss: var of shape {tuple(var.shape)} is of incorrect size for an input "
                             f"of shape {tuple(input.shape)}: give the input's shape, the input's shape without its "
                             f"last axis, or the input's shape with one axis of size 1")
    return var


def gaussian_nll_loss(input: Tensor, target, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of y under N(μ = input, σ² = var):

        loss = ½·(log max(var, eps) + (x − y)²/max(var, eps))  (+ ½·log 2π with ``full``)

    ``var`` is a positive number, or a tensor of the input's shape (one variance per element), of the
    input's shape without its last axis, or with one axis of size 1 (shared along it). The clamp at
    ``eps`` does not stop var's gradient (as in PyTorch, the clamp is not recorded). The target may
    broadcast to the input's shape."""
    _check_reduction(reduction, "gaussian_nll_loss")
    _as_input(input, "gaussian_nll_loss")
    target = _tensor_like(target, input)
    try:
        out_shape = np.broadcast_shapes(input.shape, target.shape)
    except ValueError:
        out_shape = None
    if out_shape != tuple(input.shape):
        raise ValueError(f"gaussian_nll_loss: target of shape {tuple(target.shape)} does not broadcast to the input's "
                         f"shape {tuple(input.shape)}")
    var = _gaussian_var(var, input)
    v = var.array
    var = var + Tensor._wrap((np.maximum(v, eps) - v).astype(v.dtype, copy=False))  # clamped, gradient unchanged
    d = input - target
    loss = 0.5 * (E.log(var) + d * d / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)
