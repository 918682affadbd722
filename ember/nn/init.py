"""Weight initialisation (NOTES §5), PyTorch's names and formulas.

Every initializer fills ``tensor.array`` in place, draws from ``ember.random.generator()``
(so ``ember.manual_seed`` makes initial weights reproducible), keeps the tensor's dtype
and returns the tensor.

- all zeros: every unit computes the same thing and gets the same gradient; nothing learns.
- small Gaussian, e.g. ``normal_(w, 0, 0.01)``: fine for small nets, activations shrink in deep ones.
- Xavier/Glorot: ``Var(w) = gain² · 2/(fan_in + fan_out)`` keeps the activation variance constant.
- He/Kaiming: ``Var(w) = gain²/fan``; with ReLU's gain √2 this is ``N(0, 2/fan_in)``.
- For a conv weight (C_out, C_in/groups, k, k): ``fan_in = C_in/groups · k · k``,
  ``fan_out = C_out · k · k``.

The default initialisation of ember's layers
--------------------------------------------
Layers with weights (Linear, Conv2d) initialise through :func:`default_weight_init_` and
:func:`default_bias_init_`. Out of the box these are PyTorch's defaults — weight
``kaiming_uniform_(a=√5)``, i.e. ``U(±1/√fan_in)``, and bias ``U(±1/√fan_in)`` — so
parity tests can copy weights either way. Change them for every layer built afterwards in
one place::

    ember.nn.init.set_default(weight="kaiming_normal", bias="zeros")
    ember.nn.init.set_default(weight=lambda w: ember.nn.init.xavier_uniform_(w))
    with ember.nn.init.default_init(weight="xavier_normal"):   # only inside the block
        net = build()
    ember.nn.init.reset_default()                                # back to PyTorch's

or per layer with the layer's ``init=`` argument (same names or a callable ``fn(weight)``).
Named schemes: see :data:`SCHEMES`.
"""
from __future__ import annotations

import contextlib
import math
from typing import Callable

import numpy as np

from ember import random as _random
from ember.tensor import Tensor, note_inplace

__all__ = [
    "calculate_gain", "zeros_", "ones_", "constant_", "eye_", "dirac_", "normal_", "uniform_", "xavier_uniform_",
    "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_", "trunc_normal_",
    "_calculate_fan_in_and_fan_out", "set_default", "reset_default", "default_init", "get_default",
    "default_weight_init_", "default_bias_init_", "SCHEMES",
]


def _check(tensor) -> np.ndarray:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"initializers fill an ember Tensor in place, got {type(tensor).__name__}")
    return tensor.array


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    tensor.array[...] = values  # in place, cast to the tensor's own dtype
    note_inplace((tensor.array,), "an ember.nn.init initializer")
    return tensor


# ----------------------------------------------------------------------------- gain and fans


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The factor by which an activation shrinks the variance, PyTorch's table:
    linear/conv/sigmoid 1, tanh 5/3, relu √2, leaky_relu √(2/(1+a²)) (a defaults to 0.01), selu 3/4."""
    linear_fns = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "identity"}
    if nonlinearity in linear_fns:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"unsupported nonlinearity {nonlinearity!r}; valid: {sorted(linear_fns | {'tanh', 'relu', 'leaky_relu', 'selu'})}"
    )


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """fan_in = size(1)·receptive field, fan_out = size(0)·receptive field (receptive field = k·k for a
    conv weight of shape (C_out, C_in/groups, k, k), 1 for a Linear weight (out, in))."""
    shape = _check(tensor).shape
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape {shape})"
        )
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# ----------------------------------------------------------------------------- simple fills


def zeros_(tensor: Tensor) -> Tensor:
    _check(tensor)[...] = 0
    return tensor


def ones_(tensor: Tensor) -> Tensor:
    _check(tensor)[...] = 1
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    _check(tensor)[...] = val
    return tensor


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix in a 2-D tensor."""
    d = _check(tensor)
    if d.ndim != 2:
        raise ValueError(f"eye_ needs a 2-D tensor, got shape {d.shape}")
    return _fill(tensor, np.eye(*d.shape))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """A conv weight that passes its input channels through unchanged (the centre tap is 1)."""
    d = _check(tensor)
    if d.ndim not in (3, 4, 5):
        raise ValueError(f"dirac_ needs a 3-, 4- or 5-D tensor, got shape {d.shape}")
    if d.shape[0] % groups:
        raise ValueError(f"dirac_: dim 0 ({d.shape[0]}) must be divisible by groups ({groups})")
    out_per = d.shape[0] // groups
    d[...] = 0
    centre = tuple(s // 2 for s in d.shape[2:])
    for g in range(groups):
        for i in range(min(out_per, d.shape[1])):
            d[(g * out_per + i, i) + centre] = 1
    return tensor


def _draw_dtype(d: np.ndarray):
    """Draw float32 tensors' values in float32: 2–3× faster than drawing float64 and casting (VGG-16's
    138 M weights took 5.4 s to initialise that way)."""
    return np.float32 if d.dtype == np.float32 else np.float64


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """w ~ N(mean, std²)."""
    d = _check(tensor)
    v = _random.generator().standard_normal(d.shape, dtype=_draw_dtype(d))
    v *= std
    v += mean
    return _fill(tensor, v)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """w ~ U(a, b)."""
    d = _check(tensor)
    if a > b:
        raise ValueError(f"uniform_ needs a <= b, got a={a}, b={b}")
    v = _random.generator().random(d.shape, dtype=_draw_dtype(d))
    v *= b - a
    v += a
    return _fill(tensor, v)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """w ~ N(mean, std²) conditioned on a ≤ w ≤ b (absolute bounds, as in PyTorch); exact rejection sampling."""
    d = _check(tensor)
    if not a < b:
        raise ValueError(f"trunc_normal_ needs a < b, got a={a}, b={b}")
    if std <= 0:
        raise ValueError(f"trunc_normal_ needs std > 0, got {std}")
    gen = _random.generator()
    from scipy.special import ndtr  # acceptance rate, to size the batches

    accept = float(ndtr((b - mean) / std) - ndtr((a - mean) / std))
    if accept < 1e-4:
        # the bounds cut off almost all the mass: sample the truncated law by inverting its CDF
        from scipy.stats import truncnorm

        vals = truncnorm.ppf(gen.uniform(0, 1, d.shape), (a - mean) / std, (b - mean) / std, loc=mean, scale=std)
        return _fill(tensor, np.clip(vals, a, b))
    n = d.size
    out = np.empty(n)
    filled = 0
    while filled < n:
        want = n - filled
        draw = gen.normal(mean, std, int(want / accept * 1.1) + 16)
        keep = draw[(draw >= a) & (draw <= b)][:want]
        out[filled:filled + keep.size] = keep
        filled += keep.size
    return _fill(tensor, out.reshape(d.shape))


# ----------------------------------------------------------------------------- scaled by fan


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: w ~ U(±a), a = gain·√(6/(fan_in + fan_out)), so Var(w) = gain²·2/(fan_in + fan_out)."""
    if _check(tensor).size == 0:  # nothing to fill (and no fan to divide by), as PyTorch
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: w ~ N(0, std²), std = gain·√(2/(fan_in + fan_out))."""
    if _check(tensor).size == 0:
        return tensor
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He: w ~ U(±bound), bound = gain·√(3/fan), gain = calculate_gain(nonlinearity, a).
    ``a=√5`` with leaky_relu gives bound = 1/√fan_in: the default of Linear and Conv2d."""
    if _check(tensor).size == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He: w ~ N(0, std²), std = gain/√fan; for ReLU (a = 0) std = √(2/fan_in).
    A 3×3 conv with 64 input channels has fan_in 576, so std √(2/576)."""
    if _check(tensor).size == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(fan))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """A (semi-)orthogonal matrix (rows or columns orthonormal) times ``gain``, from the QR decomposition
    of a Gaussian matrix with the signs of R's diagonal folded into Q (so it is uniformly distributed).
    Dims after the first are flattened."""
    d = _check(tensor)
    if d.ndim < 2:
        raise ValueError(f"orthogonal_ needs a tensor with at least 2 dimensions, got shape {d.shape}")
    if d.size == 0:
        return tensor
    rows = d.shape[0]
    cols = d.size // rows
    flat = _random.generator().normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(d.shape))


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01) -> Tensor:
    """A 2-D matrix drawn from N(0, std²) with ⌈sparsity·rows⌉ entries of every column set to zero, the rows
    chosen at random per column (Martens 2010, as PyTorch's ``sparse_``)."""
    d = _check(tensor)
    if d.ndim != 2:
        raise ValueError(f"sparse_: only tensors with 2 dimensions are supported, got shape {d.shape}")
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparse_: sparsity must be between 0 and 1, got {sparsity!r}")
    rows, cols = d.shape
    num_zeros = int(math.ceil(sparsity * rows))
    normal_(tensor, 0.0, std)
    gen = _random.generator()
    for col in range(cols):
        d[gen.permutation(rows)[:num_zeros], col] = 0
    return tensor


# ----------------------------------------------------------------------------- the layers' default

def _pytorch_weight(w: Tensor) -> Tensor:
    return kaiming_uniform_(w, a=math.sqrt(5))


def _pytorch_bias(b: Tensor, fan_in: int) -> Tensor:
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    return uniform_(b, -bound, bound)


#: Named weight schemes for :func:`set_default` and the layers' ``init=`` argument.
SCHEMES: dict[str, Callable[[Tensor], Tensor]] = {
    "pytorch": _pytorch_weight,
    "kaiming_uniform": lambda w: kaiming_uniform_(w, nonlinearity="relu"),
    "kaiming_normal": lambda w: kaiming_normal_(w, nonlinearity="relu"),
    "he": lambda w: kaiming_normal_(w, nonlinearity="relu"),
    "xavier_uniform": xavier_uniform_,
    "xavier_normal": xavier_normal_,
    "glorot": xavier_uniform_,
    "orthogonal": orthogonal_,
    "normal": lambda w: normal_(w, 0.0, 0.01),
    "zeros": zeros_,
}

#: Named bias schemes: each is ``fn(bias, fan_in)``.
BIAS_SCHEMES: dict[str, Callable[[Tensor, int], Tensor]] = {
    "pytorch": _pytorch_bias,
    "zeros": lambda b, fan_in: zeros_(b),
    "relu": lambda b, fan_in: constant_(b, 0.01),  # NOTES §2: ReLU biases may start at 0.01
}

_default = {"weight": _pytorch_weight, "bias": _pytorch_bias}


def _resolve_weight(spec) -> Callable[[Tensor], Tensor]:
    if callable(spec):
        return spec
    if isinstance(spec, str) and spec in SCHEMES:
        return SCHEMES[spec]
    raise ValueError(f"unknown weight initialisation {spec!r}; use a callable fn(weight) or one of {sorted(SCHEMES)}")


def _resolve_bias(spec) -> Callable[[Tensor, int], Tensor]:
    if callable(spec):
        return spec
    if isinstance(spec, str) and spec in BIAS_SCHEMES:
        return BIAS_SCHEMES[spec]
    raise ValueError(
        f"unknown bias initialisation {spec!r}; use a callable fn(bias, fan_in) or one of {sorted(BIAS_SCHEMES)}"
    )


def set_default(weight=None, bias=None) -> None:
    """Change how every Linear/Conv2d built from now on initialises itself.

    ``weight``: a name from :data:`SCHEMES` or a callable ``fn(weight_tensor)``;
    ``bias``: a name from :data:`BIAS_SCHEMES` or a callable ``fn(bias_tensor, fan_in)``.
    Arguments left as None keep their current setting."""
    if weight is not None:
        _default["weight"] = _resolve_weight(weight)
    if bias is not None:
        _default["bias"] = _resolve_bias(bias)


def reset_default() -> None:
    """Back to PyTorch's defaults: kaiming_uniform_(a=√5) weights, U(±1/√fan_in) biases."""
    _default["weight"], _default["bias"] = _pytorch_weight, _pytorch_bias


def get_default() -> dict:
    return dict(_default)


@contextlib.contextmanager
def default_init(weight=None, bias=None):
    """``set_default`` for the duration of a ``with`` block."""
    saved = dict(_default)
    try:
        set_default(weight, bias)
        yield
    finally:
        _default.update(saved)


def default_weight_init_(weight: Tensor, init=None) -> Tensor:
    """Initialise a layer's weight with ``init`` (name or callable) or, when None, the current default."""
    fn = _default["weight"] if init is None else _resolve_weight(init)
    return fn(weight)


def default_bias_init_(bias: Tensor, fan_in: int) -> Tensor:
    return _default["bias"](bias, fan_in)
