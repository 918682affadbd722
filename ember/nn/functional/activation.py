"""Activation functions (NOTES §2) as functions of tensors."""
from __future__ import annotations

from ember.ops import activation as A
from ember.ops.api import log_softmax, sigmoid, softmax, tanh
from ember.tensor import Tensor

__all__ = ["relu", "relu_", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "swish", "sigmoid", "tanh",
           "softplus", "softmax", "log_softmax", "hardtanh", "relu6"]


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x). ``inplace`` is accepted for PyTorch code; the result is always a new tensor."""
    return A.ReLU.apply(input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x). ``inplace`` is accepted for PyTorch code; the result is always a new tensor."""
    return A.SiLU.apply(input)


def relu_(x: Tensor) -> Tensor:
    """max(0, x) (as a new tensor: ember's graph records no in-place ops)."""
    return relu(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """max(αx, x) with α = ``negative_slope``."""
    return A.LeakyReLU.apply(x, negative_slope=negative_slope)


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + a·min(0, x) with learned slopes ``weight``: one shared, or one per channel (dim 1)."""
    return A.PReLU.apply(x, weight)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, α(eˣ − 1) otherwise."""
    return A.ELU.apply(x, alpha=alpha)


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """λ·ELU_α(x) with the fixed λ ≈ 1.0507, α ≈ 1.6733 that make activations self-normalising."""
    return A.ELU.apply(x, alpha=A.SELU_ALPHA, scale=A.SELU_SCALE)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) = x·½(1 + erf(x/√2)); with ``approximate='tanh'``: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")
    return A.GELU.apply(x, approximate=approximate)


swish = silu


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β)·ln(1 + e^(βx)), and x itself where βx > ``threshold`` (where the two agree to float precision)."""
    return A.Softplus.apply(x, beta=beta, threshold=threshold)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """min(max(x, min_val), max_val)."""
    return x.clamp(min_val, max_val)


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return x.clamp(0.0, 6.0)
