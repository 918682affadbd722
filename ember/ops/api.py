"""The user-facing functions over the ops, and the Tensor methods and operators that call them."""
from __future__ import annotations

from numbers import Number
from typing import Sequence

import builtins as _b

import numpy as np

from ember.ops import activation as A
from ember.ops import arithmetic as Ar
from ember.ops import reduce as R
from ember.ops import shape as S
from ember import dtypes as _dt
from ember.tensor import Tensor, _state, note_inplace

# ----------------------------------------------------------------------------- helpers


def _operand(x, like: Tensor):
    """Python and NumPy scalars become Python scalars (so NumPy keeps the tensor's dtype);
    arrays take the tensor's float dtype (the default float dtype next to an integer tensor)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):  # a NumPy scalar would impose its own precision (float64): make it a Python one
        return x.item()
    if isinstance(x, (bool, Number)):
        return x
    arr = np.asarray(x)
    if like.dtype.kind == "f" and arr.dtype.kind in "fiub":
        arr = arr.astype(like.dtype)
    elif arr.dtype.kind == "f":
        arr = arr.astype(_dt.get_default_dtype())
    return Tensor._wrap(arr)


def _shape_of(x) -> tuple:
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # PyTorch's type categories: bool < integer < floating


def _result_dtype(a: Tensor, b: Tensor) -> np.dtype:
    """PyTorch's type promotion for two tensors: the higher category wins (int64 + float32 is float32,
    not NumPy's float64); within a category the wider dtype wins; a 0-d tensor decides only when its
    category is higher than the other operand's (float32 + a 0-d float64 tensor stays float32)."""
    da, db = a.array.dtype, b.array.dtype
    ca, cb = _CATEGORY.get(da.kind, 3), _CATEGORY.get(db.kind, 3)
    za, zb = a.array.ndim == 0, b.array.ndim == 0
    if za != zb:
        (d, cd), (z, cz) = ((db, cb), (da, ca)) if za else ((da, ca), (db, cb))
        return z if cz > cd else d
    if ca != cb:
        return da if ca > cb else db
    return np.promote_types(da, db)


def _promote(a, b, true_div: bool = False):
    """Cast two operands (tensors, or one tensor and a Python scalar) to the dtype PyTorch computes in.
    Integer tensors with a Python float, and integer true division, give the default float dtype."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        out = _result_dtype(a, b)
    else:
        t, s = (a, b) if isinstance(a, Tensor) else (b, a)
        out = t.array.dtype
        if out.kind != "f" and isinstance(s, float):
            out = _dt.get_default_dtype()
    if true_div and out.kind != "f":
        out = _dt.get_default_dtype()
    if isinstance(a, Tensor) and a.array.dtype != out:
        a = a.type(out)
    if isinstance(b, Tensor) and b.array.dtype != out:
        b = b.type(out)
    return a, b


def _to_float(x: Tensor) -> Tensor:
    """Integer and bool tensors become the default float dtype (torch.exp(int tensor) is float32)."""
    return x if x.array.dtype.kind == "f" else x.type(_dt.get_default_dtype())


def _binary(fn):
    name = fn.__name__.lower()
    true_div = fn is Ar.Div

    def op(a, b):
        if isinstance(a, Tensor):
            if isinstance(b, Tensor):
                da, db = a.array.dtype, b.array.dtype
                if da is not db or (true_div and da.kind != "f"):
                    a, b = _promote(a, b, true_div)
            else:
                b = _operand(b, a)
                if isinstance(b, Tensor) or a.array.dtype.kind != "f":
                    a, b = _promote(a, b, true_div)
        elif isinstance(b, Tensor):
            a = _operand(a, b)
            if isinstance(a, Tensor) or b.array.dtype.kind != "f":
                a, b = _promote(a, b, true_div)
        else:
            a, b = _promote(Tensor(a), Tensor(b), true_div)
        try:
            return fn.apply(a, b)
        except ValueError:
            sa, sb = _shape_of(a), _shape_of(b)
            try:
                np.broadcast_shapes(sa, sb)
            except ValueError:
                raise RuntimeError(f"{name}: shapes {sa} and {sb} cannot be broadcast together (trailing dimensions "
                                   "must be equal or 1)") from None
            raise

    op.__name__ = name
    return op


add = _binary(Ar.Add)
sub = subtract = _binary(Ar.Sub)
mul = multiply = _binary(Ar.Mul)
div = divide = true_divide = _binary(Ar.Div)
maximum = _binary(Ar.Maximum)
minimum = _binary(Ar.Minimum)


pow = _binary(Ar.Pow)  # noqa: A001 - PyTorch's name


def matmul(a: Tensor, b: Tensor) -> Tensor:
    return Ar.MatMul.apply(a, b if isinstance(b, Tensor) else Tensor(b))


mm = bmm = matmul


def neg(x): return Ar.Neg.apply(x)
def exp(x): return Ar.Exp.apply(_to_float(x))
def log(x): return Ar.Log.apply(_to_float(x))
def sqrt(x): return Ar.Sqrt.apply(_to_float(x))
def abs(x): return Ar.Abs.apply(x)  # noqa: A001
def sign(x): return Ar.Sign.apply(x)


def rsqrt(x): return sqrt(x) ** -1
def square(x): return mul(x, x)
def log1p(x): return log(add(x, 1.0))
def expm1(x): return sub(exp(x), 1.0)


def clamp(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """min(max(x, min), max); bounds may be numbers or tensors (which broadcast and take no gradient)."""
    if min is None and max is None:
        raise ValueError("clamp needs at least one of min or max")
    min = min.array if isinstance(min, Tensor) else min  # noqa: A001
    max = max.array if isinstance(max, Tensor) else max  # noqa: A001
    return Ar.Clamp.apply(x, lo=min, hi=max)


clip = clamp


def where(condition, x=None, y=None):
    """``x`` where ``condition`` holds, else ``y`` (either may be a Python scalar), in the dtype PyTorch
    promotes them to; ``where(condition)`` alone is ``condition.nonzero(as_tuple=True)``."""
    cond = condition.array if isinstance(condition, Tensor) else np.asarray(condition)
    if x is None and y is None:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(cond))
    if x is None or y is None:
        raise TypeError("where() takes a condition and both x and y, or the condition alone")
    ref = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    if ref is None:  # two scalars: the dtype a tensor of them would get
        kinds = [_dt.default_for_python_value(v) for v in (x, y)]  # bool < int64 < the default float
        dtype = _b.max(kinds, key=lambda d: "bif".index(d.kind))
        return Tensor._wrap(np.where(cond, np.asarray(x, dtype), np.asarray(y, dtype)))
    x, y = _operand(x, ref), _operand(y, ref)
    x, y = _promote(x, y)
    return Ar.Where.apply(cond.astype(bool), x, y)


# ----------------------------------------------------------------------------- reductions


def sum(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:  # noqa: A001
    if dtype is not None:  # like PyTorch: cast first, then sum in that dtype
        x = x.type(dtype)
    if x.dtype.kind in "biu":  # integer sums like PyTorch: int64, no graph
        total = np.sum(x.array, axis=R.normalize_dims(dim, x.ndim), keepdims=keepdim)
        return Tensor._wrap(np.asarray(total, dtype=np.int64))
    return R.Sum.apply(x, dim=dim, keepdim=keepdim)


def mean(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    if dtype is not None:
        x = x.type(dtype)
    if x.dtype.kind not in "f":
        raise RuntimeError(f"mean() needs a floating point tensor, got dtype {x.dtype}; call .float() first")
    return R.Mean.apply(x, dim=dim, keepdim=keepdim)


class _ValuesIndices(tuple):
    """(values, indices) as PyTorch's max(dim) returns, with .values and .indices."""

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _maxmin(x, dim, keepdim, largest):
    if isinstance(dim, Tensor):  # torch.max(a, b) elementwise form
        return (maximum if largest else minimum)(x, dim)
    values = R.MaxMin.apply(x, dim=dim, keepdim=keepdim, largest=largest)
    if dim is None:
        return values
    idx = (argmax if largest else argmin)(x, dim=dim, keepdim=keepdim)
    return _ValuesIndices((values, idx))


def max(x: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    return _maxmin(x, dim, keepdim, True)


def min(x: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    return _maxmin(x, dim, keepdim, False)


def amax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return R.MaxMin.apply(x, dim=tuple(dim) if isinstance(dim, (list, tuple)) else (None if dim is None else (dim,)),
                          keepdim=keepdim, largest=True)


def amin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return R.MaxMin.apply(x, dim=tuple(dim) if isinstance(dim, (list, tuple)) else (None if dim is None else (dim,)),
                          keepdim=keepdim, largest=False)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def var(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Tensor:
    return R.Var.apply(x, dim=dim, keepdim=keepdim, correction=_correction(unbiased, correction))


def std(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None) -> Tensor:
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction))


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    return R.LogSumExp.apply(x, dim=dim, keepdim=keepdim)


def prod(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return R.Prod.apply(x, dim=dim, keepdim=keepdim)


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    d = x.array
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmax(d), dtype=np.int64))
    return Tensor._wrap(np.argmax(d, axis=dim, keepdims=keepdim).astype(np.int64))


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    d = x.array
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmin(d), dtype=np.int64))
    return Tensor._wrap(np.argmin(d, axis=dim, keepdims=keepdim).astype(np.int64))


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    order = np.argsort(-x.array if largest else x.array, axis=dim, kind="stable")
    idx = np.take(order, np.arange(k), axis=dim)
    vals = gather(x, dim, Tensor._wrap(idx.astype(np.int64)))
    return _ValuesIndices((vals, Tensor._wrap(idx.astype(np.int64))))


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j] = x[i][index[i][j]] along ``dim`` (via advanced indexing, so backward scatter-adds)."""
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    dim = _dim(dim, x.ndim)
    if idx.ndim != x.ndim:
        raise RuntimeError(f"gather: index of shape {idx.shape} must have as many dimensions as the input {x.shape}")
    grids = list(np.indices(idx.shape, sparse=True))
    grids[dim] = idx
    return x[tuple(grids)]


def index_select(x: Tensor, dim: int, index) -> Tensor:
    """The entries of ``x`` at the positions ``index`` (1-D integers) along ``dim``; backward scatter-adds."""
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    if idx.ndim > 1 or idx.dtype.kind not in "iu":
        raise RuntimeError(f"index_select: index must be a 1-D integer tensor, got shape {idx.shape} and dtype "
                           f"{idx.dtype}")
    dim = _dim(dim, x.ndim, x.shape)
    return x[(slice(None),) * dim + (idx.reshape(-1),)]


def masked_fill(x: Tensor, mask, value) -> Tensor:
    """``x`` with ``value`` wherever the boolean ``mask`` (broadcast to x's shape) is True; the gradient
    reaches x where the mask is False."""
    m = _fill_mask(x, mask, "masked_fill")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        value = value.array
    return Ar.Where.apply(m, np.asarray(value, dtype=x.dtype), x)


def _fill_mask(x: Tensor, mask, fn: str) -> np.ndarray:
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"{fn}: the mask must be a bool tensor, got dtype {m.dtype}")
    try:
        ok = np.broadcast_shapes(m.shape, x.shape) == x.shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{fn}: mask of shape {m.shape} does not broadcast to the tensor's shape {x.shape}")
    return m


def _masked_fill_(x: Tensor, mask, value) -> Tensor:
    x._check_inplace("masked_fill_")
    m = _fill_mask(x, mask, "masked_fill_")
    np.copyto(x.array, value.array if isinstance(value, Tensor) else value, where=m, casting="unsafe")
    return x


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices of ``x`` along ``dim``, that dimension removed."""
    dim = _dim(dim, x.ndim, x.shape)
    lead = (slice(None),) * dim
    return tuple(x[lead + (i,)] for i in range(x.shape[dim]))


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """``length`` entries of ``x`` from ``start`` along ``dim`` (a view, like slicing)."""
    dim = _dim(dim, x.ndim, x.shape)
    n = x.shape[dim]
    if start < 0:
        start += n
    if not (0 <= start <= n and 0 <= length and start + length <= n):
        raise IndexError(f"narrow: start {start} and length {length} are out of range for dimension {dim} of "
                         f"size {n} (shape {x.shape})")
    return x[(slice(None),) * dim + (slice(start, start + length),)]


# ----------------------------------------------------------------------------- shapes


def _dim(dim, ndim: int, shape: tuple | None = None) -> int:
    """``dim`` as a non-negative axis in range(ndim), or an IndexError saying the valid range."""
    n = _b.max(ndim, 1)
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int, got {dim!r}")
    if not -n <= dim < n:
        where = f"for shape {shape}" if shape is not None else f"for a tensor with {ndim} dimensions"
        raise IndexError(f"dimension {dim} is out of range {where} (expected a dim in [{-n}, {n - 1}])")
    return int(dim) % n


def _shape(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(s) for s in shape)


def reshape(x: Tensor, *shape) -> Tensor:
    shape = _shape(shape)
    if shape == x.shape:
        return x
    return S.Reshape.apply(x, shape=shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    nd = x.ndim
    if nd == 0:
        return reshape(x, 1)
    s, e = _dim(start_dim, nd), _dim(end_dim, nd)
    if s > e:
        raise RuntimeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {x.shape}")
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:]
    return reshape(x, shape)


def permute(x: Tensor, *dims) -> Tensor:
    return S.Permute.apply(x, dims=_shape(dims))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    dim0, dim1 = _dim(dim0, x.ndim), _dim(dim1, x.ndim)
    dims = list(range(x.ndim))
    dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
    return S.Permute.apply(x, dims=tuple(dims))


swapaxes = transpose


def t(x: Tensor) -> Tensor:
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, got {x.ndim}; use transpose or mT")
    return x if x.ndim < 2 else transpose(x, 0, 1)


def expand(x: Tensor, *shape) -> Tensor:
    return S.Expand.apply(x, shape=_shape(shape))


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors (PyTorch's default ``indexing='ij'``; ``'xy'`` swaps the first two
    axes, as NumPy's default); each grid is an expanded view, so gradients flow back to its tensor."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    ts = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    for i, t in enumerate(ts):
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid expects 0-d or 1-d tensors, got tensor {i} of shape {t.shape}")
    ts = [t.reshape(-1) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    grids = [expand(t.reshape((1,) * i + (-1,) + (1,) * (len(ts) - i - 1)), *shape) for i, t in enumerate(ts)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def broadcast_to(x: Tensor, shape) -> Tensor:
    return S.Expand.apply(x, shape=tuple(shape))


def squeeze(x: Tensor, dim=None) -> Tensor:
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = {_dim(d, x.ndim) for d in ((dim,) if isinstance(dim, (int, np.integer)) else dim)}
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return reshape(x, shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    dim = _dim(dim, x.ndim + 1, x.shape)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def _common_dtype(tensors: list) -> list:
    """The tensors cast to the dtype PyTorch's cat/stack promote them to (float32 with int64 is float32)."""
    out = tensors[0].array.dtype
    if all(t.array.dtype == out for t in tensors):
        return tensors
    for t in tensors[1:]:
        d = t.array.dtype
        co, cd = _CATEGORY.get(out.kind, 3), _CATEGORY.get(d.kind, 3)
        out = out if co > cd else d if cd > co else np.promote_types(out, d)
    return [t if t.array.dtype == out else t.type(out) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in tensors]
    if tensors:
        dim = _dim(dim, tensors[0].ndim)
        tensors = _common_dtype(tensors)
    return S.Cat.apply(*tensors, dim=dim)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in tensors]
    if not tensors:
        raise ValueError("stack expects a non-empty sequence of tensors")
    tensors = _common_dtype(tensors)
    return S.Stack.apply(*tensors, dim=_dim(dim, tensors[0].ndim + 1, tensors[0].shape))


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last one smaller), or pieces of the given sizes."""
    dim = _dim(dim, x.ndim)
    n = x.shape[dim]
    if isinstance(split_size_or_sections, (int, np.integer)):
        if split_size_or_sections < 1:
            raise ValueError(f"split size must be a positive integer, got {split_size_or_sections}")
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections:
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if builtins_sum(sizes) != n:
            raise RuntimeError(f"split sizes {sizes} do not add up to {n}, the size of dim {dim}")
    out, start = [], 0
    lead = (slice(None),) * dim
    for s in sizes:
        out.append(x[lead + (slice(start, start + s),)])
        start += s
    return tuple(out)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of ⌈n/chunks⌉ along ``dim``, as PyTorch."""
    if chunks < 1:
        raise ValueError(f"chunk expects a positive number of chunks, got {chunks}")
    n = x.shape[_dim(dim, x.ndim)]
    return split(x, -(-n // chunks), dim)


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    if mode != "constant":
        raise ValueError(f"pad mode {mode!r} is not supported; valid modes: 'constant'")
    return S.Pad.apply(x, pad=tuple(pad), value=value)


def flip(x: Tensor, dims) -> Tensor:
    return S.Flip.apply(x, dims=tuple(dims) if isinstance(dims, (list, tuple)) else (dims,))


def repeat(x: Tensor, *reps) -> Tensor:
    return S.Repeat.apply(x, reps=_shape(reps))


def getitem(x: Tensor, index) -> Tensor:
    return S.GetItem.apply(x, index=S._unwrap_index(index))


# ----------------------------------------------------------------------------- activations


def sigmoid(x): return A.Sigmoid.apply(_to_float(x))
def tanh(x): return A.Tanh.apply(_to_float(x))
def relu(x): return A.ReLU.apply(x)
def silu(x): return A.SiLU.apply(x)


def softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    """exp(x) / Σ exp(x) along ``dim``; with ``dtype`` the input is cast first (as PyTorch)."""
    if dtype is not None:
        x = x.type(dtype)
    return A.Softmax.apply(x, dim=_dim(dim, x.ndim))


def log_softmax(x: Tensor, dim: int = -1, dtype=None) -> Tensor:
    """x − logsumexp(x) along ``dim``; with ``dtype`` the input is cast first (as PyTorch)."""
    if dtype is not None:
        x = x.type(dtype)
    return A.LogSoftmax.apply(x, dim=_dim(dim, x.ndim))


# ----------------------------------------------------------------------------- comparisons (no gradient)


def _compare(fn):
    def op(a, b):
        bd = b.array if isinstance(b, Tensor) else b
        ad = a.array if isinstance(a, Tensor) else a
        return Tensor._wrap(np.asarray(fn(ad, bd)))

    return op


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)


def isnan(x): return Tensor._wrap(np.isnan(x.array))
def isinf(x): return Tensor._wrap(np.isinf(x.array))
def isfinite(x): return Tensor._wrap(np.isfinite(x.array))


def allclose(a, b, rtol=1e-5, atol=1e-8) -> bool:
    return bool(np.allclose(np.asarray(a.array if isinstance(a, Tensor) else a),
                            np.asarray(b.array if isinstance(b, Tensor) else b), rtol=rtol, atol=atol))


def equal(a, b) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.array, b.array))


# ----------------------------------------------------------------------------- more elementwise math


def sin(x): return Ar.Sin.apply(_to_float(x))
def cos(x): return Ar.Cos.apply(_to_float(x))
def tan(x): return Ar.Tan.apply(_to_float(x))
def erf(x): return Ar.Erf.apply(_to_float(x))
def log2(x): return Ar.LogBase.apply(_to_float(x), base=2)
def log10(x): return Ar.LogBase.apply(_to_float(x), base=10)
def reciprocal(x): return div(1.0, x)


def atan2(a, b) -> Tensor:
    """The angle of the point (b, a) in (−π, π], elementwise; integer inputs give the default float dtype."""
    a = a if isinstance(a, Tensor) else Tensor(a)
    b = b if isinstance(b, Tensor) else Tensor(b)
    a, b = _promote(_to_float(a), _to_float(b))
    return Ar.Atan2.apply(a, b)


arctan2 = atan2


def _rounding(mode: str):
    def op(x, **kw):
        if x.array.dtype.kind != "f":  # integers are already whole: PyTorch returns them unchanged
            return x.clone()
        return Ar.Rounding.apply(x, mode=mode, **kw)

    op.__name__ = mode
    op.__doc__ = f"{mode} elementwise; the gradient is 0, as in PyTorch."
    return op


floor, ceil, trunc = _rounding("floor"), _rounding("ceil"), _rounding("trunc")
fix = trunc
_round = _rounding("round")


def round(x: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even (as PyTorch and NumPy), to ``decimals`` places; the gradient is 0."""
    return _round(x, decimals=decimals) if decimals else _round(x)


def frac(x: Tensor) -> Tensor:
    """x − trunc(x) (keeps x's sign); the gradient is 1."""
    if x.array.dtype.kind != "f":
        raise RuntimeError(f"frac: expected a floating point tensor, got dtype {x.dtype}")
    return sub(x, trunc(x))


def clamp_min(x: Tensor, min) -> Tensor:  # noqa: A002
    return clamp(x, min=min)


def clamp_max(x: Tensor, max) -> Tensor:  # noqa: A002
    return clamp(x, max=max)


def lerp(start: Tensor, end: Tensor, weight) -> Tensor:
    """start + weight·(end − start); ``weight`` a number or a tensor (then it gets a gradient too)."""
    if isinstance(weight, Tensor) and weight.array.dtype.kind != "f":
        raise RuntimeError(f"lerp: weight must be a float or a floating point tensor, got dtype {weight.dtype}")
    for name, t in (("start", start), ("end", end)):
        if not isinstance(t, Tensor) or t.array.dtype.kind != "f":
            raise RuntimeError(f"lerp: {name} must be a floating point tensor, got "
                               f"{t.dtype if isinstance(t, Tensor) else type(t).__name__}")
    return add(start, mul(weight, sub(end, start)))


def _logical(fn, name: str):
    def op(a, b):
        ad = a.array if isinstance(a, Tensor) else np.asarray(a)
        bd = b.array if isinstance(b, Tensor) else np.asarray(b)
        try:
            return Tensor._wrap(np.asarray(fn(ad.astype(bool), bd.astype(bool))))
        except ValueError:
            raise RuntimeError(f"{name}: shapes {ad.shape} and {bd.shape} cannot be broadcast together") from None

    op.__name__ = name
    return op


logical_and = _logical(np.logical_and, "logical_and")
logical_or = _logical(np.logical_or, "logical_or")
logical_xor = _logical(np.logical_xor, "logical_xor")


def logical_not(x) -> Tensor:
    return Tensor._wrap(np.logical_not(x.array if isinstance(x, Tensor) else np.asarray(x)))


def isclose(a, b, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """|a − b| ≤ atol + rtol·|b| elementwise (a bool tensor; ``allclose`` is its all())."""
    ad = a.array if isinstance(a, Tensor) else np.asarray(a)
    bd = b.array if isinstance(b, Tensor) else np.asarray(b)
    return Tensor._wrap(np.asarray(np.isclose(ad, bd, rtol=rtol, atol=atol, equal_nan=equal_nan)))


# ----------------------------------------------------------------------------- scans and more reductions


def _scan(x: Tensor, dim: int, dtype, int_scan, op) -> Tensor:
    """A running reduction along ``dim``: integer and bool inputs in int64 with NumPy's ``int_scan`` (no graph),
    floats through the differentiable ``op``."""
    if dtype is not None:
        x = x.type(dtype)
    d = _dim(dim, x.ndim, x.shape)
    if x.array.dtype.kind != "f":
        return Tensor._wrap(int_scan(x.array, axis=d, dtype=np.int64).reshape(x.shape))
    if x.ndim == 0:
        return x.clone()
    return op.apply(x, dim=d)


def cumsum(x: Tensor, dim: int, dtype=None) -> Tensor:
    """Running sum along ``dim`` (required, as in PyTorch). Integer and bool inputs sum in int64 (no graph)."""
    return _scan(x, dim, dtype, np.cumsum, R.CumSum)


def cumprod(x: Tensor, dim: int, dtype=None) -> Tensor:
    """Running product along ``dim`` (required); zeros are handled in the gradient."""
    return _scan(x, dim, dtype, np.cumprod, R.CumProd)


def median(x: Tensor, dim: int | None = None, keepdim: bool = False):
    """The lower median (PyTorch's: no averaging of the middle pair). Without ``dim`` one value over all
    elements; with ``dim`` (values, indices). The gradient goes to the element picked."""
    if x.array.size == 0:
        raise RuntimeError("median() of an empty tensor is undefined")
    if dim is None:
        flat = reshape(x, -1)
        k = int(np.argsort(flat.array, kind="stable")[(flat.shape[0] - 1) // 2])
        return flat[k]
    d = _dim(dim, x.ndim, x.shape)
    if x.ndim == 0:
        return _ValuesIndices((x.clone(), Tensor._wrap(np.zeros((), np.int64))))
    n = x.shape[d]
    order = np.argsort(x.array, axis=d, kind="stable")
    idx = np.take(order, [(n - 1) // 2], axis=d).astype(np.int64)
    values = gather(x, d, Tensor._wrap(idx))
    if not keepdim:
        values, idx = squeeze(values, d), np.squeeze(idx, d)
    return _ValuesIndices((values, Tensor._wrap(idx)))


def count_nonzero(x: Tensor, dim=None) -> Tensor:
    dims = R.normalize_dims(dim, x.ndim)
    return Tensor._wrap(np.asarray(np.count_nonzero(x.array, axis=dims), dtype=np.int64))


def var_mean(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
    """(var, mean) in one call, as PyTorch; both differentiable."""
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def std_mean(x: Tensor, dim=None, unbiased: bool | None = None, keepdim: bool = False, *, correction=None):
    """(std, mean) in one call, as PyTorch; both differentiable."""
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


class _MinMax(tuple):
    """(min, max) as PyTorch's aminmax returns, with .min and .max."""

    @property
    def min(self):
        return self[0]

    @property
    def max(self):
        return self[1]


def aminmax(x: Tensor, *, dim: int | None = None, keepdim: bool = False):
    return _MinMax((amin(x, dim, keepdim), amax(x, dim, keepdim)))


# ----------------------------------------------------------------------------- sorting and selection


def _argsort(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Stable argsort; descending keeps equal elements in their original order too (flip, sort, flip back)."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    return n - 1 - np.flip(np.argsort(np.flip(a, axis), axis=axis, kind="stable"), axis)


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) sorted along ``dim``; always stable (a valid answer for stable=False too). The values
    are gathered from ``x``, so their gradient flows back to where each came from."""
    if x.ndim == 0:
        return _ValuesIndices((x.clone(), Tensor._wrap(np.zeros((), np.int64))))
    d = _dim(dim, x.ndim, x.shape)
    idx = Tensor._wrap(_argsort(x.array, d, descending).astype(np.int64))
    return _ValuesIndices((gather(x, d, idx), idx))


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    if x.ndim == 0:
        return Tensor._wrap(np.zeros((), np.int64))
    return Tensor._wrap(_argsort(x.array, _dim(dim, x.ndim, x.shape), descending).astype(np.int64))


def nonzero(x: Tensor, *, as_tuple: bool = False):
    """Indices of the non-zero entries: an (n, ndim) int64 tensor, or one 1-D tensor per dimension."""
    a = x.array if x.ndim else x.array.reshape(1)
    idx = np.nonzero(a)
    if as_tuple:
        return tuple(Tensor._wrap(i.astype(np.int64)) for i in idx)
    return Tensor._wrap(np.stack(idx, axis=1).astype(np.int64) if x.ndim else np.zeros((len(idx[0]), 0), np.int64))


def argwhere(x: Tensor) -> Tensor:
    return nonzero(x)


def unique(x: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           dim: int | None = None):
    """The distinct values (sorted), with the inverse indices and counts when asked; no gradient, as PyTorch.
    With ``dim`` the distinct slices along it."""
    axis = None if dim is None else _dim(dim, x.ndim, x.shape)
    vals, inv, counts = np.unique(x.array, return_inverse=True, return_counts=True, axis=axis)
    out = [Tensor._wrap(vals)]
    if return_inverse:
        inv = inv.reshape(x.shape) if axis is None else inv.reshape(-1)
        out.append(Tensor._wrap(inv.astype(np.int64)))
    if return_counts:
        out.append(Tensor._wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def masked_select(x: Tensor, mask) -> Tensor:
    """The entries of ``x`` where the bool ``mask`` holds, as 1-D (x and mask broadcast together); the
    gradient goes back to those entries."""
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(f"masked_select: the mask must be a bool tensor, got dtype {m.dtype}")
    try:
        shape = np.broadcast_shapes(x.shape, m.shape)
    except ValueError:
        raise RuntimeError(f"masked_select: the tensor's shape {x.shape} and the mask's shape {m.shape} cannot "
                           "be broadcast together") from None
    if shape != x.shape:
        x = expand(x, shape)
    return x[np.broadcast_to(m, shape)]


def _scatter_args(x: Tensor, dim, index, src, fn: str):
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    d = _dim(dim, x.ndim, x.shape)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{fn}: index must be an integer tensor, got dtype {idx.dtype}")
    if idx.ndim != x.ndim:
        raise RuntimeError(f"{fn}: index of shape {idx.shape} must have as many dimensions as the tensor {x.shape}")
    if isinstance(src, Tensor):
        if src.ndim != x.ndim or any(i > s for i, s in zip(idx.shape, src.shape)):
            raise RuntimeError(f"{fn}: index of shape {idx.shape} must be no larger than src of shape {src.shape} "
                               "in every dimension")
        if src.array.dtype != x.array.dtype:
            raise RuntimeError(f"{fn}: src dtype {src.dtype} differs from the tensor's dtype {x.dtype}")
    if any(i > s for k, (i, s) in enumerate(zip(idx.shape, x.shape)) if k != d):
        raise RuntimeError(f"{fn}: index of shape {idx.shape} is larger than the tensor {x.shape} outside dim {d}")
    n = x.shape[d]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{fn}: index out of range for dimension {d} of size {n} (shape {x.shape})")
    idx = np.where(idx < 0, idx + n, idx) if idx.size and idx.min() < 0 else idx
    return d, idx, src if isinstance(src, Tensor) else np.asarray(src, dtype=x.array.dtype)


_SCATTER_REDUCE = (None, "add")


def scatter(x: Tensor, dim: int, index, src=None, *, value=None, reduce: str | None = None) -> Tensor:
    """A copy of ``x`` with ``out[...index[i][j]...] = src[i][j]`` along ``dim`` (``src`` a tensor or a
    number; ``reduce='add'`` adds instead). Differentiable in ``x`` and ``src``."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() needs src (a tensor or a number) or value=")
    if reduce not in _SCATTER_REDUCE:
        raise ValueError(f"scatter: reduce={reduce!r} is not supported; valid options: None, 'add'")
    d, idx, src = _scatter_args(x, dim, index, src, "scatter")
    return S.Scatter.apply(x, src, idx, dim=d, reduce=reduce)


def scatter_add(x: Tensor, dim: int, index, src) -> Tensor:
    """A copy of ``x`` with ``src`` added at ``index`` along ``dim`` (repeated indices accumulate)."""
    d, idx, src = _scatter_args(x, dim, index, src, "scatter_add")
    return S.Scatter.apply(x, src, idx, dim=d, reduce="add")


def _scatter_(x: Tensor, dim: int, index, src=None, *, value=None, reduce: str | None = None) -> Tensor:
    x._check_inplace("scatter_")
    x.array[...] = scatter(x.detach(), dim, index, src.detach() if isinstance(src, Tensor) else src,
                           value=value, reduce=reduce).array
    return x


def _scatter_add_(x: Tensor, dim: int, index, src) -> Tensor:
    x._check_inplace("scatter_add_")
    x.array[...] = scatter_add(x.detach(), dim, index, src.detach() if isinstance(src, Tensor) else src).array
    return x


def take(x: Tensor, index) -> Tensor:
    """The entries of ``x`` at flat positions ``index`` (as if x were 1-D), in index's shape."""
    idx = index.array if isinstance(index, Tensor) else np.asarray(index)
    n = x.array.size
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"take: index must be an integer tensor, got dtype {idx.dtype}")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"take: index out of range for a tensor of {n} elements (shape {x.shape})")
    return reshape(x, -1)[idx]


def _tri(x: Tensor, diagonal: int, upper: bool, fn: str) -> Tensor:
    if x.ndim < 2:
        raise RuntimeError(f"{fn}: expected a tensor with at least 2 dimensions, got shape {x.shape}")
    r, c = x.shape[-2:]
    keep = (np.triu if upper else np.tril)(np.ones((r, c), dtype=bool), diagonal)
    return Ar.Where.apply(keep, x, np.zeros((), x.array.dtype))


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (on and below diagonal ``diagonal``) of the last two dimensions; zeros elsewhere."""
    return _tri(x, diagonal, False, "tril")


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (on and above diagonal ``diagonal``) of the last two dimensions; zeros elsewhere."""
    return _tri(x, diagonal, True, "triu")


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """1-D: a square matrix with ``x`` on the given diagonal; 2-D: that diagonal as 1-D."""
    if x.ndim not in (1, 2):
        raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape {x.shape}")
    return S.Diag.apply(x, k=int(diagonal))


def outer(a: Tensor, b: Tensor) -> Tensor:
    """a_i·b_j for 1-D a and b."""
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"outer: expected two 1-D tensors, got shapes {a.shape} and {b.shape}")
    return mul(reshape(a, -1, 1), reshape(b, 1, -1))


ger = outer


def dot(a: Tensor, b: Tensor) -> Tensor:
    """Σ a_i·b_i for 1-D tensors of equal length (PyTorch's dot neither broadcasts nor accepts matrices)."""
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise RuntimeError(f"dot: expected two 1-D tensors of equal length, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """Shift entries along ``dims`` with wrap-around; without ``dims`` the flattened tensor is rolled."""
    if dims is None:
        if isinstance(shifts, (tuple, list)):
            if len(shifts) != 1:
                raise RuntimeError(f"roll: without dims, shifts must be a single number, got {shifts}")
            shifts = shifts[0]
        return S.Roll.apply(x, shifts=int(shifts), dims=None)
    shifts = tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,)
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    return S.Roll.apply(x, shifts=tuple(int(s) for s in shifts), dims=tuple(_dim(d, x.ndim, x.shape) for d in dims))


def movedim(x: Tensor, source, destination) -> Tensor:
    """Move dimensions ``source`` to positions ``destination``; the others keep their order."""
    src = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    dst = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {src} and destination {dst} must have the same length")
    src = tuple(_dim(d, x.ndim, x.shape) for d in src)
    dst = tuple(_dim(d, x.ndim, x.shape) for d in dst)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dimension in source {src} or destination {dst}")
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return x if order == list(range(x.ndim)) else S.Permute.apply(x, dims=tuple(order))


moveaxis = movedim


def repeat_interleave(x: Tensor, repeats=None, dim: int | None = None) -> Tensor:
    """Each entry repeated ``repeats`` times (a number, or one count per entry) along ``dim``; without
    ``dim`` over the flattened tensor. The gradient sums over the copies."""
    if repeats is None:  # torch.repeat_interleave(counts): each index i repeated counts[i] times
        counts = x.array if isinstance(x, Tensor) else np.asarray(x)
        return Tensor._wrap(np.repeat(np.arange(counts.size), counts).astype(np.int64))
    if dim is None:
        x, d = reshape(x, -1), 0
    else:
        d = _dim(dim, x.ndim, x.shape)
    reps = repeats.array if isinstance(repeats, Tensor) else np.asarray(repeats)
    n = x.shape[d] if x.ndim else 1
    if reps.ndim > 1 or (reps.ndim == 1 and reps.size not in (1, n)) or reps.dtype.kind not in "iu":
        raise RuntimeError(f"repeat_interleave: repeats must be an integer or a 1-D integer tensor of length 1 or "
                           f"{n}, got shape {reps.shape} and dtype {reps.dtype}")
    if np.any(reps < 0):
        raise RuntimeError("repeat_interleave: repeats must be non-negative")
    idx = np.repeat(np.arange(n), reps.reshape(-1) if reps.ndim else int(reps))
    if x.ndim == 0:
        x = reshape(x, 1)
    return x[(slice(None),) * d + (idx,)]


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation (``'ij,jk->ik'``, implicit outputs such as ``'ij,jk'``, and ``...``); differentiable in
    every operand. A label may appear only once within one operand (no diagonals)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops = [o if isinstance(o, Tensor) else Tensor(o) for o in operands]
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(ops):
        raise RuntimeError(f"einsum: the equation {equation!r} names {len(inputs)} operands, got {len(ops)}")
    # expand '...' into unused letters, aligned on the right as in broadcasting
    used = set(eq) - {".", ",", "-", ">"}
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in used]
    n_ell = 0
    for s, t in zip(inputs, ops):
        if "..." in s:
            n_ell = _b.max(n_ell, t.ndim - (len(s) - 3))
    ell = "".join(free[:n_ell])
    shapes = {}
    for k, (s, t) in enumerate(zip(inputs, ops)):
        if "..." in s:
            n = t.ndim - (len(s) - 3)
            if n < 0:
                raise RuntimeError(f"einsum: operand {k} has shape {t.shape}, fewer dimensions than {s!r} names")
            s = s.replace("...", ell[n_ell - n:])
            inputs[k] = s
        if not s.isalpha() and s:
            raise RuntimeError(f"einsum: invalid subscripts {s!r} in {equation!r} (letters and '...' only)")
        if len(s) != t.ndim:
            raise RuntimeError(f"einsum: operand {k} has shape {t.shape} ({t.ndim} dimensions) but subscripts {s!r} "
                               f"name {len(s)}")
        if len(set(s)) != len(s):
            raise RuntimeError(f"einsum: the label repeated within {s!r} (a diagonal) is not supported")
        for c, size in zip(s, t.shape):
            if shapes.setdefault(c, size) != size:
                raise RuntimeError(f"einsum: label {c!r} has size {shapes[c]} in one operand and {size} in another "
                                   f"(shapes {[o.shape for o in ops]})")
    if arrow:
        out = out.replace("...", ell)
        missing = set(out) - set(shapes)
        if missing or len(set(out)) != len(out):
            raise RuntimeError(f"einsum: output subscripts {out!r} must be distinct labels of the inputs")
    else:  # implicit: the labels seen exactly once, in alphabetical order (the ellipsis first)
        counts = {}
        for s in inputs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(c for c in _b.sorted(counts) if counts[c] == 1 and c not in ell)
    dtypes = {o.array.dtype for o in ops}
    if len(dtypes) > 1:
        ops = _common_dtype(ops)
    return Ar.Einsum.apply(*ops, inputs=tuple(inputs), output=out)


# ----------------------------------------------------------------------------- in-place unary methods


def _inplace_unary(fn, name: str):
    """``x.exp_()`` and friends: the out-of-place op on the values, written back. Not recorded in the graph, so
    they follow add_'s rule (refused on tensors the graph tracks unless under no_grad)."""

    def method(self, *args, **kwargs):
        self._check_inplace(name)
        result = fn(Tensor._wrap(self.array), *args, **kwargs).array
        try:
            np.copyto(self.array, result, casting="same_kind")
        except TypeError:
            raise RuntimeError(f"{name}: the result has dtype {result.dtype}, which cannot be stored in place in a "
                               f"tensor of dtype {self.dtype}") from None
        return self

    method.__name__ = name
    return method


_INPLACE_UNARY = ("relu", "exp", "log", "abs", "sqrt", "neg", "sigmoid", "tanh", "clamp_min", "clamp_max", "pow",
                  "floor", "ceil", "round", "trunc", "frac", "sin", "cos", "reciprocal", "sign", "square", "lerp",
                  "rsqrt", "erf")


builtins_sum = _b.sum  # this module shadows sum, max, min, abs and pow with the tensor versions


# ----------------------------------------------------------------------------- Tensor methods


def _inplace(op, ufunc, symbol: str):
    """``x += y`` and friends: in place (so ``p -= lr * p.grad`` under no_grad updates the parameter), except
    when the graph must record the op: then ``x = x + y`` (ember's graph records no in-place ops)."""

    def iop(self, other):
        if _state.grad_enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            if self.requires_grad and self._ctx is None:
                raise RuntimeError(f"{symbol}: a leaf tensor that requires grad cannot be modified in place; do it "
                                   f"under ember.no_grad(), or write x = x {symbol[0]} y")
            return op(self, other)
        o = other.array if isinstance(other, Tensor) else other
        try:
            ufunc(self.array, o, out=self.array, casting="same_kind")
        except TypeError:
            od = o.dtype if isinstance(o, np.ndarray) else type(o).__name__
            raise RuntimeError(f"{symbol}: the result of {self.dtype} {symbol[0]} {od} cannot be stored in place in "
                               f"a tensor of dtype {self.dtype}") from None
        except ValueError as e:
            raise RuntimeError(f"{symbol}: cannot update a tensor of shape {self.shape} in place with an operand of "
                               f"shape {np.shape(o)}: {e}") from None
        if not getattr(self, "_unwatched", False):
            note_inplace((self.array,), f"x {symbol} y")
        return self

    iop.__name__ = f"__i{op.__name__}__"
    return iop


def with_out(op):
    """``op`` as a ``torch.*`` function taking PyTorch's ``out=`` (``torch.matmul(a, b, out=y)``): the result is
    written into ``out`` (resized when its shape differs, as PyTorch does) and ``out`` is returned. Like
    PyTorch's, ``out=`` records no graph, so it is refused when an argument requires grad. Tensor operators
    keep the plain op, so arithmetic pays nothing for it."""
    import functools
    import warnings

    @functools.wraps(op)
    def fn(*args, out=None, **kwargs):
        result = op(*args, **kwargs)
        if out is None:
            return result
        if result.requires_grad or out.requires_grad:
            raise RuntimeError(f"{op.__name__}(): functions with out=... arguments don't support automatic "
                               "differentiation, but one of the arguments requires grad")
        if not np.can_cast(result.array.dtype, out.array.dtype, casting="same_kind"):
            raise RuntimeError(f"{op.__name__}(): result type {result.array.dtype} can't be cast "
                               f"to the desired output type {out.array.dtype}")
        if out.array.shape == result.array.shape:
            np.copyto(out.array, result.array, casting="same_kind")
            note_inplace((out.array,), f"{op.__name__}(out=...)")
        else:
            if out.array.size:
                warnings.warn(f"{op.__name__}(): an output with one or more elements was resized since it had "
                              f"shape {list(out.array.shape)}, which does not match the required output shape "
                              f"{list(result.array.shape)}", UserWarning, stacklevel=2)
            out.array = result.array.astype(out.array.dtype)
        return out

    return fn


def _install() -> None:
    T = Tensor

    def r(fn):
        return lambda self, other: fn(other, self)

    T.__add__ = add
    T.__radd__ = r(add)
    T.__sub__ = sub
    T.__rsub__ = r(sub)
    T.__mul__ = mul
    T.__rmul__ = r(mul)
    T.__truediv__ = div
    T.__rtruediv__ = r(div)
    T.__pow__ = pow
    T.__rpow__ = r(pow)
    T.__matmul__ = matmul
    T.__rmatmul__ = lambda self, other: matmul(Tensor(other), self)
    T.__neg__ = neg
    T.__pos__ = lambda self: self
    T.__abs__ = abs
    T.__getitem__ = getitem
    T.__eq__ = eq
    T.__ne__ = ne
    T.__lt__ = lt
    T.__le__ = le
    T.__gt__ = gt
    T.__ge__ = ge
    T.__invert__ = lambda self: Tensor._wrap(~self.array)
    T.__and__ = lambda self, o: Tensor._wrap(self.array & (o.array if isinstance(o, Tensor) else o))
    T.__or__ = lambda self, o: Tensor._wrap(self.array | (o.array if isinstance(o, Tensor) else o))
    T.__xor__ = lambda self, o: Tensor._wrap(self.array ^ (o.array if isinstance(o, Tensor) else o))
    T.__iadd__ = _inplace(add, np.add, "+=")
    T.__isub__ = _inplace(sub, np.subtract, "-=")
    T.__imul__ = _inplace(mul, np.multiply, "*=")
    T.__itruediv__ = _inplace(div, np.true_divide, "/=")
    T.__floordiv__ = lambda self, o: Tensor._wrap(self.array // (o.array if isinstance(o, Tensor) else o))
    T.__mod__ = lambda self, o: Tensor._wrap(self.array % (o.array if isinstance(o, Tensor) else o))
    for name in ("add", "sub", "mul", "div", "matmul", "mm", "bmm", "maximum", "minimum", "pow", "exp", "log",
                 "sqrt", "rsqrt", "abs", "sign", "neg", "square", "log1p", "expm1", "clamp", "clip", "sum", "mean",
                 "max", "min", "amax", "amin", "var", "std", "logsumexp", "prod", "argmax", "argmin", "topk",
                 "gather", "reshape", "flatten", "permute", "transpose", "expand", "squeeze", "unsqueeze",
                 "split", "chunk", "flip", "repeat", "sigmoid", "tanh", "relu", "softmax", "log_softmax",
                 "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite", "t", "index_select",
                 "masked_fill", "unbind", "narrow",
                 "sin", "cos", "tan", "erf", "log2", "log10", "reciprocal", "atan2", "arctan2", "floor", "ceil",
                 "round", "trunc", "fix", "frac", "clamp_min", "clamp_max", "lerp", "logical_and", "logical_or",
                 "logical_xor", "logical_not", "isclose", "cumsum", "cumprod", "median", "count_nonzero", "aminmax",
                 "sort", "argsort", "nonzero", "argwhere", "unique", "masked_select", "scatter", "scatter_add",
                 "take", "tril", "triu", "diag", "outer", "ger", "dot", "roll", "movedim", "moveaxis",
                 "repeat_interleave"):
        setattr(T, name, globals()[name])
    for name in _INPLACE_UNARY:
        setattr(T, name + "_", _inplace_unary(globals()[name], name + "_"))
    T.scatter_ = _scatter_
    T.scatter_add_ = _scatter_add_
    T.absolute, T.negative = abs, neg
    T.view = reshape
    T.swapaxes = T.swapdims = transpose
    T.masked_fill_ = _masked_fill_
    T.where = lambda self, condition, other: where(condition, self, other)
    T.view_as = lambda self, other: reshape(self, other.shape)
    T.reshape_as = T.view_as
    T.expand_as = lambda self, other: expand(self, other.shape)
    T.T = property(lambda self: permute(self, tuple(reversed(range(self.ndim)))))
    T.mT = property(lambda self: transpose(self, -2, -1))
    T.subtract, T.multiply, T.divide = sub, mul, div
    T.any = lambda self, dim=None, keepdim=False: Tensor._wrap(np.asarray(np.any(self.array, dim, keepdims=keepdim)))
    T.all = lambda self, dim=None, keepdim=False: Tensor._wrap(np.asarray(np.all(self.array, dim, keepdims=keepdim)))
    T.norm = lambda self, p=2, dim=None, keepdim=False: (
        sqrt(sum(self * self, dim=dim, keepdim=keepdim)) if p == 2
        else sum(abs(self) ** p, dim=dim, keepdim=keepdim) ** (1.0 / p)
    )


_install()
