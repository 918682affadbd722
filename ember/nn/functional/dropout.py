"""Dropout, DropConnect's weight mask and stochastic depth as functions (NOTES §7).

All use inverted scaling: what is kept is multiplied by 1/(1 − p) during training, so the
expected value is unchanged and evaluation is the identity. Masks come from
``ember.random.generator()``.
"""
from __future__ import annotations

from ember.ops.dropout import MaskedScale, keep_mask
from ember.tensor import Tensor

__all__ = ["dropout", "dropout2d", "dropout1d", "stochastic_depth", "drop_path", "drop_connect_weight"]


def _check_p(p: float, name: str) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} probability has to be between 0 and 1, but got {p}")
    return float(p)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """y = x ⊙ m / (1 − p), m ~ Bernoulli(1 − p) per element, while training; y = x otherwise."""
    p = _check_p(p, "dropout")
    if not training or p == 0.0:
        return input
    return MaskedScale.apply(input, keep_mask(input.shape, p, input.dtype))


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Drop whole channels: one Bernoulli(1 − p) draw per (sample, channel) of an (N, C, H, W) input
    (or per channel of an unbatched (C, H, W) input)."""
    p = _check_p(p, "dropout2d")
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d expects a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {input.shape}")
    if not training or p == 0.0:
        return input
    shape = input.shape[:-2] + (1, 1)
    return MaskedScale.apply(input, keep_mask(shape, p, input.dtype))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Drop whole channels of an (N, C, L) or (C, L) input."""
    p = _check_p(p, "dropout1d")
    if input.ndim not in (2, 3):
        raise ValueError(f"dropout1d expects a 2-D (C, L) or 3-D (N, C, L) input, got shape {input.shape}")
    if not training or p == 0.0:
        return input
    return MaskedScale.apply(input, keep_mask(input.shape[:-1] + (1,), p, input.dtype))


def stochastic_depth(input: Tensor, p: float, mode: str = "row", training: bool = True) -> Tensor:
    """Randomly drop a residual branch (Huang et al. 2016; torchvision's semantics).

    ``mode='row'``: each sample's branch is zeroed with probability p (one draw per sample);
    ``mode='batch'``: the whole batch's branch at once. Survivors are scaled by 1/(1 − p), so
    E[y] = x; in evaluation y = x. Use it on the branch: ``out = x + stochastic_depth(F(x), p)``.
    """
    p = _check_p(p, "drop")
    if mode not in ("row", "batch"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    shape = (input.shape[0],) + (1,) * (input.ndim - 1) if mode == "row" else (1,) * input.ndim
    return MaskedScale.apply(input, keep_mask(shape, p, input.dtype))


def drop_path(input: Tensor, p: float = 0.0, training: bool = True) -> Tensor:
    """Per-sample stochastic depth (``stochastic_depth(mode='row')``)."""
    return stochastic_depth(input, p, "row", training)


def drop_connect_weight(weight: Tensor, p: float, training: bool = True) -> Tensor:
    """DropConnect (Wan et al. 2013): drop *weights*, not activations. Each weight is kept with
    probability 1 − p and scaled by 1/(1 − p) (a fresh mask per call); the full weights at evaluation."""
    p = _check_p(p, "dropconnect")
    if not training or p == 0.0:
        return weight
    return MaskedScale.apply(weight, keep_mask(weight.shape, p, weight.dtype))
