"""Activation functions (NOTES §2) as functions of tensors."""
from __future__ import annotations

from ember.ops import activation as A
from ember.ops.api import _dim, log_softmax, neg, sigmoid, softmax, tanh
from ember.tensor import Tensor

__all__ = ["relu", "relu_", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "swish", "sigmoid", "tanh",
           "softplus", "softmax", "log_softmax", "hardtanh", "relu6", "hardsigmoid", "hardswish", "mish", "logsigmoid",
           "softmin", "glu", "threshold"]


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


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3)/6. ``inplace`` is accepted for PyTorch code; the result is always a new tensor."""
    return A.Hardsigmoid.apply(input)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·relu6(x + 3)/6 (MobileNetV3's cheap swish)."""
    return A.Hardswish.apply(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x))."""
    return A.Mish.apply(input)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x), computed without forming σ (stable for very negative x)."""
    return A.LogSigmoid.apply(input)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(−x) along ``dim`` (PyTorch's legacy rule picks dim when it is None)."""
    if dim is None:
        dim = 0 if input.ndim in (0, 1, 3) else 1
    return softmax(neg(input), dim, dtype)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a ⊙ σ(b) with [a, b] the two halves of ``input`` along ``dim``."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _dim(dim, input.ndim)
    if input.shape[d] % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} of the input of shape "
                           f"{input.shape} has size {input.shape[d]}")
    return A.GLU.apply(input, dim=d)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else ``value``."""
    return A.Threshold.apply(input, threshold=float(threshold), value=float(value))
