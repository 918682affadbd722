"""Activation functions (NOTES §2) as functions of tensors."""
from __future__ import annotations

from ember.ops import activation as A
from ember.ops.api import _dim, log_softmax, neg, sigmoid, softmax, sub, tanh
from ember.tensor import Tensor

__all__ = ["relu", "relu_", "leaky_relu", "prelu", "elu", "selu", "gelu", "silu", "swish", "sigmoid", "tanh",
           "softplus", "softmax", "log_softmax", "hardtanh", "relu6", "hardsigmoid", "hardswish", "mish", "logsigmoid",
           "softmin", "glu", "threshold", "softsign", "celu", "hardshrink", "softshrink", "tanhshrink", "rrelu",
           "channel_shuffle"]


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


def softsign(input: Tensor) -> Tensor:
    """x/(1 + |x|)."""
    return A.Softsign.apply(input)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, α(e^(x/α) − 1)) = α·elu(x/α): ELU made continuously differentiable for any α."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides the input)")
    return A.ELU.apply(input / alpha, alpha=1.0, scale=float(alpha))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > λ, else 0."""
    return A.Hardshrink.apply(input, lambd=float(lambd))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x − λ above λ, x + λ below −λ, 0 in between (the proximal operator of λ|x|)."""
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}")
    return A.Softshrink.apply(input, lambd=float(lambd))


def tanhshrink(input: Tensor) -> Tensor:
    """x − tanh(x)."""
    return sub(input, tanh(input))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomised leaky ReLU: x for x > 0, a·x otherwise. While training each element draws its own slope
    a ~ U(lower, upper) (from ``ember.random.generator()``); in evaluation a = (lower + upper)/2."""
    if lower > upper:
        raise ValueError(f"rrelu: lower bound ({lower}) must be less than or equal to upper bound ({upper})")
    if not training:
        return A.LeakyReLU.apply(input, negative_slope=(lower + upper) / 2)
    from ember import random as _random

    slopes = _random.generator().uniform(lower, upper, input.shape).astype(input.dtype)
    return A.RReLU.apply(input, slopes)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """ShuffleNet's channel shuffle: (N, C, *) viewed as (N, g, C/g, *), the two group axes swapped, and
    flattened back, so the next grouped conv sees channels from every group."""
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise ValueError(f"channel_shuffle: number of groups to divide channels in must be positive, got {groups!r}")
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects an input with at least 3 dimensions (N, C, *), got shape "
                           f"{tuple(input.shape)}")
    n, c, rest = input.shape[0], input.shape[1], tuple(input.shape[2:])
    if c % groups:
        raise RuntimeError(f"channel_shuffle: number of channels ({c}) of the input of shape {tuple(input.shape)} "
                           f"must be divisible by groups ({groups})")
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)
