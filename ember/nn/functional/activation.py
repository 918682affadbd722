"""Activation functions (NOTES §2) as functions of tensors."""
from __future__ import annotations

from ember.ops import activation as A
from ember.ops.api import log_softmax, relu, sigmoid, silu, softmax, tanh
from ember.tensor import Tensor

__all__ = ["relu", "relu_", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "swish", "sigmoid", "tanh",
           "softplus", "softmax", "log_softmax", "hardtanh", "relu6"]


def relu_(x: Tensor) -> Tensor:
    return relu(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return A.LeakyReLU.apply(x, negative_slope=negative_slope)


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    return A.PReLU.apply(x, weight)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return A.ELU.apply(x, alpha=alpha)


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """λ·ELU_α(x) with the fixed λ ≈ 1.0507, α ≈ 1.6733 that make activations self-normalising."""
    return A.ELU.apply(x, alpha=A.SELU_ALPHA, scale=A.SELU_SCALE)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu approximate must be 'none' or 'tanh', got {approximate!r}")
    return A.GELU.apply(x, approximate=approximate)


swish = silu


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return A.Softplus.apply(x, beta=beta, threshold=threshold)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return x.clamp(min_val, max_val)


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    return x.clamp(0.0, 6.0)
