"""Drawing categories and counting values: ``multinomial``, ``bincount`` and ``histc`` (PyTorch's names).

``multinomial`` draws from ember's generators (the global one, or ``generator=``), so ``ember.manual_seed``
makes it reproducible; the numbers differ from PyTorch's (another algorithm), the distribution is the same.
``bincount`` is differentiable with respect to ``weights`` (PyTorch's raises at backward); ``histc`` has no
gradient, as in PyTorch.
"""
from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ember import random as _random
from ember.tensor import Function, Tensor

__all__ = ["multinomial", "bincount", "histc"]


def _tensor_arg(x, fn: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be a Tensor, not {type(x).__name__}")
    return x


def _int_arg(v, fn: str, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, Integral):
        raise TypeError(f"{fn}(): argument '{name}' must be int, not {type(v).__name__}")
    return int(v)


# ----------------------------------------------------------------------------- multinomial


def _check_distribution(p: np.ndarray, replacement: bool) -> None:
    """PyTorch's checks, with its sentences (so its forum answers still apply), plus the offending row."""
    bad = ~np.isfinite(p) | (p < 0)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        value = p[idx]
        where = f"row {idx[0]}, category {idx[1]}" if p.ndim == 2 else f"category {idx[0]}"
        if replacement:
            what = "entry < 0" if np.isnan(value) or value < 0 else "entry = infinity or NaN"
            msg = f"invalid multinomial distribution (encountering probability {what})"
        else:
            msg = "probability tensor contains either `inf`, `nan` or element < 0"
        raise RuntimeError(f"multinomial: {msg}: {where} is {value}")
    sums = p.sum(axis=-1, dtype=np.float64)
    if np.any(sums <= 0):
        where = f" (row {int(np.argmax(sums <= 0))} sums to 0)" if p.ndim == 2 else ""
        raise RuntimeError(f"multinomial: invalid multinomial distribution (sum of probabilities <= 0){where}")


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Category indices drawn from the rows of ``input`` (weights, need not sum to 1): shape (num_samples,) for a
    1-D input, (rows, num_samples) for a 2-D one; int64.

    With replacement each draw is independent: u ~ U[0, 1) placed in the cumulative weights (a category of weight
    0 has an empty interval, so it is never drawn). Without replacement, the exponential-race trick PyTorch uses
    too: the categories sorted by E_i / w_i with E_i ~ Exp(1) are a draw of the whole sequence without
    replacement (the first is category i with probability w_i / Σw, the next from the rest, and so on);
    zero-weight categories come only once the others are used up (as in PyTorch), in index order (PyTorch's
    order among them is unspecified).
    """
    input = _tensor_arg(input, "multinomial")
    n = _int_arg(num_samples, "multinomial", "num_samples")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got a {input.ndim}-d tensor of shape "
                           f"{tuple(input.shape)}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {input.dtype}")
    if n <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (num_samples={n})")
    k = input.shape[-1]
    if not replacement and n > k:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                           f"(num_samples={n}, {k} categories)")
    p = input.array.astype(np.float64)
    rows = p.reshape(p.shape[0] if p.ndim == 2 else 1, k)
    out_shape = (n,) if input.ndim == 1 else (input.shape[0], n)
    if rows.shape[0] == 0:
        return Tensor._wrap(np.zeros(out_shape, np.int64))
    _check_distribution(p, replacement and n > 1)  # PyTorch checks a single draw as it checks no replacement
    rng = _random.numpy_rng(generator)
    if replacement:
        out = np.empty((rows.shape[0], n), np.int64)
        u = rng.random((rows.shape[0], n))
        for r, (w, ur) in enumerate(zip(rows, u)):
            cdf = np.cumsum(w)
            last = k - 1 - int(np.argmax(w[::-1] > 0))  # the last category that can be drawn
            # u·total < total, but rounding may land on it: such a draw belongs to the last positive category
            out[r] = np.minimum(np.searchsorted(cdf, ur * cdf[-1], side="right"), last)
    else:
        with np.errstate(divide="ignore"):
            keys = rng.standard_exponential(rows.shape) / rows  # weight 0: +inf, drawn last
        out = np.argsort(keys, axis=-1, kind="stable")[:, :n].astype(np.int64)
    return Tensor._wrap(out.reshape(out_shape))


# ----------------------------------------------------------------------------- bincount


class BinCount(Function):
    """counts_v = Σ_i w_i [x_i = v];  d counts_v / d w_i = [x_i = v], so dL/dw_i = g[x_i] (a gather)."""

    def forward(self, x, w, length=0, dtype=None):
        self.x, self.w_dtype = x, w.dtype
        return np.bincount(x, weights=w.astype(np.float64), minlength=length).astype(dtype)

    def backward(self, g):
        return None, g[self.x].astype(self.w_dtype)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, …, max(input) occurs in a 1-D tensor of non-negative integers (at least
    ``minlength`` bins); with ``weights``, the sum of the weights of each value instead of the count.

    dtypes as PyTorch: int64 counts; with weights, float32 for float32 weights and float64 for any other dtype.
    Sums are accumulated in float64 either way. Differentiable with respect to floating ``weights``.
    """
    input = _tensor_arg(input, "bincount")
    minlength = _int_arg(minlength, "bincount", "minlength")
    if minlength < 0:
        raise RuntimeError(f"bincount: minlength should be >= 0, got {minlength}")
    x = input.array
    if x.dtype.kind not in "iu" or x.ndim != 1 or (x.size and x.min() < 0):
        why = (f"a {x.ndim}-d tensor" if x.ndim != 1 else f"dtype {x.dtype}" if x.dtype.kind not in "iu"
               else f"the value {x.min()}")
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got {why}")
    x = x.astype(np.intp, copy=False)
    if weights is not None:
        weights = _tensor_arg(weights, "bincount", "weights")
    if weights is None or (x.size == 0 and weights.array.size == 0):  # an empty input counts, as in PyTorch: int64
        return Tensor._wrap(np.bincount(x, minlength=minlength).astype(np.int64))
    if weights.ndim != 1 or weights.shape[0] != x.shape[0]:
        raise RuntimeError(f"bincount: weights should be 1-d and have the same length as input: input has "
                           f"{x.shape[0]} elements, weights has shape {tuple(weights.shape)}")
    dtype = np.float32 if weights.dtype == np.float32 else np.float64
    if weights.dtype.kind != "f":
        weights = Tensor._wrap(weights.array)  # integer or bool weights carry no gradient
    return BinCount.apply(Tensor._wrap(x), weights, length=minlength, dtype=dtype)


# ----------------------------------------------------------------------------- histc


def histc(input: Tensor, bins: int = 100, min: Real = 0, max: Real = 0) -> Tensor:  # noqa: A002
    """A histogram of the values of ``input`` (any shape, flattened): ``bins`` equal-width bins between ``min``
    and ``max``, values outside ignored (NaN too), the last bin closed on the right. ``min == max`` (the
    default 0, 0) means the data's own minimum and maximum, widened by 1 on each side when they are equal.

    The result has the input's dtype. The bin of x is ⌊(x − min)·bins / (max − min)⌋ computed in the input's
    precision, as PyTorch computes it, so values on a bin edge land where they land in PyTorch. Not
    differentiable (counts are piecewise constant).
    """
    input = _tensor_arg(input, "histc")
    bins = _int_arg(bins, "histc", "bins")
    if bins <= 0:
        raise RuntimeError(f"histc: bins must be > 0, but got {bins}")
    for name, v in (("min", min), ("max", max)):
        if isinstance(v, bool) or not isinstance(v, Real):
            raise TypeError(f"histc(): argument '{name}' must be a number, not {type(v).__name__}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"histc: expected a floating point tensor, got dtype {input.dtype} (cast it with "
                           ".float() first)")
    x = input.array.reshape(-1)
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise RuntimeError(f"histc: range of [{lo}, {hi}] is not finite")
    if not lo < hi:
        raise RuntimeError(f"histc: max must be larger than min, got min={min}, max={max}")
    t = x.dtype.type  # the edges and the arithmetic in the input's precision, each step rounded, as PyTorch
    lo_t, hi_t = t(lo), t(hi)
    inside = x[(x >= lo_t) & (x <= hi_t)]
    with np.errstate(over="ignore", invalid="ignore"):  # float16: (x − min)·bins may overflow to inf
        pos = ((inside - lo_t) * t(bins) / (hi_t - lo_t)).astype(np.int64)
    counts = np.bincount(np.clip(pos, 0, bins - 1), minlength=bins)  # x = max lands in the last bin
    return Tensor._wrap(counts.astype(input.dtype))


# ----------------------------------------------------------------------------- Tensor methods


def _install() -> None:
    """``x.multinomial(n)``, ``x.bincount()``, ``x.histc(bins)``: the functions above with ``x`` as input."""
    Tensor.multinomial = multinomial
    Tensor.bincount = bincount
    Tensor.histc = histc


_install()
