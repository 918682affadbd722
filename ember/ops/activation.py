"""Activations (NOTES §2) and softmax. Each keeps what its derivative needs, usually its own output."""
from __future__ import annotations

import math

import numpy as np

from ember.tensor import Function

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # stable for large |x|: e^(-|x|) never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    """σ(x) = 1/(1+e^−x);  σ' = σ(1−σ) ≤ 1/4, which is why deep sigmoid nets' gradients vanish."""

    def forward(self, x):
        self.out = _sigmoid(x)
        return self.out

    def backward(self, g):
        return (g * self.out * (1 - self.out),)


class Tanh(Function):
    """tanh(x) ∈ (−1, 1), zero-centred;  tanh' = 1 − tanh²."""

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, g):
        return (g * (1 - self.out * self.out),)


class ReLU(Function):
    """max(0, x);  derivative 1 for x > 0, else 0 (a unit stuck below 0 is dead)."""

    def forward(self, x):
        if self.needs_input_grad[0]:
            self.mask = x > 0
        return np.maximum(x, 0)  # not x·mask: −inf·0 would be nan

    def backward(self, g):
        return (g * self.mask,)


class LeakyReLU(Function):
    """max(αx, x);  derivative 1 for x > 0, α otherwise: no unit dies completely."""

    def forward(self, x, negative_slope=0.01):
        self.slope = np.where(x > 0, 1, negative_slope).astype(x.dtype)
        return x * self.slope

    def backward(self, g):
        return (g * self.slope,)


class PReLU(Function):
    """max(0,x) + a·min(0,x) with a learned per-channel slope ``a`` (channel axis 1)."""

    def forward(self, x, a):
        channels = x.shape[1] if x.ndim > 1 else 1
        if a.size != 1 and a.size != channels:
            raise RuntimeError(
                f"prelu: weight of shape {a.shape} has {a.size} slopes but the input of shape {x.shape} has "
                f"{channels} channels (dim 1); use 1 slope or one per channel"
            )
        shape = [1] * x.ndim
        if x.ndim > 1:
            shape[1] = a.size
        self.a = a.reshape(shape) if a.size > 1 else a.reshape(())
        self.x = x
        self.a_shape = a.shape
        return np.where(x > 0, x, self.a * x)

    def backward(self, g):
        nx, na = self.needs_input_grad
        gx = np.where(self.x > 0, g, self.a * g) if nx else None
        ga = None
        if na:
            contrib = np.where(self.x > 0, 0, self.x * g)
            if self.a.ndim == 0:
                ga = np.asarray(contrib.sum()).reshape(self.a_shape)
            else:
                axes = tuple(i for i in range(contrib.ndim) if i != 1)
                ga = contrib.sum(axis=axes).reshape(self.a_shape)
        return gx, ga


class ELU(Function):
    """x for x > 0, α(eˣ − 1) otherwise;  derivative 1, or out + α."""

    def forward(self, x, alpha=1.0, scale=1.0):
        self.pos = x > 0
        neg = alpha * np.expm1(np.minimum(x, 0))
        self.neg_grad = (neg + alpha) * scale
        self.scale = scale
        return (scale * np.where(self.pos, x, neg)).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * np.where(self.pos, self.scale, self.neg_grad).astype(g.dtype, copy=False),)


class GELU(Function):
    """x·Φ(x) (exact, erf form) or its tanh approximation."""

    def forward(self, x, approximate="none"):
        self.x, self.approx = x, approximate
        if approximate == "tanh":
            k = math.sqrt(2 / math.pi)
            self.t = np.tanh(k * (x + 0.044715 * x**3))
            return (0.5 * x * (1 + self.t)).astype(x.dtype, copy=False)
        from ember.backend.special import erf

        self.cdf = 0.5 * (1 + erf(x / math.sqrt(2)))
        return (x * self.cdf).astype(x.dtype, copy=False)

    def backward(self, g):
        x = self.x
        if self.approx == "tanh":
            k = math.sqrt(2 / math.pi)
            dt = (1 - self.t**2) * k * (1 + 3 * 0.044715 * x**2)
            d = 0.5 * (1 + self.t) + 0.5 * x * dt
        else:
            pdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
            d = self.cdf + x * pdf
        return ((g * d).astype(g.dtype, copy=False),)


class SiLU(Function):
    """Swish: x·σ(x);  derivative σ(x)(1 + x(1 − σ(x)))."""

    def forward(self, x):
        self.x, self.s = x, _sigmoid(x)
        return x * self.s

    def backward(self, g):
        s = self.s
        return (g * s * (1 + self.x * (1 - s)),)


class Softplus(Function):
    """(1/β) ln(1 + e^(βx)), linear above ``threshold``;  derivative σ(βx)."""

    def forward(self, x, beta=1.0, threshold=20.0):
        z = beta * x
        self.s = np.where(z > threshold, 1, _sigmoid(z)).astype(x.dtype, copy=False)
        return np.where(z > threshold, x, np.logaddexp(0, z) / beta).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * self.s,)


class Softmax(Function):
    """softmax(x)_i = e^(x_i − m) / Σ_j e^(x_j − m), m = max x (subtracting m prevents overflow).
    Backward: dx = s ⊙ (g − Σ g⊙s)."""

    def forward(self, x, dim=-1):
        self.dim = dim
        e = np.exp(x - np.max(x, axis=dim, keepdims=True))
        self.out = e / np.sum(e, axis=dim, keepdims=True)
        return self.out

    def backward(self, g):
        s = self.out
        return (s * (g - np.sum(g * s, axis=self.dim, keepdims=True)),)


class LogSoftmax(Function):
    """log_softmax(x) = x − m − ln Σ e^(x − m).  Backward: dx = g − softmax·Σ g."""

    def forward(self, x, dim=-1):
        self.dim = dim
        shifted = x - np.max(x, axis=dim, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
        self.out = out
        return out

    def backward(self, g):
        return (g - np.exp(self.out) * np.sum(g, axis=self.dim, keepdims=True),)


class Hardsigmoid(Function):
    """relu6(x + 3)/6: a piecewise-linear σ (MobileNetV3);  derivative 1/6 on (−3, 3), else 0."""

    def forward(self, x):
        self.x = x
        return np.clip(x + 3, 0, 6) / 6

    def backward(self, g):
        x = self.x
        return (np.where((x > -3) & (x < 3), g / 6, 0).astype(g.dtype, copy=False),)


class Hardswish(Function):
    """x·relu6(x + 3)/6 (MobileNetV3);  derivative 0 up to −3, x/3 + ½ on (−3, 3), 1 from 3 on (PyTorch's
    choice at the kinks)."""

    def forward(self, x):
        self.x = x
        return x * np.clip(x + 3, 0, 6) / 6

    def backward(self, g):
        x = self.x
        d = np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1)).astype(g.dtype, copy=False)
        return (g * d,)


class Mish(Function):
    """x·tanh(softplus(x)) (Misra 2019);  derivative t + x·σ(x)·(1 − t²) with t = tanh(softplus(x))."""

    def forward(self, x):
        self.x = x
        self.t = np.tanh(np.logaddexp(0, x)).astype(x.dtype, copy=False)
        return x * self.t

    def backward(self, g):
        x, t = self.x, self.t
        return (g * (t + x * _sigmoid(x) * (1 - t * t)),)


class LogSigmoid(Function):
    """log σ(x) = min(x, 0) − log(1 + e^−|x|) (never log of an underflowed σ);  derivative σ(−x)."""

    def forward(self, x):
        self.x = x
        return (np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * _sigmoid(-self.x),)


class Threshold(Function):
    """x where x > threshold, else ``value``;  derivative 1 where x > threshold, else 0."""

    def forward(self, x, threshold=0.0, value=0.0):
        self.keep = x > threshold
        return np.where(self.keep, x, x.dtype.type(value))

    def backward(self, g):
        return (g * self.keep,)


class GLU(Function):
    """Gated linear unit (Dauphin et al. 2017): x = [a, b] split in halves along ``dim``, out = a ⊙ σ(b);
    da = g·σ(b),  db = g·a·σ(b)(1 − σ(b))."""

    def forward(self, x, dim=-1):
        n = x.shape[dim]
        a, b = np.split(x, [n // 2], axis=dim)
        self.a, self.s, self.dim = a, _sigmoid(b), dim
        return a * self.s

    def backward(self, g):
        ga = g * self.s
        gb = ga * self.a * (1 - self.s)
        return (np.concatenate([ga, gb], axis=self.dim),)


class Hardshrink(Function):
    """x where |x| > λ, else 0;  derivative 1 where |x| > λ, else 0."""

    def forward(self, x, lambd=0.5):
        self.keep = np.abs(x) > lambd
        return np.where(self.keep, x, x.dtype.type(0))

    def backward(self, g):
        return (g * self.keep,)


class Softshrink(Function):
    """x − λ for x > λ, x + λ for x < −λ, else 0 (soft thresholding);  derivative 1 where |x| > λ, else 0."""

    def forward(self, x, lambd=0.5):
        self.keep = np.abs(x) > lambd
        return np.where(self.keep, x - np.sign(x) * x.dtype.type(lambd), x.dtype.type(0)).astype(x.dtype, copy=False)

    def backward(self, g):
        return (g * self.keep,)


class Softsign(Function):
    """x/(1 + |x|) ∈ (−1, 1);  derivative 1/(1 + |x|)²."""

    def forward(self, x):
        self.d = 1 / (1 + np.abs(x))
        return x * self.d

    def backward(self, g):
        return (g * self.d * self.d,)


class RReLU(Function):
    """Randomised leaky ReLU (Xu et al. 2015): x for x > 0, a·x otherwise, with a per-element slope ``a``
    (drawn by the caller from U(lower, upper) while training);  derivative 1 or a."""

    def forward(self, x, slopes):
        self.slope = np.where(x > 0, 1, slopes).astype(x.dtype, copy=False)
        return x * self.slope

    def backward(self, g):
        return (g * self.slope, None)
