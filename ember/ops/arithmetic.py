"""Elementwise arithmetic and matrix multiply: each op's forward and backward side by side.

Broadcasting is handled once, in the graph walker: a backward may return a
gradient of the broadcast shape and it is summed back to the input's shape.
"""
from __future__ import annotations

import numpy as np

from ember.tensor import Function


class Add(Function):
    """z = a + b;  dz/da = 1, dz/db = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    """z = a − b;  dz/da = 1, dz/db = −1."""

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """z = a·b;  dz/da = b, dz/db = a. Each operand is kept only for the other's gradient (as PyTorch does:
    a value changed in place after the op then matters only where backward reads it)."""

    def forward(self, a, b):
        na, nb = self.needs_input_grad
        self.a, self.b = (a if nb else None), (b if na else None)
        return a * b

    def backward(self, g):
        na, nb = self.needs_input_grad
        return (g * self.b if na else None), (g * self.a if nb else None)


class Div(Function):
    """z = a / b;  dz/da = 1/b, dz/db = −a/b² (a kept only for b's gradient)."""

    def forward(self, a, b):
        na, nb = self.needs_input_grad
        self.a, self.b = (a if nb else None), (b if na or nb else None)
        return a / b

    def backward(self, g):
        na, nb = self.needs_input_grad
        ga = g / self.b if na else None
        gb = -g * self.a / (self.b * self.b) if nb else None
        return ga, gb


class Neg(Function):
    def forward(self, a):
        return -a

    def backward(self, g):
        return (-g,)


class Pow(Function):
    """z = a^b;  dz/da = b·a^(b−1), dz/db = a^b·ln a (b a tensor or a scalar).

    As PyTorch: dz/da = 0 where b = 0 (not 0·0^−1 = nan), and dz/db = 0 where a = 0 and b ≥ 0;
    for a < 0, ln a is nan and so is dz/db.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = np.power(a, b)
        return self.out

    def backward(self, g):
        na, nb = self.needs_input_grad
        a, b = self.a, self.b
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if na:
                ga = g * b * np.power(a, b - 1)
                if np.any(np.equal(b, 0)):
                    ga = np.where(np.equal(b, 0), np.zeros((), ga.dtype), ga)
            if nb:
                gb = g * np.where(np.equal(a, 0) & np.greater_equal(b, 0), 0, self.out * np.log(a))
                gb = gb.astype(g.dtype, copy=False)
        return ga, gb


class Exp(Function):
    """z = eᵃ;  dz/da = z."""

    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, g):
        return (g * self.out,)


class Log(Function):
    """z = ln a;  dz/da = 1/a."""

    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, g):
        return (g / self.a,)


class Sqrt(Function):
    """z = √a;  dz/da = 1/(2√a)."""

    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, g):
        return (g / (2 * self.out),)


class Abs(Function):
    """z = |a|;  dz/da = sign(a) (0 at 0, as PyTorch)."""

    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, g):
        return (g * np.sign(self.a),)


class Sign(Function):
    def forward(self, a):
        return np.sign(a)

    def backward(self, g):
        return (np.zeros_like(g),)


class Maximum(Function):
    """z = max(a, b) elementwise; where a == b the gradient is split in half (as PyTorch)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        wa = (a > b) + 0.5 * (a == b)
        na, nb = self.needs_input_grad
        return (g * wa.astype(g.dtype) if na else None), (g * (1 - wa).astype(g.dtype) if nb else None)


class Minimum(Function):
    """z = min(a, b) elementwise; ties split the gradient in half."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.minimum(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        wa = (a < b) + 0.5 * (a == b)
        na, nb = self.needs_input_grad
        return (g * wa.astype(g.dtype) if na else None), (g * (1 - wa).astype(g.dtype) if nb else None)


class Clamp(Function):
    """z = min(max(a, lo), hi);  dz/da = 1 inside [lo, hi], 0 outside (PyTorch passes the boundary)."""

    def forward(self, a, lo=None, hi=None):
        self.mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            self.mask &= a >= lo
        if hi is not None:
            self.mask &= a <= hi
        return np.clip(a, lo, hi)

    def backward(self, g):
        return (g * self.mask,)


class Where(Function):
    """z = cond ? a : b;  the gradient flows to whichever input was picked."""

    def forward(self, cond, a, b):
        self.cond = cond
        return np.where(cond, a, b)

    def backward(self, g):
        _, na, nb = self.needs_input_grad
        zero = np.zeros((), dtype=g.dtype)
        return None, (np.where(self.cond, g, zero) if na else None), (np.where(self.cond, zero, g) if nb else None)


class Cast(Function):
    """Change dtype; the gradient is cast back (and is dropped for integer/bool targets)."""

    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return (g.astype(self.src),)


class MatMul(Function):
    """z = a @ b for 1-D, 2-D and batched operands (batch dimensions broadcast);
    dz/da = g @ bᵀ, dz/db = aᵀ @ g. A 1-D operand is a row (first) or a column (second) vector
    whose added dimension is dropped again, so its gradient is 1-D too."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise RuntimeError("matmul: both arguments need at least 1 dimension, got shapes "
                               f"{a.shape} and {b.shape}")
        ka = a.shape[-1]
        kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
        if ka != kb:
            raise RuntimeError(
                f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({ka} != {kb}: "
                "the last dimension of the first must equal the second-to-last of the second)"
            )
        if a.ndim > 2 or b.ndim > 2:
            try:
                np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
            except ValueError:
                raise RuntimeError(
                    f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied: their batch dimensions "
                    f"{a.shape[:-2]} and {b.shape[:-2]} do not broadcast"
                ) from None
        na, nb = self.needs_input_grad
        self.a, self.b = (a if nb else None), (b if na else None)  # each operand only for the other's gradient
        self.ndims = a.ndim, b.ndim
        return np.matmul(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        na, nb = self.needs_input_grad
        nda, ndb = self.ndims
        if nda == 1 and ndb == 1:  # dot product: g is a scalar
            return (g * b if na else None), (g * a if nb else None)
        # promote 1-D operands to matrices so one formula serves every case
        g2 = g
        if nda == 1:
            g2 = np.expand_dims(g2, -2)
        if ndb == 1:
            g2 = np.expand_dims(g2, -1)
        ga = gb = None
        if na:
            b2 = b[:, None] if ndb == 1 else b
            ga = np.matmul(g2, np.swapaxes(b2, -1, -2))  # (..., m, k); broadcast batch dims are summed later
            if nda == 1:
                ga = ga[..., 0, :]
        if nb:
            a2 = a[None, :] if nda == 1 else a
            gb = np.matmul(np.swapaxes(a2, -1, -2), g2)  # (..., k, n)
            if ndb == 1:
                gb = gb[..., 0]
        return ga, gb


class Sin(Function):
    """z = sin a;  dz/da = cos a."""

    def forward(self, a):
        self.a = a
        return np.sin(a)

    def backward(self, g):
        return (g * np.cos(self.a),)


class Cos(Function):
    """z = cos a;  dz/da = −sin a."""

    def forward(self, a):
        self.a = a
        return np.cos(a)

    def backward(self, g):
        return (-g * np.sin(self.a),)


class Tan(Function):
    """z = tan a;  dz/da = 1 + z²."""

    def forward(self, a):
        self.out = np.tan(a)
        return self.out

    def backward(self, g):
        return (g * (1 + self.out * self.out),)


class LogBase(Function):
    """z = log_b a (b = 2 or 10, computed directly for exact powers of b);  dz/da = 1/(a ln b)."""

    def forward(self, a, base):
        self.a, self.scale = a, 1.0 / np.log(base)
        return np.log2(a) if base == 2 else np.log10(a)

    def backward(self, g):
        return (g * self.scale / self.a,)


class Erf(Function):
    """z = erf a;  dz/da = 2/√π · e^(−a²)."""

    def forward(self, a):
        from ember.backend.special import erf

        self.a = a
        return erf(a)

    def backward(self, g):
        a = self.a
        return (g * (2.0 / np.sqrt(np.pi)) * np.exp(-a * a),)


class Atan2(Function):
    """z = atan2(a, b) (the angle of the point (b, a));  dz/da = b/(a² + b²), dz/db = −a/(a² + b²)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.arctan2(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        na, nb = self.needs_input_grad
        r = g / (a * a + b * b)
        return (r * b if na else None), (-r * a if nb else None)


class Rounding(Function):
    """floor, ceil, round (half to even, as PyTorch) and trunc: piecewise constant, so the gradient is 0
    everywhere (PyTorch's choice: no straight-through estimate unless the user writes one)."""

    _FNS = {"floor": np.floor, "ceil": np.ceil, "round": np.round, "trunc": np.trunc}

    def forward(self, a, mode, decimals=0):
        if mode == "round" and decimals:
            return np.round(a, decimals)
        return self._FNS[mode](a)

    def backward(self, g):
        return (np.zeros_like(g),)


class Einsum(Function):
    """z = einsum(spec, *operands) with an explicit output and no label repeated within one operand
    (``api.einsum`` normalises the equation). dL/d(operand k) is the einsum of g with the other operands
    onto operand k's labels; a label only operand k has (summed away alone) is broadcast back."""

    def forward(self, *arrays, inputs, output):
        self.arrays, self.inputs, self.output = arrays, inputs, output
        spec = ",".join(inputs) + "->" + output
        return np.asarray(np.einsum(spec, *arrays, optimize=len(arrays) > 2))

    def backward(self, g):
        grads = []
        for k, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            target = self.inputs[k]
            others = [(s, a) for i, (s, a) in enumerate(zip(self.inputs, self.arrays)) if i != k]
            present = set(self.output).union(*(s for s, _ in others))
            kept = "".join(c for c in target if c in present)
            spec = ",".join([self.output] + [s for s, _ in others]) + "->" + kept
            gk = np.einsum(spec, g, *(a for _, a in others), optimize=len(others) > 1)
            if kept != target:  # labels summed only inside operand k: every element gets the same gradient
                shape = [self.arrays[k].shape[i] if c in present else 1 for i, c in enumerate(target)]
                gk = np.broadcast_to(gk.reshape(shape), self.arrays[k].shape)
            grads.append(np.asarray(gk, dtype=g.dtype))
        return tuple(grads)
