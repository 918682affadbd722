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
from ember.tensor import Tensor

# ----------------------------------------------------------------------------- helpers


def _operand(x, like: Tensor):
    """Python and NumPy scalars become Python scalars (so NumPy keeps the tensor's dtype);
    arrays take the tensor's float dtype."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.generic):  # a NumPy scalar would impose its own precision (float64): make it a Python one
        return x.item()
    if isinstance(x, (bool, Number)):
        return x
    arr = np.asarray(x)
    if arr.dtype.kind == "f" or (like.dtype.kind == "f" and arr.dtype.kind in "iub"):
        arr = arr.astype(like.dtype)
    return Tensor._wrap(arr)


def _shape_of(x) -> tuple:
    return x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)


def _binary(fn):
    name = fn.__name__.lower()

    def op(a, b):
        if isinstance(a, Tensor):
            a, b = a, _operand(b, a)
        elif isinstance(b, Tensor):
            a, b = _operand(a, b), b
        else:
            a, b = Tensor(a), Tensor(b)
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
def exp(x): return Ar.Exp.apply(x)
def log(x): return Ar.Log.apply(x)
def sqrt(x): return Ar.Sqrt.apply(x)
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
    min = min.data if isinstance(min, Tensor) else min  # noqa: A001
    max = max.data if isinstance(max, Tensor) else max  # noqa: A001
    return Ar.Clamp.apply(x, lo=min, hi=max)


clip = clamp


def where(condition, x, y) -> Tensor:
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    ref = x if isinstance(x, Tensor) else y if isinstance(y, Tensor) else None
    if ref is None:
        return Tensor(np.where(cond, x, y))
    return Ar.Where.apply(cond.astype(bool), _operand(x, ref), _operand(y, ref))


# ----------------------------------------------------------------------------- reductions


def sum(x: Tensor, dim=None, keepdim: bool = False, dtype=None) -> Tensor:  # noqa: A001
    if x.dtype.kind in "biu":  # integer sums like PyTorch: int64, no graph
        total = np.sum(x.data, axis=R.normalize_dims(dim, x.ndim), keepdims=keepdim)
        return Tensor._wrap(np.asarray(total, dtype=np.int64))
    return R.Sum.apply(x, dim=dim, keepdim=keepdim)


def mean(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
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
    d = x.data
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmax(d), dtype=np.int64))
    return Tensor._wrap(np.argmax(d, axis=dim, keepdims=keepdim).astype(np.int64))


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    d = x.data
    if dim is None:
        return Tensor._wrap(np.asarray(np.argmin(d), dtype=np.int64))
    return Tensor._wrap(np.argmin(d, axis=dim, keepdims=keepdim).astype(np.int64))


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    order = np.argsort(-x.data if largest else x.data, axis=dim, kind="stable")
    idx = np.take(order, np.arange(k), axis=dim)
    vals = gather(x, dim, Tensor._wrap(idx.astype(np.int64)))
    return _ValuesIndices((vals, Tensor._wrap(idx.astype(np.int64))))


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j] = x[i][index[i][j]] along ``dim`` (via advanced indexing, so backward scatter-adds)."""
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    dim = _dim(dim, x.ndim)
    if idx.ndim != x.ndim:
        raise RuntimeError(f"gather: index of shape {idx.shape} must have as many dimensions as the input {x.shape}")
    grids = list(np.indices(idx.shape, sparse=True))
    grids[dim] = idx
    return x[tuple(grids)]


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


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in tensors]
    if tensors:
        dim = _dim(dim, tensors[0].ndim)
    return S.Cat.apply(*tensors, dim=dim)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    tensors = [x if isinstance(x, Tensor) else Tensor(x) for x in tensors]
    if not tensors:
        raise ValueError("stack expects a non-empty sequence of tensors")
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


def sigmoid(x): return A.Sigmoid.apply(x)
def tanh(x): return A.Tanh.apply(x)
def relu(x): return A.ReLU.apply(x)
def silu(x): return A.SiLU.apply(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return A.Softmax.apply(x, dim=_dim(dim, x.ndim))


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return A.LogSoftmax.apply(x, dim=_dim(dim, x.ndim))


# ----------------------------------------------------------------------------- comparisons (no gradient)


def _compare(fn):
    def op(a, b):
        bd = b.data if isinstance(b, Tensor) else b
        ad = a.data if isinstance(a, Tensor) else a
        return Tensor._wrap(np.asarray(fn(ad, bd)))

    return op


eq = _compare(np.equal)
ne = _compare(np.not_equal)
lt = _compare(np.less)
le = _compare(np.less_equal)
gt = _compare(np.greater)
ge = _compare(np.greater_equal)


def isnan(x): return Tensor._wrap(np.isnan(x.data))
def isinf(x): return Tensor._wrap(np.isinf(x.data))
def isfinite(x): return Tensor._wrap(np.isfinite(x.data))


def allclose(a, b, rtol=1e-5, atol=1e-8) -> bool:
    return bool(np.allclose(np.asarray(a.data if isinstance(a, Tensor) else a),
                            np.asarray(b.data if isinstance(b, Tensor) else b), rtol=rtol, atol=atol))


def equal(a, b) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.data, b.data))


builtins_sum = _b.sum  # this module shadows sum, max, min, abs and pow with the tensor versions


# ----------------------------------------------------------------------------- Tensor methods


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
    T.__invert__ = lambda self: Tensor._wrap(~self.data)
    T.__and__ = lambda self, o: Tensor._wrap(self.data & (o.data if isinstance(o, Tensor) else o))
    T.__or__ = lambda self, o: Tensor._wrap(self.data | (o.data if isinstance(o, Tensor) else o))
    T.__floordiv__ = lambda self, o: Tensor._wrap(self.data // (o.data if isinstance(o, Tensor) else o))
    T.__mod__ = lambda self, o: Tensor._wrap(self.data % (o.data if isinstance(o, Tensor) else o))
    for name in ("add", "sub", "mul", "div", "matmul", "mm", "bmm", "maximum", "minimum", "pow", "exp", "log",
                 "sqrt", "rsqrt", "abs", "sign", "neg", "square", "log1p", "expm1", "clamp", "clip", "sum", "mean",
                 "max", "min", "amax", "amin", "var", "std", "logsumexp", "prod", "argmax", "argmin", "topk",
                 "gather", "reshape", "flatten", "permute", "transpose", "expand", "squeeze", "unsqueeze",
                 "split", "chunk", "flip", "repeat", "sigmoid", "tanh", "relu", "softmax", "log_softmax",
                 "eq", "ne", "lt", "le", "gt", "ge", "isnan", "isinf", "isfinite", "t"):
        setattr(T, name, globals()[name])
    T.view = reshape
    T.view_as = lambda self, other: reshape(self, other.shape)
    T.reshape_as = T.view_as
    T.expand_as = lambda self, other: expand(self, other.shape)
    T.T = property(lambda self: permute(self, tuple(reversed(range(self.ndim)))))
    T.mT = property(lambda self: transpose(self, -2, -1))
    T.subtract, T.multiply, T.divide = sub, mul, div
    T.any = lambda self, dim=None, keepdim=False: Tensor._wrap(np.asarray(np.any(self.data, dim, keepdims=keepdim)))
    T.all = lambda self, dim=None, keepdim=False: Tensor._wrap(np.asarray(np.all(self.data, dim, keepdims=keepdim)))
    T.norm = lambda self, p=2, dim=None, keepdim=False: (
        sqrt(sum(self * self, dim=dim, keepdim=keepdim)) if p == 2
        else sum(abs(self) ** p, dim=dim, keepdim=keepdim) ** (1.0 / p)
    )


_install()
