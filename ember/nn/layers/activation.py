"""Activation layers (NOTES §2). Each wraps the function in :mod:`ember.nn.functional`; ``inplace=`` is
accepted for PyTorch compatibility and ignored (ember never overwrites its inputs)."""
from __future__ import annotations

import numpy as np

from ember import dtypes as _dt
from ember.nn import functional as F
from ember.nn.layers._util import positive_float, positive_int
from ember.nn.module import Module, Parameter
from ember.tensor import Tensor

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "PReLU", "ELU", "SELU", "GELU", "SiLU", "Swish", "Sigmoid", "Tanh",
           "Softmax", "LogSoftmax", "Softplus", "Hardtanh", "Hardsigmoid", "Hardswish", "Mish", "LogSigmoid", "Softmin",
           "GLU", "Threshold", "Softsign", "CELU", "Hardshrink", "Softshrink", "Softmax2d", "Tanhshrink", "RReLU",
           "ChannelShuffle"]


class _Inplace(Module):
    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = bool(inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """max(0, x): cheap, no saturation for x > 0; a unit whose input stays negative dies."""

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)


class ReLU6(_Inplace):
    """min(max(0, x), 6) (MobileNet)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input)


class LeakyReLU(Module):
    """max(αx, x) with a small fixed slope α (``negative_slope``) for x < 0."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        if not isinstance(negative_slope, (int, float)) or isinstance(negative_slope, bool):
            raise ValueError(f"LeakyReLU: negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)
        self.inplace = bool(inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """max(0, x) + a·min(0, x) with a learned slope a: one shared (``num_parameters=1``) or one per
    channel (axis 1), starting at ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype=None):
        super().__init__()
        self.num_parameters = positive_int(num_parameters, "num_parameters", "PReLU")
        if not isinstance(init, (int, float)) or isinstance(init, bool):
            raise ValueError(f"PReLU: init must be a number, got {init!r}")
        self.init = float(init)
        self.weight = Parameter(np.full(num_parameters, init, _dt.resolve(dtype)))

    def reset_parameters(self) -> None:
        self.weight.array[...] = self.init

    def forward(self, input: Tensor) -> Tensor:
        if self.num_parameters > 1 and (input.ndim < 2 or input.shape[1] != self.num_parameters):
            raise ValueError(f"PReLU({self.num_parameters}): input of shape {input.shape} must have "
                             f"{self.num_parameters} channels on axis 1")
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """x for x > 0, α(eˣ − 1) otherwise: mean output near zero, robust to noise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha = positive_float(alpha, "alpha", "ELU", allow_zero=True)
        self.inplace = bool(inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(_Inplace):
    """λ·ELU_α(x), λ ≈ 1.0507, α ≈ 1.6733: self-normalising (pair with lecun-normal weights)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.selu(input)


class GELU(Module):
    """x·Φ(x) (``approximate='none'``) or 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))) (``'tanh'``)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(_Inplace):
    """Swish: x·σ(x) (EfficientNet)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input)


Swish = SiLU


class Sigmoid(Module):
    """1/(1 + e^−x) ∈ (0, 1): saturates, gradient ≤ 1/4, not zero-centred."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x) ∈ (−1, 1): zero-centred, still saturates."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


def _legacy_softmax_dim(ndim: int) -> int:
    # PyTorch's rule when no dim is given
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """softmax(x)_i = e^{x_i}/Σ_j e^{x_j} along ``dim``: scores to a probability distribution."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        if dim is not None and not isinstance(dim, int):
            raise ValueError(f"Softmax: dim must be an int or None, got {dim!r}")
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim if self.dim is not None else _legacy_softmax_dim(input.ndim))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log softmax(x) along ``dim`` (x − logsumexp x, computed stably)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim if self.dim is not None else _legacy_softmax_dim(input.ndim))


class Softplus(Module):
    """(1/β)·ln(1 + e^{βx}), linear above ``threshold`` (a smooth ReLU)."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta = positive_float(beta, "beta", "Softplus")
        self.threshold = float(threshold)

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """clamp(x, min_val, max_val)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if not min_val < max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) must be less than max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = float(min_val), float(max_val), bool(inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}"


class Hardsigmoid(_Inplace):
    """relu6(x + 3)/6: a cheap piecewise-linear sigmoid (MobileNetV3's squeeze-excite gate)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.hardsigmoid(input)

    def extra_repr(self) -> str:
        return ""  # PyTorch prints no inplace flag for this one


class Hardswish(_Inplace):
    """x·relu6(x + 3)/6: a cheap swish (MobileNetV3)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.hardswish(input)

    def extra_repr(self) -> str:
        return ""  # PyTorch prints no inplace flag for this one


class Mish(_Inplace):
    """x·tanh(softplus(x)): smooth, non-monotonic, unbounded above (YOLOv4)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.mish(input)


class LogSigmoid(Module):
    """log σ(x), stable for very negative x."""

    def forward(self, input: Tensor) -> Tensor:
        return F.logsigmoid(input)


class Softmin(Softmax):
    """softmax(−x) along ``dim``: small scores get the large probabilities."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softmin(input, self.dim)


class GLU(Module):
    """Gated linear unit: the input's halves [a, b] along ``dim`` give a ⊙ σ(b) (half the size)."""

    def __init__(self, dim: int = -1):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ValueError(f"GLU: dim must be an int, got {dim!r}")
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Threshold(Module):
    """x where x > ``threshold``, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False):
        super().__init__()
        for name, v in (("threshold", threshold), ("value", value)):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"Threshold: {name} must be a number, got {v!r}")
        self.threshold, self.value, self.inplace = threshold, value, bool(inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class Softsign(Module):
    """x/(1 + |x|): a tanh-like squashing with polynomial (not exponential) tails."""

    def forward(self, input: Tensor) -> Tensor:
        return F.softsign(input)


class CELU(Module):
    """max(0, x) + min(0, α(e^(x/α) − 1)): continuously differentiable ELU (Barron 2017)."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha == 0:
            raise ValueError(f"CELU: alpha must be a non-zero number, got {alpha!r}")
        self.alpha, self.inplace = float(alpha), bool(inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.celu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Hardshrink(Module):
    """x where |x| > λ (``lambd``), else 0."""

    def __init__(self, lambd: float = 0.5):
        super().__init__()
        if isinstance(lambd, bool) or not isinstance(lambd, (int, float)):
            raise ValueError(f"Hardshrink: lambd must be a number, got {lambd!r}")
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Softshrink(Hardshrink):
    """x − λ above λ, x + λ below −λ, 0 in between (soft thresholding)."""

    def __init__(self, lambd: float = 0.5):
        super().__init__(lambd)
        if lambd < 0:
            raise ValueError(f"Softshrink: lambd must be non-negative, got {lambd!r}")

    def forward(self, input: Tensor) -> Tensor:
        return F.softshrink(input, self.lambd)


class Softmax2d(Module):
    """Softmax over the channels at every spatial position of a (N, C, H, W) or (C, H, W) input."""

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                             f"{tuple(input.shape)}")
        return F.softmax(input, -3)


class Tanhshrink(Module):
    """x − tanh(x)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanhshrink(input)


class RReLU(Module):
    """Randomised leaky ReLU (Xu et al. 2015): while training each negative element gets its own slope drawn
    from U(lower, upper); in evaluation the fixed slope (lower + upper)/2."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3, inplace: bool = False):
        super().__init__()
        for name, v in (("lower", lower), ("upper", upper)):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"RReLU: {name} must be a number, got {v!r}")
        if lower > upper:
            raise ValueError(f"RReLU: lower ({lower}) must not exceed upper ({upper})")
        self.lower, self.upper, self.inplace = lower, upper, bool(inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class ChannelShuffle(Module):
    """ShuffleNet's channel shuffle: interleave the channels of ``groups`` groups (see F.channel_shuffle)."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = positive_int(groups, "groups", "ChannelShuffle")

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
