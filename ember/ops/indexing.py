"""Indexed updates, NaN-aware statistics, quantiles, searching and random draws (PyTorch's names).

* ``index_add`` / ``index_copy`` / ``index_fill`` and ``scatter_reduce`` (sum, prod, mean, amax, amin), with
  their in-place Tensor methods;
* ``nan_to_num``, ``nansum``, ``nanmean``, ``quantile``, ``nanquantile``, ``mode``, ``kthvalue``;
* ``searchsorted``, ``bucketize``, ``isin``, ``any``, ``all``, ``sgn``, ``heaviside``, ``logspace``;
* ``normal``, ``bernoulli`` and the in-place draws ``bernoulli_``, ``exponential_``, ``geometric_``,
  ``log_normal_``, ``cauchy_``, ``random_``. They draw from ember's generators (the global one, or
  ``generator=``), so ``ember.manual_seed`` makes them repeatable; the numbers differ from PyTorch's.

In-place methods follow ember's rule for in-place ops (``Tensor._check_inplace``): refused on a tensor the graph
tracks (unless under ``no_grad``). When the tensor written into is not tracked but the source requires grad
(``buf = zeros(n, f); buf.index_add_(0, idx, messages)``), the tensor takes the op's node, as in PyTorch, so the
gradient reaches the source.
"""
from __future__ import annotations

import builtins as _b
from numbers import Integral, Real

import numpy as np

from ember import devices as _devices
from ember import dtypes as _dt
from ember import random as _random
from ember.ops import api as _api
from ember.ops import arithmetic as _ar
from ember.ops import reduce as _r
from ember.ops.shape import _grids
from ember.tensor import Function, Tensor, _make

__all__ = [
    "index_add", "index_copy", "index_fill", "scatter_reduce", "nan_to_num", "nansum", "nanmean", "quantile",
    "nanquantile", "mode", "kthvalue", "searchsorted", "bucketize", "isin", "any", "all", "sgn", "heaviside",
    "logspace", "normal", "bernoulli",
]


# ----------------------------------------------------------------------------- helpers


def _tensor_arg(x, fn: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def _is_int(v) -> bool:
    return isinstance(v, Integral) and not isinstance(v, (bool, np.bool_))


def _number(v, fn: str, name: str) -> float:
    if isinstance(v, Tensor) and v.ndim == 0:
        v = v.item()
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, Real):
        raise TypeError(f"{fn}(): argument '{name}' must be a number, not {type(v).__name__}")
    return v


def _inplace(x: Tensor, name: str, op, *args, **kwargs) -> Tensor:
    """``x.<name>(...)``: the out-of-place ``op`` computed on x's values and written into x's array (views see it).

    Refused, as every in-place op, on a tensor the graph tracks (``_check_inplace``). If an argument requires
    grad, x (not tracked itself) takes the op's node, so the gradient reaches that argument; the op then reads a
    copy of x's old values, so what it saved for backward is not overwritten here."""
    x._check_inplace(name)
    tracked = _b.any(isinstance(a, Tensor) and a.requires_grad for a in (*args, *kwargs.values()))
    out = op(Tensor._wrap(x.array.copy() if tracked else x.array), *args, **kwargs)
    if out.shape != x.shape:
        raise RuntimeError(f"{name}: the result has shape {out.shape}, which cannot be stored in place in a "
                           f"tensor of shape {x.shape}")
    np.copyto(x.array, out.array, casting="unsafe")
    if out.requires_grad:
        x._ctx, x.requires_grad = out._ctx, True
    return x


# ----------------------------------------------------------------------------- index_add / index_copy / index_fill


def _where(index: np.ndarray, dim: int) -> tuple:
    return (slice(None),) * dim + (index,)


class IndexAdd(Function):
    """out = a;  out[…, index[k], …] += α·src[…, k, …] along ``dim`` (repeated indices accumulate).

    dL/da = g;  dL/dsrc[…, k, …] = α·g[…, index[k], …] (an index_select of g)."""

    def forward(self, a, src, index, dim, alpha):
        self.index, self.dim, self.alpha = index, dim, alpha
        out = a.copy()
        np.add.at(out, _where(index, dim), src if alpha == 1 else src * alpha)
        return out

    def backward(self, g):
        gs = None
        if self.needs_input_grad[1]:
            gs = np.take(g, self.index, axis=self.dim)
            if self.alpha != 1:
                gs = gs * g.dtype.type(self.alpha)
        return (g if self.needs_input_grad[0] else None), gs


class IndexCopy(Function):
    """out = a;  out[…, index[k], …] = src[…, k, …] (for a repeated index the last write wins).

    dL/da = g with zeros at the overwritten positions;  dL/dsrc[…, k, …] = g[…, index[k], …]."""

    def forward(self, a, src, index, dim):
        self.index, self.dim = index, dim
        out = a.copy()
        out[_where(index, dim)] = src
        return out

    def backward(self, g):
        ga = gs = None
        if self.needs_input_grad[0]:
            ga = g.copy()
            ga[_where(self.index, self.dim)] = 0
        if self.needs_input_grad[1]:
            gs = np.take(g, self.index, axis=self.dim)
        return ga, gs


class IndexFill(Function):
    """out = a;  out[…, index[k], …] = value (a 0-d array).

    dL/da = g with zeros at the filled positions;  dL/dvalue = Σ g over the filled positions (each counted once,
    however often its index repeats)."""

    def forward(self, a, value, index, dim):
        self.index, self.dim = index, dim
        out = a.copy()
        out[_where(index, dim)] = value
        return out

    def backward(self, g):
        ga = gv = None
        if self.needs_input_grad[0]:
            ga = g.copy()
            ga[_where(self.index, self.dim)] = 0
        if self.needs_input_grad[1]:
            gv = np.take(g, np.unique(self.index), axis=self.dim).sum(dtype=g.dtype)
        return ga, gv


def _index_vector(index, fn: str, n: int, dim: int, negative: bool) -> np.ndarray:
    """``index`` as a 1-D int64 array of positions in [0, n) (negative ones wrapped when ``negative``)."""
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype not in (np.int32, np.int64):
        raise RuntimeError(f"{fn}(): Expected dtype int32/int64 for index but got: {idx.dtype}")
    if idx.ndim > 1:
        raise IndexError(f"{fn}(): Index is supposed to be a vector, but got dim: {idx.ndim} with shape "
                         f"{tuple(idx.shape)}")
    idx = idx.reshape(-1).astype(np.int64)
    low = -n if negative else 0
    bad = (idx < low) | (idx >= n)
    if bad.any():
        raise IndexError(f"{fn}(): index {int(idx[bad][0])} is out of bounds for dimension {dim} with size {n}")
    return np.where(idx < 0, idx + n, idx)


def _index_source(x: Tensor, source, idx: np.ndarray, d: int, fn: str) -> Tensor:
    source = _tensor_arg(source, fn, "source")
    if source.array.dtype != x.array.dtype:
        raise RuntimeError(f"{fn}(): self ({x.dtype}) and source ({source.dtype}) must have the same scalar type")
    if source.ndim == 0 and x.ndim <= 1 and idx.size == 1:
        source = _api.reshape(source, 1)
    if source.ndim != x.ndim or _b.any(s != t for k, (s, t) in enumerate(zip(source.shape, x.shape)) if k != d):
        raise RuntimeError(f"{fn}(): source tensor shape must match self tensor shape, excluding the specified "
                           f"dimension. Got self.shape = {list(x.shape)} source.shape = {list(source.shape)}")
    if source.shape[d] != idx.size:
        raise RuntimeError(f"{fn}(): Number of indices ({idx.size}) should be equal to source.size(dim): "
                           f"({source.shape[d]}), for dim: {d}")
    return source


def _index_op(x, dim, index, fn: str, negative: bool):
    x = _tensor_arg(x, fn)
    d = _api._dim(dim, x.ndim, x.shape)
    flat = x.ndim == 0  # a 0-d tensor is indexed as a 1-element vector
    if flat:
        x = _api.reshape(x, 1)
    return x, d, _index_vector(index, fn, x.shape[d], d, negative), flat


def index_add(input: Tensor, dim: int, index, source: Tensor, *, alpha: Real = 1) -> Tensor:
    """A copy of ``input`` with ``alpha·source`` added at the positions ``index`` (1-D int64/int32) along ``dim``;
    repeated indices accumulate. ``source`` has input's shape except ``len(index)`` along ``dim``.
    Differentiable in input and source."""
    x, d, idx, flat = _index_op(input, dim, index, "index_add", False)
    src = _index_source(x, source, idx, d, "index_add")
    alpha = _number(alpha, "index_add", "alpha")
    if x.dtype.kind != "f" and not _is_int(alpha):
        raise RuntimeError(f"index_add(): alpha must be an integer for a tensor of dtype {x.dtype}, got {alpha}")
    out = IndexAdd.apply(x, src, idx, dim=d, alpha=alpha)
    return _api.reshape(out, ()) if flat else out


def index_copy(input: Tensor, dim: int, index, source: Tensor) -> Tensor:
    """A copy of ``input`` with the slices of ``source`` written at the positions ``index`` along ``dim`` (for a
    repeated index the last one wins). Differentiable in input and source."""
    x, d, idx, flat = _index_op(input, dim, index, "index_copy", False)
    src = _index_source(x, source, idx, d, "index_copy")
    out = IndexCopy.apply(x, src, idx, dim=d)
    return _api.reshape(out, ()) if flat else out


def index_fill(input: Tensor, dim: int, index, value) -> Tensor:
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor) at the positions ``index`` along ``dim``
    (negative indices count from the end). Differentiable in input and in a 0-d tensor ``value``."""
    x, d, idx, flat = _index_op(input, dim, index, "index_fill", True)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        if value.array.dtype != x.array.dtype:
            value = value.type(x.array.dtype)
    else:
        value = np.asarray(_number(value, "index_fill", "value")).astype(x.array.dtype)
    out = IndexFill.apply(x, value, idx, dim=d)
    return _api.reshape(out, ()) if flat else out


# ----------------------------------------------------------------------------- scatter_reduce


_REDUCE = ("sum", "prod", "mean", "amax", "amin")


def _identity(reduce: str, dtype: np.dtype):
    """The value a position starts from when its own value is left out (``include_self=False``)."""
    if reduce in ("sum", "mean"):
        return 0
    if reduce == "prod":
        return 1
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = np.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


class ScatterReduce(Function):
    """out = a with the entries of ``src`` reduced into the positions ``index`` along ``dim`` (the gather/scatter
    addressing): sum, prod, mean (floor division for integers), amax or amin; a's own value takes part unless
    ``include_self`` is False. Backward, as PyTorch:

    * sum: dL/da = g, dL/dsrc = g[index];
    * mean: N = number of values reduced into each position (1 where none): dL/da = g/N, dL/dsrc = g[index]/N[index];
    * prod: ∂out/∂x = product of the other values reduced into the same position (exact with zeros: with one
      zero among them only that zero gets a gradient, with two or more none does);
    * amax/amin: the gradient is split evenly among the values equal to the result (PyTorch counts a's value
      among them even when ``include_self`` is False; then a's share is dropped);

    and with ``include_self`` False, dL/da = 0 at the positions that were scattered into."""

    def forward(self, a, src, index, dim, reduce, include_self):
        where = _grids(index, dim)
        part = src[tuple(slice(0, n) for n in index.shape)]
        self.where, self.reduce, self.include_self, self.src_shape = where, reduce, include_self, src.shape
        out = a.copy()
        if not include_self:
            out[where] = _identity(reduce, a.dtype)
        ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
        ufunc.at(out, where, part)
        if reduce == "mean":
            count = np.full(a.shape, 1 if include_self else 0, np.int64)
            np.add.at(count, where, 1)
            count[count == 0] = 1
            self.count = count
            out = out / count.astype(a.dtype) if a.dtype.kind == "f" else np.floor_divide(out, count).astype(a.dtype)
        elif reduce != "sum":
            self.a, self.part, self.out = a, part, out
        return out

    def backward(self, g):
        where, need_a, need_s = self.where, *self.needs_input_grad[:2]
        if self.reduce == "sum":
            ga, gp = g, g[where]
        elif self.reduce == "mean":
            n = self.count.astype(g.dtype)
            ga, gp = g / n, g[where] / n[where]
        elif self.reduce == "prod":
            ga, gp = self._prod_grads(g)
        else:
            a, part, out = self.a, self.part, self.out
            self_is = a == out
            src_is = part == out[where]
            shares = self_is.astype(g.dtype)
            np.add.at(shares, where, src_is)
            with np.errstate(divide="ignore", invalid="ignore"):
                split = g / shares  # shares ≥ 1 wherever a value equals the result (0 only for NaN results)
            ga, gp = np.where(self_is, split, 0), np.where(src_is, split[where], 0)
        if need_a and not self.include_self:
            ga = np.array(ga, copy=True)
            ga[where] = 0
        gs = None
        if need_s:
            gs = np.zeros(self.src_shape, g.dtype)
            gs[tuple(slice(0, n) for n in gp.shape)] = gp
        return (ga if need_a else None), gs, None

    def _prod_grads(self, g):
        """g·(product of the others) for a and the scattered part, from each position's count of zeros and the
        product of its non-zero values (no division by a zero)."""
        a, part, where = self.a, self.part, self.where
        zeros = np.zeros(a.shape, np.int64)
        nonzero_prod = np.ones(a.shape, g.dtype)
        if self.include_self:
            zeros += a == 0
            nonzero_prod *= np.where(a == 0, 1, a)
        np.add.at(zeros, where, part == 0)
        np.multiply.at(nonzero_prod, where, np.where(part == 0, 1, part))

        def others(v, z, p):
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(z == 0, p / np.where(v == 0, 1, v), np.where((z == 1) & (v == 0), p, 0))

        ga = g * others(a, zeros, nonzero_prod) if self.include_self else g  # left out: g where not scattered into
        return ga, g[where] * others(part, zeros[where], nonzero_prod[where])


def scatter_reduce(input: Tensor, dim: int, index, src: Tensor, reduce: str, *, include_self: bool = True) -> Tensor:
    """A copy of ``input`` with the entries of ``src`` reduced into ``out[…, index[i][j], …]`` along ``dim``
    (``reduce``: 'sum', 'prod', 'mean', 'amax' or 'amin'); ``include_self=False`` leaves input's own value out
    at the positions scattered into. Differentiable in input and src (see :class:`ScatterReduce`)."""
    x = _tensor_arg(input, "scatter_reduce")
    src = _tensor_arg(src, "scatter_reduce", "src")
    if reduce not in _REDUCE:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    flat = x.ndim == 0
    if flat:
        x, src = _api.reshape(x, 1), _api.reshape(src, -1)
        index = (index.array if isinstance(index, Tensor) else np.asarray(index)).reshape(-1)
    d, idx, src = _api._scatter_args(x, dim, index, src, "scatter_reduce")
    out = ScatterReduce.apply(x, src, idx, dim=d, reduce=reduce, include_self=bool(include_self))
    return _api.reshape(out, ()) if flat else out


# ----------------------------------------------------------------------------- NaN-aware reductions


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """``input`` with NaN replaced by ``nan``, +inf by ``posinf`` and −inf by ``neginf`` (by default the largest and
    the lowest finite value of the dtype). The gradient passes where input is finite and is 0 elsewhere."""
    x = _tensor_arg(input, "nan_to_num")
    a = x.array
    if a.dtype.kind != "f":
        return Tensor._wrap(a.copy())
    fi = np.finfo(a.dtype)
    hi = fi.max if posinf is None else _number(posinf, "nan_to_num", "posinf")
    lo = fi.min if neginf is None else _number(neginf, "nan_to_num", "neginf")
    nan = _number(nan, "nan_to_num", "nan")
    with np.errstate(over="ignore"):
        repl = np.where(np.isnan(a), a.dtype.type(nan), np.where(a > 0, a.dtype.type(hi), a.dtype.type(lo)))
    return _ar.Where.apply(np.isfinite(a), x, repl)


def _nan_zeroed(x: Tensor) -> tuple[Tensor, np.ndarray]:
    mask = np.isnan(x.array)
    if mask.any():
        x = _ar.Where.apply(mask, np.zeros((), x.array.dtype), x)
    return x, mask


def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum treating NaN as 0 (integer and bool inputs sum in int64, as ``sum``); the gradient is 0 at NaNs."""
    x = _tensor_arg(input, "nansum")
    if dtype is not None:
        x = x.type(dtype)
    if x.array.dtype.kind != "f":
        return _api.sum(x, dim, keepdim)
    return _api.sum(_nan_zeroed(x)[0], dim, keepdim)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the non-NaN values (NaN where there are none); the gradient is 1/count at the non-NaN values
    and 0 at NaNs."""
    x = _tensor_arg(input, "nanmean")
    if dtype is not None:
        x = x.type(dtype)
    if x.array.dtype.kind != "f":
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex dtype but got {x.dtype}")
    z, mask = _nan_zeroed(x)
    total = _api.sum(z, dim, keepdim)
    count = np.asarray(np.sum(~mask, axis=_r.normalize_dims(dim, x.ndim) if x.ndim else None, keepdims=keepdim))
    count = count.reshape(total.shape)
    mean = _api.div(total, Tensor._wrap(np.maximum(count, 1).astype(x.array.dtype)))
    if (count == 0).any():
        mean = _ar.Where.apply(count == 0, np.asarray(np.nan, x.array.dtype), mean)
    return mean


# ----------------------------------------------------------------------------- quantiles


_INTERPOLATION = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input, q, dim, keepdim, interpolation, ignore_nan: bool, fn: str) -> Tensor:
    x = _tensor_arg(input, fn)
    dt = x.array.dtype
    if dt not in (np.float32, np.float64):
        raise RuntimeError(f"{fn}() input tensor must be either float or double dtype, got {dt}")
    if isinstance(q, Tensor):
        if q.array.dtype != dt:
            raise RuntimeError(f"{fn}() q tensor must be same dtype as the input tensor ({dt}), got {q.dtype}")
        if q.ndim > 1:
            raise RuntimeError(f"{fn}() q must be a scalar or 1D tensor, got shape {tuple(q.shape)}")
        qa, scalar = q.array, q.ndim == 0
        if not np.all((qa >= 0) & (qa <= 1)):
            raise RuntimeError(f"{fn}() q values must be in the range [0, 1], got {qa.tolist()}")
    elif isinstance(q, Real) and not isinstance(q, (bool, np.bool_)):
        if not 0 <= q <= 1:
            raise RuntimeError(f"{fn}() q must be in the range [0, 1] but got {q}")
        qa, scalar = np.asarray(q, dt), True
    else:
        raise TypeError(f"{fn}(): argument 'q' must be a float or a Tensor, not {type(q).__name__}")
    if interpolation not in _INTERPOLATION:
        raise RuntimeError(f"{fn}() interpolation must be one of linear, lower, higher, midpoint or nearest, but "
                           f"got {interpolation}")
    if x.array.size == 0:
        raise RuntimeError(f"{fn}() input tensor must be non-empty")
    if dim is None:
        xs, d = _api.reshape(x, -1), None
    else:
        d = _api._dim(dim, x.ndim, x.shape)
        xs = _api.movedim(x, d, -1) if x.ndim else _api.reshape(x, 1)
    srt = _api.sort(xs, -1).values  # NaN sorts last; the values keep their path back to x
    a = srt.array
    n = a.shape[-1]
    qs = qa.reshape(-1).astype(dt)
    batch = a.shape[:-1]
    # the ranks in the input's precision, as PyTorch computes them (lower/higher/nearest pick the same element)
    if ignore_nan:
        valid = (~np.isnan(a)).sum(axis=-1, keepdims=True)
        ranks = np.maximum(qs * (valid - 1).astype(dt), 0).astype(dt)  # all NaN: rank 0 picks a NaN
    else:
        ranks = np.where(np.isnan(a).any(axis=-1, keepdims=True), dt.type(n - 1), qs * dt.type(n - 1)).astype(dt)
    if interpolation == "lower":
        ranks = np.floor(ranks)
    elif interpolation == "higher":
        ranks = np.ceil(ranks)
    elif interpolation == "nearest":
        ranks = np.rint(ranks)  # half to even, as PyTorch's round
    below = ranks.astype(np.int64)
    out = _api.gather(srt, -1, Tensor._wrap(below))
    if interpolation in ("linear", "midpoint"):
        if interpolation == "midpoint":
            w = Tensor._wrap(np.full(ranks.shape, 0.5, dt))
        elif isinstance(q, Tensor):  # the weights again, from q's tensor: the result is differentiable in q too
            r = _api.reshape(q, -1)
            if ignore_nan:
                r = _api.mul(r, Tensor._wrap((valid - 1).astype(dt)))
                r = _ar.Where.apply(r.array < 0, np.zeros((), dt), r)
            else:
                r = _ar.Where.apply(np.isnan(a).any(axis=-1, keepdims=True), dt.type(n - 1), _api.mul(r, n - 1))
            w = _api.sub(r, Tensor._wrap(below.astype(dt)))
        else:
            w = Tensor._wrap((ranks - below).astype(dt))
        above = _api.gather(srt, -1, Tensor._wrap(np.ceil(ranks).astype(np.int64)))
        diff = _api.sub(above, out)
        # PyTorch's lerp: start + w·(end − start) for w < 0.5, end − (end − start)·(1 − w) otherwise
        out = _ar.Where.apply(w.array < 0.5, _api.add(out, _api.mul(diff, w)),
                              _api.sub(above, _api.mul(diff, _api.sub(1.0, w))))
    out = _api.movedim(out, -1, 0)  # (len(q), *batch)
    if dim is None:
        kept = (1,) * x.ndim if keepdim else ()
    else:
        kept = tuple(1 if k == d else s for k, s in enumerate(x.shape)) if keepdim else batch
    return _api.reshape(out, kept if scalar else (qs.size, *kept))


def quantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-quantiles (q a float, or a 1-D tensor of input's dtype whose length becomes the first dimension of
    the result) of input along ``dim`` (all elements when None): between the sorted values at rank q·(n − 1),
    joined by ``interpolation`` ('linear', 'lower', 'higher', 'midpoint', 'nearest'). A slice containing NaN
    gives NaN. Differentiable: the gradient goes to the one or two values interpolated, and (linear, as
    PyTorch) to a q tensor: d/dq = (n − 1)·(upper − lower value)."""
    return _quantile(input, q, dim, keepdim, interpolation, False, "quantile")


def nanquantile(input: Tensor, q, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` ignoring NaNs (the rank is q·(count − 1) over the non-NaN values); NaN for an all-NaN slice."""
    return _quantile(input, q, dim, keepdim, interpolation, True, "nanquantile")


# ----------------------------------------------------------------------------- mode and kthvalue


def _select(x: Tensor, d: int, idx: np.ndarray, keepdim: bool):
    """(values, indices) with ``idx`` (keepdim shape) picked along ``d``; the values are gathered, so differentiable."""
    values = _api.gather(x, d, Tensor._wrap(idx))
    if not keepdim:
        values, idx = _api.squeeze(values, d), np.squeeze(idx, d)
    return _api._ValuesIndices((values, Tensor._wrap(idx)))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """(values, indices): the most frequent value along ``dim`` — the smallest one when several are equally
    frequent, as PyTorch — and the index of its last occurrence (PyTorch's choice). Differentiable in values."""
    x = _tensor_arg(input, "mode")
    d = _api._dim(dim, x.ndim, x.shape)
    if x.ndim == 0:
        return _api._ValuesIndices((x.clone(), Tensor._wrap(np.zeros((), np.int64))))
    n = x.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    moved = np.moveaxis(x.array, d, -1)
    rows = moved.reshape(-1, n)
    order = np.argsort(rows, axis=1, kind="stable")
    s = np.take_along_axis(rows, order, axis=1)
    starts = np.ones(s.shape, bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]  # NaN != NaN: each NaN is a value of its own
    run = np.cumsum(starts, axis=1) - 1
    counts = np.bincount((run + n * np.arange(len(rows))[:, None]).ravel(), minlength=rows.size).reshape(-1, n)
    best = counts.argmax(axis=1)  # the first longest run: the smallest of the most frequent values
    last = np.where(run == best[:, None], order, -1).max(axis=1)
    idx = np.expand_dims(last.reshape(moved.shape[:-1]), d).astype(np.int64)
    return _select(x, d, idx, keepdim)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """(values, indices): the ``k``-th smallest value along ``dim`` (k from 1; NaN counts as the largest) and its
    index. Among equal values the one earlier in the tensor counts as smaller (PyTorch may return another of
    them). Differentiable in values."""
    x = _tensor_arg(input, "kthvalue")
    if not _is_int(k):
        raise TypeError(f"kthvalue(): argument 'k' must be int, not {type(k).__name__}")
    d = _api._dim(dim, x.ndim, x.shape)
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d} (k={k}, size {n})")
    if x.ndim == 0:
        return _api._ValuesIndices((x.clone(), Tensor._wrap(np.zeros((), np.int64))))
    order = np.argsort(x.array, axis=d, kind="stable")
    return _select(x, d, np.take(order, [int(k) - 1], axis=d).astype(np.int64), keepdim)


# ----------------------------------------------------------------------------- searching


def searchsorted(sorted_sequence: Tensor, values, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter=None) -> Tensor:
    """For each of ``values`` the index where it would be inserted into ``sorted_sequence`` (sorted along its last
    dimension) to keep it sorted: before equal entries ('left'), after them (``right=True`` / ``side='right'``).
    A 1-D sequence serves all values; an N-D one has its leading dimensions matched with the values'. ``sorter``
    holds the indices that sort an unsorted sequence. int64 (int32 with ``out_int32``); no gradient."""
    seq = _tensor_arg(sorted_sequence, "searchsorted", "sorted_sequence")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    if isinstance(values, Tensor):
        v = values.array
    elif isinstance(values, Real) and not isinstance(values, (bool, np.bool_)):
        v = np.asarray(values)
    else:
        raise TypeError(f"searchsorted(): argument 'values' must be a Tensor or a number, not {type(values).__name__}")
    s = seq.array
    if sorter is not None:
        so = sorter.array if isinstance(sorter, Tensor) else np.asarray(sorter)
        if so.shape != s.shape or so.dtype != np.int64:
            raise RuntimeError(f"torch.searchsorted(): sorter must be an int64 tensor of the sequence's shape "
                               f"{list(s.shape)}, got shape {list(so.shape)} and dtype {so.dtype}")
        if so.size and (so.min() < 0 or so.max() >= s.shape[-1]):
            raise RuntimeError(f"torch.searchsorted(): sorter index out of range for a sequence of length "
                               f"{s.shape[-1]}")
        s = np.take_along_axis(s, so, axis=-1)
    how = "right" if right else "left"
    if s.ndim == 1:
        out = np.searchsorted(s, v, side=how)
    elif s.ndim == 0 or v.ndim != s.ndim or v.shape[:-1] != s.shape[:-1]:
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions "
                           f"of boundaries tensor and input value tensor must match, but we got boundaries tensor "
                           f"{list(s.shape)} and input value tensor {list(v.shape)}")
    else:
        rows_s, rows_v = s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1])
        out = np.stack([np.searchsorted(a, b, side=how) for a, b in zip(rows_s, rows_v)]).reshape(v.shape)
    return Tensor._wrap(np.asarray(out, np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False, right: bool = False) -> Tensor:
    """The bucket of each value of ``input`` (a tensor or a number) among the 1-D sorted ``boundaries``: i with
    boundaries[i−1] < x ≤ boundaries[i] (``right=True``: boundaries[i−1] ≤ x < boundaries[i])."""
    b = _tensor_arg(boundaries, "bucketize", "boundaries")
    if b.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({b.ndim})")
    return searchsorted(b, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False) -> Tensor:
    """A bool tensor of ``elements``' shape: whether each element occurs in ``test_elements`` (either may be a
    number, not both); ``invert=True`` negates it."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin(): at least one of 'elements' and 'test_elements' must be a Tensor")
    e = elements.array if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements.array if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    return Tensor._wrap(np.asarray(np.isin(e, t, assume_unique=assume_unique, invert=invert)))


# ----------------------------------------------------------------------------- logical reductions and signs


def _logical_reduce(np_fn, name: str):
    def op(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
        x = _tensor_arg(input, name)
        axes = _r.normalize_dims(dim, x.ndim)
        if x.ndim == 0:
            axes = None
        out = np.asarray(np_fn(x.array, axis=axes, keepdims=keepdim and dim is not None))
        if keepdim and dim is None:
            out = out.reshape((1,) * x.ndim)
        return Tensor._wrap(out.astype(np.uint8) if x.array.dtype == np.uint8 else out)

    op.__name__ = name
    op.__doc__ = (f"Whether {'any' if name == 'any' else 'every'} element (along ``dim``: an int or a tuple) is "
                  "non-zero; bool, or uint8 for a uint8 input as PyTorch.")
    return op


any = _logical_reduce(np.any, "any")  # noqa: A001 - PyTorch's name
all = _logical_reduce(np.all, "all")  # noqa: A001


def sgn(input: Tensor) -> Tensor:
    """The sign (−1, 0, 1) of a real tensor (PyTorch's sgn is x/|x| for complex ones, which ember lacks); a bool
    tensor is its own sign. Its gradient is 0."""
    x = _tensor_arg(input, "sgn")
    if x.array.dtype == np.bool_:
        return Tensor._wrap(x.array.copy())
    return _api.sign(x)


class Heaviside(Function):
    """0 where x < 0, ``values`` where x == 0, 1 where x > 0 (NaN counts as not positive: 0, as PyTorch).
    PyTorch defines no derivative: backward raises, as it does there."""

    def forward(self, a, v):
        return np.where(a == 0, v, a > 0).astype(a.dtype)

    def backward(self, g):
        raise RuntimeError("the derivative for 'heaviside' is not implemented")


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """The Heaviside step of ``input`` with ``values`` (a tensor of the same dtype, broadcast) where input is 0."""
    x = _tensor_arg(input, "heaviside")
    v = _tensor_arg(values, "heaviside", "values")
    if x.array.dtype != v.array.dtype:
        raise RuntimeError(f"heaviside is not yet implemented for tensors with different dtypes ({x.dtype} and "
                           f"{v.dtype})")
    try:
        np.broadcast_shapes(x.shape, v.shape)
    except ValueError:
        raise RuntimeError(f"heaviside: shapes {x.shape} and {v.shape} cannot be broadcast together") from None
    return Heaviside.apply(x, v)


def logspace(start, end, steps: int, base: float = 10.0, dtype=None, layout=None, device=None,
             requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``steps`` values base**e for e evenly spaced from ``start`` to ``end`` (inclusive), in ``dtype`` (the default
    float dtype unless given)."""
    _devices.check(device)
    start, end, base = (v.item() if isinstance(v, (Tensor, np.generic)) else v for v in (start, end, base))
    if not _is_int(steps):
        raise TypeError(f"logspace(): argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError(f"number of steps must be non-negative, got {steps}")
    d = _dt.resolve(dtype)
    with np.errstate(over="ignore"):
        values = np.power(float(base), np.linspace(start, end, int(steps), dtype=np.float64))
    return _make(values.astype(d), requires_grad)


# ----------------------------------------------------------------------------- random draws


class RandomDraw(Function):
    """A draw whose distribution has tensor parameters (normal's mean and std, bernoulli's probabilities).
    As in PyTorch the result is recorded, but its gradient with respect to the parameters is 0 (no
    reparameterisation: write mean + std·ε for a pathwise gradient)."""

    def forward(self, *params, sample):
        self.shapes = [np.shape(p) for p in params]
        return sample

    def backward(self, g):
        return tuple(np.zeros(s, g.dtype) if need else None for s, need in zip(self.shapes, self.needs_input_grad))


def _float_param(t: Tensor, fn: str, name: str) -> None:
    if t.array.dtype.kind != "f":
        raise RuntimeError(f"{fn}: expected a floating point tensor for '{name}', got dtype {t.dtype}")


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Normal draws, in PyTorch's four forms: ``normal(mean_tensor, std_tensor)`` (shapes broadcast),
    ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)`` and ``normal(mean, std, size)`` (numbers, with
    ``dtype`` and ``requires_grad``). std must be ≥ 0. Tensor parameters get a zero gradient, as in PyTorch.
    ``out=`` receives the result (no graph)."""
    t_mean, t_std = isinstance(mean, Tensor), isinstance(std, Tensor)
    rng = _random.numpy_rng(generator)
    if t_mean or t_std:
        if size is not None:
            raise TypeError("normal(): size is only accepted with a number mean and std; the tensors give the shape")
        params = [t for t in (mean, std) if isinstance(t, Tensor)]
        for t, name in ((mean, "mean"), (std, "std")):
            if isinstance(t, Tensor):
                _float_param(t, "normal", name)
            else:
                _number(t, "normal", name)
        if t_std and np.any(std.array < 0):
            raise RuntimeError(f"normal expects all elements of std >= 0.0, got {std.array[std.array < 0][0]}")
        if not t_std and std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        try:
            shape = np.broadcast_shapes(*(np.shape(t.array) for t in params))
        except ValueError:
            raise RuntimeError(f"normal: mean of shape {tuple(mean.shape)} and std of shape {tuple(std.shape)} "
                               "cannot be broadcast together") from None
        dt = mean.array.dtype if t_mean else std.array.dtype
        m = mean.array if t_mean else mean
        s = std.array if t_std else std
        sample = (m + s * rng.standard_normal(shape)).astype(dt)
        result = RandomDraw.apply(*params, sample=sample)
    else:
        m, s = _number(mean, "normal", "mean"), _number(std, "normal", "std")
        if size is None:
            raise TypeError("normal(mean, std) with two numbers needs size (a tuple of ints); for tensor-shaped draws "
                            "pass mean or std as a tensor")
        if s < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {s}")
        _devices.check(device)
        shape = (size,) if _is_int(size) else tuple(int(n) for n in size)
        result = _make((m + s * rng.standard_normal(shape)).astype(_dt.resolve(dtype)), requires_grad)
    return result if out is None else _into(out, result, "normal")


def _probabilities(p: np.ndarray, fn: str) -> None:
    if p.size and not np.all((p >= 0) & (p <= 1)):
        bad = p[~((p >= 0) & (p <= 1))][0]
        raise RuntimeError(f"{fn}: expected all probabilities in [0, 1] (Expected p_in >= 0 && p_in <= 1), got {bad}")


def bernoulli(input: Tensor, p: float | None = None, *, generator=None, out=None) -> Tensor:
    """0/1 draws in input's shape and (floating) dtype: 1 with probability input[i] (or ``p`` for every element
    when given). The gradient with respect to input is 0, as in PyTorch."""
    x = _tensor_arg(input, "bernoulli")
    if x.array.dtype.kind != "f":
        raise RuntimeError(f"bernoulli: expected a floating point tensor of probabilities, got dtype {x.dtype}")
    if p is None:
        probs = x.array
        _probabilities(probs, "bernoulli")
    else:
        probs = _number(p, "bernoulli", "p")
        if not 0 <= probs <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    sample = (_random.numpy_rng(generator).random(x.shape) < probs).astype(x.array.dtype)
    result = RandomDraw.apply(x, sample=sample)
    return result if out is None else _into(out, result, "bernoulli")


def _fill_random(x: Tensor, values: np.ndarray) -> Tensor:
    np.copyto(x.array, values, casting="unsafe")
    return x


def _into(out: Tensor, result: Tensor, name: str) -> Tensor:
    """``out=``: ``result`` written into ``out`` by ember's ``with_out`` rules (no graph, resized when needed)."""
    def op() -> Tensor:
        return result

    op.__name__ = name
    return _api.with_out(op)(out=out)


def _continuous(x: Tensor, what: str) -> None:
    if x.array.dtype.kind != "f":
        raise RuntimeError(f"{what} distribution is a continuous probability distribution. dtype must be a floating "
                           f"point but you specified {x.dtype}")


def _bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 0/1 draws: 1 with probability ``p`` (a number, or a tensor broadcast to this shape)."""
    self._check_inplace("bernoulli_")
    if isinstance(p, Tensor):
        probs = p.array
        _probabilities(probs, "bernoulli_")
        try:
            fits = np.broadcast_shapes(probs.shape, self.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"bernoulli_: p of shape {p.shape} does not broadcast to the tensor's shape {self.shape}")
    else:
        probs = _number(p, "bernoulli_", "p")
        if not 0 <= probs <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _fill_random(self, _random.numpy_rng(generator).random(self.shape) < probs)


def _exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Exponential(λ) draws (density λ·e^(−λx))."""
    self._check_inplace("exponential_")
    _continuous(self, "Exponential")
    lambd = _number(lambd, "exponential_", "lambd")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    return _fill_random(self, _random.numpy_rng(generator).exponential(1.0 / lambd, self.shape))


def _geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with Geometric(p) draws: the number of trials up to the first success, P(k) = (1 − p)^(k−1)·p, k ≥ 1."""
    self._check_inplace("geometric_")
    p = _number(p, "geometric_", "p")
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    return _fill_random(self, _random.numpy_rng(generator).geometric(p, self.shape))


def _log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with e^N(mean, std²) draws."""
    self._check_inplace("log_normal_")
    _continuous(self, "LogNormal")
    mean, std = _number(mean, "log_normal_", "mean"), _number(std, "log_normal_", "std")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    return _fill_random(self, _random.numpy_rng(generator).lognormal(mean, std, self.shape))


def _cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill with Cauchy(median, sigma) draws (density 1 / (πσ(1 + ((x − median)/σ)²)))."""
    self._check_inplace("cauchy_")
    _continuous(self, "Cauchy")
    median, sigma = _number(median, "cauchy_", "median"), _number(sigma, "cauchy_", "sigma")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    draws = median + sigma * _random.numpy_rng(generator).standard_cauchy(self.shape)
    return _fill_random(self, draws)


def _random_limits(dtype: np.dtype) -> tuple[int, int]:
    """The integers ``random_`` may draw into ``dtype``: ±2^mantissa for floats (every integer between is exact),
    the range of an integer type, 0 and 1 for bool. ``random_()`` draws from [0, the upper limit]."""
    if dtype.kind == "f":
        top = 2 ** (np.finfo(dtype).nmant + 1)
        return -top, top
    if dtype.kind == "b":
        return 0, 1
    return int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)


def _random_(self: Tensor, *args, generator=None, **kwargs) -> Tensor:
    """Fill with integers drawn uniformly: ``random_(to)`` from [0, to), ``random_(from, to)`` from [from, to),
    ``random_()`` from [0, 2^mantissa] for floats or [0, max] for integer types (PyTorch's ranges)."""
    self._check_inplace("random_")
    names = ("from", "to")
    if len(args) > 2 or set(kwargs) - set(names):
        raise TypeError(f"random_() takes (from, to), (to) or no bounds, got {args} and {sorted(kwargs)}")
    if len(args) == 1 and not kwargs:
        lo, hi = 0, args[0]
    else:
        bounds = dict(zip(names, args))
        for k, v in kwargs.items():
            if k in bounds:
                raise TypeError(f"random_() got multiple values for argument '{k}'")
            bounds[k] = v
        lo, hi = bounds.get("from", 0), bounds.get("to")
    for name, v in (("from", lo), ("to", hi)):
        if v is not None and not _is_int(v):
            raise TypeError(f"random_(): argument '{name}' must be int, not {type(v).__name__}")
    low, high = _random_limits(self.array.dtype)
    if hi is None:
        top = high
    elif lo >= hi:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={lo} >= to={hi}")
    else:
        top = hi - 1
    if not low <= lo <= top <= high:
        raise RuntimeError(f"random_: the range [{lo}, {top}] does not fit dtype {self.dtype} (values from {low} to "
                           f"{high})")
    draws = _random.numpy_rng(generator).integers(int(lo), int(top), size=self.shape, endpoint=True, dtype=np.int64)
    return _fill_random(self, draws)


# ----------------------------------------------------------------------------- Tensor methods


def _method(op, name: str):
    def method(self, *args, **kwargs):
        return _inplace(self, name, op, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place ``{op.__name__}``: the result is written into this tensor."
    return method


def _install() -> None:
    """The functions above as Tensor methods (``x.index_add(0, i, s)``, ``x.quantile(0.5)``, ``x.any(dim)``, …),
    the in-place ones (``index_add_``, ``scatter_reduce_``, ``nan_to_num_``, ``sgn_``, ``heaviside_``) and the
    in-place random fills."""
    T = Tensor
    for fn in (index_add, index_copy, index_fill, scatter_reduce, nan_to_num, nansum, nanmean, quantile,
               nanquantile, mode, kthvalue, any, all, sgn, heaviside, bernoulli):
        setattr(T, fn.__name__, fn)
    for fn in (index_add, index_copy, index_fill, scatter_reduce, nan_to_num, sgn, heaviside):
        setattr(T, fn.__name__ + "_", _method(fn, fn.__name__ + "_"))
    T.bernoulli_ = _bernoulli_
    T.exponential_ = _exponential_
    T.geometric_ = _geometric_
    T.log_normal_ = _log_normal_
    T.cauchy_ = _cauchy_
    T.random_ = _random_


_install()
