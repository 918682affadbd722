"""Regularisation terms added to the loss (NOTES §3): L1, L2 and elastic net.

By default they cover a model's *weights*: parameters with at least 2 dimensions (Linear and conv
kernels). Biases and normalisation scales/shifts (1-D) are left out, as usual for weight decay;
``weights_only=False`` includes every parameter. Each also accepts a tensor (e.g. an autoencoder's
hidden code, for an L1 sparsity penalty) or an iterable of tensors. The result is a differentiable
scalar: ``loss = criterion(out, y) + lam * l2_penalty(model)``.
"""
from __future__ import annotations

from ember.ops import api as E
from ember.tensor import Tensor

__all__ = ["l1_penalty", "l2_penalty", "elastic_net_penalty", "penalized_parameters"]


def penalized_parameters(source, weights_only: bool = True) -> list[Tensor]:
    """The tensors a penalty sums over: a Module's weights (ndim ≥ 2, or all parameters), a tensor, or an
    iterable of tensors."""
    from ember.nn.module import Module

    if isinstance(source, Tensor):
        return [source]
    if isinstance(source, Module):
        return [p for p in source.parameters() if not weights_only or p.ndim >= 2]
    try:
        items = list(source)
    except TypeError:
        raise TypeError(f"a penalty needs a Module, a Tensor or an iterable of tensors, got "
                        f"{type(source).__name__}") from None
    bad = [type(t).__name__ for t in items if not isinstance(t, Tensor)]
    if bad:
        raise TypeError(f"a penalty needs tensors, got {bad[0]}")
    return items


def _total(terms: list[Tensor]) -> Tensor:
    if not terms:
        raise ValueError("penalty over nothing: the model has no weights (ndim >= 2); pass weights_only=False")
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def l1_penalty(source, weights_only: bool = True) -> Tensor:
    """‖w‖₁ = Σ|w|: pushes weights (or activations) to exactly 0, i.e. sparsity."""
    return _total([E.abs(p).sum() for p in penalized_parameters(source, weights_only)])


def l2_penalty(source, weights_only: bool = True) -> Tensor:
    """‖w‖₂² = Σw² (no ½): ``loss + (λ/2)·l2_penalty(model)`` matches SGD with weight_decay=λ."""
    return _total([(p * p).sum() for p in penalized_parameters(source, weights_only)])


def elastic_net_penalty(source, l1_ratio: float = 0.5, weights_only: bool = True) -> Tensor:
    """Elastic net: r·‖w‖₁ + (1 − r)/2·‖w‖₂² with r = ``l1_ratio`` ∈ [0, 1] (scikit-learn's convention;
    r = 1 is pure L1, r = 0 is pure ½·L2)."""
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"elastic_net_penalty: l1_ratio must be between 0 and 1, got {l1_ratio}")
    params = penalized_parameters(source, weights_only)
    return l1_ratio * l1_penalty(params) + (0.5 * (1.0 - l1_ratio)) * l2_penalty(params)
