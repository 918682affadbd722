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
from ember.tensor import Tensor, _state

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
        return self

    iop.__name__ = f"__i{op.__name__}__"
    return iop


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
                 "masked_fill", "unbind", "narrow"):
        setattr(T, name, globals()[name])
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
