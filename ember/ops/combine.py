"""Combining and rearranging tensors, PyTorch's names: differences (``diff``), rotations (``rot90``), stacking
(``hstack``, ``vstack``/``row_stack``, ``dstack``, ``column_stack``), ``tile``, products (``cross``, ``kron``,
``tensordot``, ``mv``, ``addmm``, ``addmv``, ``addbmm``, ``baddbmm``), ``block_diag``, ``cartesian_prod``,
``combinations``, ``trace``, and the Tensor's ``adjoint()``, ``.H``, ``.mH`` and ``unfold``.

Almost everything is a composition of ember's differentiable ops (cat, pad, reshape, permute, matmul, roll,
indexing), so autograd gives the gradients. ``Tensor.unfold`` is its own :class:`Function`: the windows are a
strided view of the input, and the backward adds each window's gradient back where it came from.

ember has no complex dtypes, so the adjoint (conjugate transpose) is the transpose.
"""
from __future__ import annotations

import itertools
import warnings
from numbers import Integral, Number
from typing import Sequence

import numpy as np

from ember import dtypes as _dt
from ember.ops import api as E
from ember.ops.api import _CATEGORY, _dim
from ember.ops.sampling import _int_arg, _tensor_arg
from ember.tensor import Function, Tensor

__all__ = ["diff", "rot90", "hstack", "vstack", "row_stack", "dstack", "column_stack", "tile", "cross", "kron",
           "block_diag", "cartesian_prod", "combinations", "tensordot", "addmm", "addmv", "addbmm", "baddbmm", "mv",
           "trace", "adjoint"]


# ----------------------------------------------------------------------------- argument checks


def _ints_arg(v, fn: str, name: str) -> tuple:
    if isinstance(v, Tensor) or not isinstance(v, (tuple, list)):
        raise TypeError(f"{fn}(): argument '{name}' must be a tuple of ints, not {type(v).__name__}")
    return tuple(_int_arg(i, fn, name) for i in v)


def _tensor_list(tensors, fn: str) -> list:
    """A non-empty tuple or list of tensors (PyTorch's TensorList)."""
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{fn}(): argument 'tensors' must be a tuple of Tensors, not {type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn}(): expected Tensor as element {i} in argument 'tensors', but got "
                            f"{type(t).__name__}")
    if not tensors:
        raise RuntimeError(f"{fn} expects a non-empty TensorList")
    return list(tensors)


def _result_type(tensors: Sequence[Tensor]) -> np.dtype:
    """PyTorch's result_type over many tensors: 0-d tensors decide only when their category (bool < integer <
    floating) is higher than that of the others (a float64 scalar next to float32 blocks gives float32)."""
    def widest(dtypes):
        out = None
        for d in dtypes:
            if out is None:
                out = d
                continue
            co, cd = _CATEGORY.get(out.kind, 3), _CATEGORY.get(d.kind, 3)
            out = out if co > cd else d if cd > co else np.promote_types(out, d)
        return out

    dims = widest(t.dtype for t in tensors if t.ndim)
    zeros = widest(t.dtype for t in tensors if not t.ndim)
    if dims is None or zeros is None:
        return dims if zeros is None else zeros
    return zeros if _CATEGORY.get(zeros.kind, 3) > _CATEGORY.get(dims.kind, 3) else dims


def _same_dtype(fn: str, **tensors: Tensor) -> None:
    dtypes = {t.dtype for t in tensors.values()}
    if len(dtypes) > 1:
        got = ", ".join(f"{name} {t.dtype}" for name, t in tensors.items())
        raise RuntimeError(f"{fn}: expected all inputs to have the same dtype, got {got}")


# ----------------------------------------------------------------------------- diff, rot90


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim``: out[i] = x[i + 1] − x[i], applied ``n`` times, after
    ``prepend`` and ``append`` (same number of dimensions, same sizes off ``dim``) are concatenated to the
    input. Bool tensors differ by logical xor, as in PyTorch. ``n`` past the length gives an empty dimension."""
    input = _tensor_arg(input, "diff")
    n = _int_arg(n, "diff", "n")
    if input.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional, got a 0-d tensor")
    if n < 0:
        raise RuntimeError(f"diff: order must be non-negative but got {n}")
    d = _dim(dim, input.ndim, input.shape)
    parts = [input]
    for name, extra in (("prepend", prepend), ("append", append)):
        if extra is None:
            continue
        extra = _tensor_arg(extra, "diff", name)
        if extra.ndim != input.ndim:
            raise RuntimeError(f"diff expects prepend or append to be the same dimension as input: input has shape "
                               f"{tuple(input.shape)}, {name} has shape {tuple(extra.shape)}")
        if any(a != b for i, (a, b) in enumerate(zip(input.shape, extra.shape)) if i != d):
            raise RuntimeError(f"diff expects the shape of the tensor to {name} to match that of input except along "
                               f"the differencing dimension {d}: input has shape {tuple(input.shape)}, {name} has "
                               f"shape {tuple(extra.shape)}")
        parts.insert(0 if name == "prepend" else len(parts), extra)
    x = E.cat(parts, d) if len(parts) > 1 else input
    lead = (slice(None),) * d
    for _ in range(n):
        hi, lo = x[lead + (slice(1, None),)], x[lead + (slice(None, -1),)]
        x = E.logical_xor(hi, lo) if x.dtype == np.bool_ else E.sub(hi, lo)
    return x


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """``input`` rotated by 90° ``k`` times in the plane of ``dims``, from the first axis towards the second
    (negative ``k`` turns the other way): a flip and a transpose."""
    input = _tensor_arg(input, "rot90")
    k = _int_arg(k, "rot90", "k")
    dims = _ints_arg(dims, "rot90", "dims")
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)} ({dims})")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim} (shape "
                           f"{tuple(input.shape)})")
    d0, d1 = (_dim(d, input.ndim, input.shape) for d in dims)
    if d0 == d1:
        raise RuntimeError(f"rot90: expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = "
                           f"{dims[1]}")
    k %= 4
    if k == 1:
        return E.transpose(E.flip(input, d1), d0, d1)
    if k == 2:
        return E.flip(input, (d0, d1))
    if k == 3:
        return E.transpose(E.flip(input, d0), d0, d1)
    return input.clone()


# ----------------------------------------------------------------------------- stacking


def _atleast(t: Tensor, nd: int) -> Tensor:
    """NumPy's atleast_1d/2d/3d: a scalar becomes (1,)…, a vector (1, n) or (1, n, 1), a matrix (m, n, 1)."""
    if t.ndim >= nd:
        return t
    if t.ndim == 0:
        return E.reshape(t, (1,) * nd)
    if t.ndim == 1:
        return E.reshape(t, (1, t.shape[0], 1)[:nd])
    return E.reshape(t, t.shape + (1,))


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along the columns: dim 1, or dim 0 when the tensors are 1-D (0-d ones count as 1-D)."""
    ts = [_atleast(t, 1) for t in _tensor_list(tensors, "hstack")]
    return E.cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along the rows (dim 0), 0-d and 1-D tensors first made rows (1, n)."""
    return E.cat([_atleast(t, 2) for t in _tensor_list(tensors, "vstack")], 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along the depth (dim 2), tensors first made at least 3-D: (n,) → (1, n, 1),
    (m, n) → (m, n, 1)."""
    return E.cat([_atleast(t, 3) for t in _tensor_list(tensors, "dstack")], 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenate along dim 1, 0-d and 1-D tensors first made columns (n, 1)."""
    ts = _tensor_list(tensors, "column_stack")
    return E.cat([E.reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in ts], 1)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """``input`` repeated ``dims[i]`` times along each dimension; fewer dims than the input has are padded with
    1s in front, more add leading dimensions (``Tensor.repeat`` then). The gradient sums over the copies."""
    input = _tensor_arg(input, "tile")
    dims = _ints_arg(dims, "tile", "dims")
    if any(r < 0 for r in dims):
        raise RuntimeError(f"tile: dims must be non-negative, got {dims}")
    reps = (1,) * (input.ndim - len(dims)) + dims
    return E.repeat(input, reps)


def _tile_method(self: Tensor, *dims) -> Tensor:
    """``x.tile(2, 3)`` or ``x.tile((2, 3))``."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    return tile(self, tuple(dims))


# ----------------------------------------------------------------------------- products


def cross(input: Tensor, other: Tensor, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the other dimensions broadcast):
    c_i = a_{i+1}·b_{i+2} − a_{i+2}·b_{i+1}, indices mod 3. Without ``dim``, the first dimension of ``input`` of
    size 3, with PyTorch's deprecation warning."""
    input, other = _tensor_arg(input, "cross"), _tensor_arg(other, "cross", "other")
    if input.dtype == np.bool_ or other.dtype == np.bool_:
        raise NotImplementedError("cross is not implemented for bool tensors")
    _same_dtype("cross", input=input, other=other)
    if input.ndim != other.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions, got shapes "
                           f"{tuple(input.shape)} and {tuple(other.shape)}")
    if dim is None:
        warnings.warn("Using cross without specifying the dim arg is deprecated; pass dim explicitly (it defaults "
                      "to the first dimension of size 3, which might be unexpected).", UserWarning, stacklevel=2)
        threes = [i for i, s in enumerate(input.shape) if s == 3]
        if not threes:
            raise RuntimeError(f"cross: no dimension of size 3 in input of shape {tuple(input.shape)}")
        dim = threes[0]
    d = _dim(dim, input.ndim, input.shape)
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input.shape[d]} and "
                           f"{other.shape[d]} (shapes {tuple(input.shape)} and {tuple(other.shape)})")
    try:
        np.broadcast_shapes(input.shape, other.shape)
    except ValueError:
        raise RuntimeError(f"linalg.cross: shapes {tuple(input.shape)} and {tuple(other.shape)} cannot be "
                           "broadcast together") from None
    a1, a2 = E.roll(input, -1, d), E.roll(input, -2, d)  # a1[i] = a[i+1], a2[i] = a[i+2]
    b1, b2 = E.roll(other, -1, d), E.roll(other, -2, d)
    return E.sub(E.mul(a1, b2), E.mul(a2, b1))


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product: out[i·m + j] = a[i]·b[j] in every dimension (the shorter shape padded with 1s in
    front), as a broadcast product of (a0, 1, a1, 1, …) and (1, b0, 1, b1, …) reshaped."""
    a, b = _tensor_arg(input, "kron"), _tensor_arg(other, "kron", "other")
    nd = max(a.ndim, b.ndim)
    sa = (1,) * (nd - a.ndim) + tuple(a.shape)
    sb = (1,) * (nd - b.ndim) + tuple(b.shape)
    a2 = E.reshape(a, tuple(v for s in sa for v in (s, 1)))
    b2 = E.reshape(b, tuple(v for s in sb for v in (1, s)))
    return E.reshape(E.mul(a2, b2), tuple(x * y for x, y in zip(sa, sb)))


def _dims_lists(dims, a: Tensor, b: Tensor) -> tuple:
    """tensordot's ``dims`` as two lists of non-negative axes."""
    if isinstance(dims, Tensor):
        dims = dims.item() if dims.numel() == 1 else dims.tolist()
    if isinstance(dims, Integral) and not isinstance(dims, bool):
        dims = int(dims)
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims <= ndim_a and ndim_b, but got dims={dims} for shapes "
                               f"{tuple(a.shape)} and {tuple(b.shape)}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    elif isinstance(dims, (tuple, list)) and len(dims) == 2:
        da, db = (list(_ints_arg(d, "tensordot", "dims")) for d in dims)
    else:
        raise RuntimeError(f"tensordot expects dims to be int or tuple[list[int], list[int]] or list[list[int]] "
                           f"containing two lists, but got dims={dims!r}")
    if len(da) != len(db):
        raise RuntimeError(f"tensordot: both dimension lists should have same length, got {da} and {db}")
    da = [_dim(d, a.ndim, a.shape) for d in da]
    db = [_dim(d, b.ndim, b.shape) for d in db]
    for ds in (da, db):
        if len(set(ds)) != len(ds):
            repeated = next(d for d in ds if ds.count(d) > 1)
            raise RuntimeError(f"tensordot: dim {repeated} appears multiple times in the list of dims {ds}")
    return da, db


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Σ over paired dimensions: ``dims`` an int (the last ``dims`` of ``a`` with the first ``dims`` of ``b``), or
    two lists of dimensions ``([a's], [b's])``. The result has a's free dimensions, then b's. A contracted
    dimension of size 1 on one side broadcasts (the other side is summed over it), as in PyTorch. One matmul of
    the permuted, flattened operands."""
    a, b = _tensor_arg(a, "tensordot", "a"), _tensor_arg(b, "tensordot", "b")
    da, db = _dims_lists(dims, a, b)
    if a.dtype != b.dtype:
        raise RuntimeError(f"tensordot: both inputs should have same dtype, got {a.dtype} and {b.dtype}")
    for i, j in zip(da, db):
        s1, s2 = a.shape[i], b.shape[j]
        if s2 == 1:
            if s1 != 1:
                a = E.sum(a, dim=i, keepdim=True, dtype=a.dtype)
        elif s1 == 1:
            b = E.sum(b, dim=j, keepdim=True, dtype=b.dtype)
        elif s1 != s2:
            raise RuntimeError(f"tensordot: contracted dimensions need to match, but first has size {s1} in dim {i} "
                               f"and second has size {s2} in dim {j} (shapes {tuple(a.shape)} and "
                               f"{tuple(b.shape)})")
    fa = [i for i in range(a.ndim) if i not in da]
    fb = [j for j in range(b.ndim) if j not in db]
    out_shape = tuple(a.shape[i] for i in fa) + tuple(b.shape[j] for j in fb)
    k = int(np.prod([a.shape[i] for i in da]))
    a2 = E.reshape(E.permute(a, tuple(fa + da)), (-1 if k else int(np.prod(out_shape[:len(fa)])), k))
    b2 = E.reshape(E.permute(b, tuple(db + fb)), (k, -1 if k else int(np.prod(out_shape[len(fa):]))))
    return E.reshape(E.matmul(a2, b2), out_shape)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """The matrix-vector product of a 2-D ``input`` (n, m) and a 1-D ``vec`` (m,): shape (n,)."""
    input, vec = _tensor_arg(input, "mv"), _tensor_arg(vec, "mv", "vec")
    _check_mv("mv", input, vec)
    return E.matmul(input, vec)


def _check_mv(fn: str, mat: Tensor, vec: Tensor) -> None:
    if mat.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"{fn}: expected a matrix and a vector, got shapes {tuple(mat.shape)} and "
                           f"{tuple(vec.shape)}")
    if mat.shape[1] != vec.shape[0]:
        raise RuntimeError(f"{fn}: size mismatch, mat ({mat.shape[0]}x{mat.shape[1]}) and vec ({vec.shape[0]}) "
                           "cannot be multiplied")
    _same_dtype(fn, mat=mat, vec=vec)


def _coefficients(fn: str, dtype: np.dtype, beta, alpha) -> tuple:
    out = []
    for name, v in (("beta", beta), ("alpha", alpha)):
        if isinstance(v, Tensor) and v.ndim == 0:
            v = v.item()
        if not isinstance(v, Number):
            raise TypeError(f"{fn}(): argument '{name}' must be a number, not {type(v).__name__}")
        out.append(int(v) if dtype.kind in "biu" else v)  # integer tensors: PyTorch truncates 0.5 to 0
    return tuple(out)


def _add_scaled(fn: str, input: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """β·input + α·product, ``input`` broadcast to the product's shape. β = 0 ignores input's values (NaN and inf
    in it do not propagate) but still gives it a (zero) gradient, as PyTorch."""
    shape = tuple(product.shape)
    try:
        ok = input.ndim <= len(shape) and np.broadcast_shapes(input.shape, shape) == shape
    except ValueError:
        ok = False
    if not ok:
        raise RuntimeError(f"{fn}: input of shape {tuple(input.shape)} cannot be broadcast to the shape of the "
                           f"product, {shape}")
    beta, alpha = _coefficients(fn, input.dtype, beta, alpha)
    out = product if alpha == 1 else E.mul(product, alpha)
    if beta == 0:
        if input.requires_grad:  # zeros in place of input's values, with a zero gradient back to it
            out = E.add(out, E.masked_fill(input, np.ones((), np.bool_), 0))
        return out
    return E.add(input if beta == 1 else E.mul(input, beta), out)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Number = 1, alpha: Number = 1) -> Tensor:
    """β·input + α·(mat1 @ mat2): mat1 (n, m), mat2 (m, p), input broadcast to (n, p). With β = 0 input is
    ignored (NaN in it does not propagate)."""
    input = _tensor_arg(input, "addmm")
    mat1, mat2 = _tensor_arg(mat1, "addmm", "mat1"), _tensor_arg(mat2, "addmm", "mat2")
    for name, m in (("mat1", mat1), ("mat2", mat2)):
        if m.ndim != 2:
            raise RuntimeError(f"addmm: {name} must be a matrix, got a {m.ndim}-D tensor of shape {tuple(m.shape)}")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"addmm: mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    _same_dtype("addmm", input=input, mat1=mat1, mat2=mat2)
    return _add_scaled("addmm", input, E.matmul(mat1, mat2), beta, alpha)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Number = 1, alpha: Number = 1) -> Tensor:
    """β·input + α·(mat @ vec): mat (n, m), vec (m,), input (0-d or 1-D) broadcast to (n,)."""
    input = _tensor_arg(input, "addmv")
    mat, vec = _tensor_arg(mat, "addmv", "mat"), _tensor_arg(vec, "addmv", "vec")
    if input.ndim > 1:
        raise RuntimeError(f"addmv: input must be 0-d or 1-D, got shape {tuple(input.shape)}")
    _check_mv("addmv", mat, vec)
    _same_dtype("addmv", input=input, mat=mat, vec=vec)
    return _add_scaled("addmv", input, E.matmul(mat, vec), beta, alpha)


def _check_batches(fn: str, batch1: Tensor, batch2: Tensor) -> None:
    for name, m in (("batch1", batch1), ("batch2", batch2)):
        if m.ndim != 3:
            raise RuntimeError(f"{fn}: {name} must be a 3-D tensor, got shape {tuple(m.shape)}")
    if batch1.shape[0] != batch2.shape[0]:
        raise RuntimeError(f"{fn}: batch1 and batch2 must have same number of batches, got {batch1.shape[0]} and "
                           f"{batch2.shape[0]}")
    if batch1.shape[2] != batch2.shape[1]:
        raise RuntimeError(f"{fn}: incompatible matrix sizes ({batch1.shape[1]}x{batch1.shape[2]} and "
                           f"{batch2.shape[1]}x{batch2.shape[2]}; shapes {tuple(batch1.shape)} and "
                           f"{tuple(batch2.shape)})")


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Number = 1, alpha: Number = 1) -> Tensor:
    """β·input + α·Σ_b batch1[b] @ batch2[b]: batch1 (B, n, m), batch2 (B, m, p), input broadcast to (n, p).
    The sum over b is one matmul: (n, B·m) @ (B·m, p)."""
    input = _tensor_arg(input, "addbmm")
    batch1, batch2 = _tensor_arg(batch1, "addbmm", "batch1"), _tensor_arg(batch2, "addbmm", "batch2")
    _check_batches("addbmm", batch1, batch2)
    _same_dtype("addbmm", input=input, batch1=batch1, batch2=batch2)
    nb, n, m = batch1.shape
    left = E.reshape(E.permute(batch1, (1, 0, 2)), (n, nb * m))
    right = E.reshape(batch2, (nb * m, batch2.shape[2]))
    return _add_scaled("addbmm", input, E.matmul(left, right), beta, alpha)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Number = 1, alpha: Number = 1) -> Tensor:
    """β·input + α·(batch1 @ batch2) per batch: batch1 (B, n, m), batch2 (B, m, p), input broadcast to (B, n, p)."""
    input = _tensor_arg(input, "baddbmm")
    batch1, batch2 = _tensor_arg(batch1, "baddbmm", "batch1"), _tensor_arg(batch2, "baddbmm", "batch2")
    _check_batches("baddbmm", batch1, batch2)
    _same_dtype("baddbmm", input=input, batch1=batch1, batch2=batch2)
    return _add_scaled("baddbmm", input, E.matmul(batch1, batch2), beta, alpha)


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor (any rectangle); integer inputs sum to int64."""
    input = _tensor_arg(input, "trace")
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got a tensor with dim {input.ndim} (shape "
                           f"{tuple(input.shape)})")
    if input.dtype == np.bool_:
        raise NotImplementedError("trace is not implemented for bool tensors")
    return E.sum(E.diag(input))


# ----------------------------------------------------------------------------- building from pieces


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors as blocks down the diagonal of one matrix, zeros elsewhere; a 0-d tensor is a 1×1 block and a
    1-D one a row. dtypes are promoted as by ``cat``. No tensors give an empty (1, 0) matrix."""
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"block_diag(): expected Tensor as element {i}, but got {type(t).__name__}")
        if t.ndim > 2:
            raise RuntimeError(f"block_diag: input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions (shape {tuple(t.shape)})")
    if not tensors:
        return Tensor._wrap(np.zeros((1, 0), _dt.get_default_dtype()))
    dtype = _result_type(tensors)
    blocks = [E.reshape(t, (1, -1) if t.ndim == 1 else (1, 1)) if t.ndim < 2 else t for t in tensors]
    blocks = [b if b.dtype == dtype else b.type(dtype) for b in blocks]
    width = sum(b.shape[1] for b in blocks)
    rows, col = [], 0
    for b in blocks:
        rows.append(E.pad(b, (col, width - col - b.shape[1])))
        col += b.shape[1]
    return E.cat(rows, 0)


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every combination of one entry from each 1-D tensor, as rows (in the order of nested loops, the last
    tensor fastest): shape (Π nᵢ, k). A single tensor is returned as it is."""
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"cartesian_prod(): expected Tensor as element {i}, but got {type(t).__name__}")
        if t.ndim != 1:
            raise RuntimeError(f"cartesian_prod: expected 1-D tensors, but tensor {i} has shape {tuple(t.shape)}")
    if not tensors:
        raise RuntimeError("cartesian_prod expects a non-empty TensorList")
    if len(tensors) == 1:
        return tensors[0]
    if len({t.dtype for t in tensors}) > 1:
        raise RuntimeError(f"cartesian_prod: expects all tensors to have the same dtype, got "
                           f"{[str(t.dtype) for t in tensors]}")
    grids = E.meshgrid(*tensors, indexing="ij")
    return E.stack([E.reshape(g, -1) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of the entries of a 1-D tensor (Python's ``itertools.combinations``, or
    ``combinations_with_replacement``, in its order), as rows: shape (C, r). r = 0 gives an empty (0,) tensor.
    Gathered by indexing, so the gradient adds up over the places an entry appears."""
    input = _tensor_arg(input, "combinations")
    r = _int_arg(r, "combinations", "r")
    if input.ndim != 1:
        raise RuntimeError(f"combinations: expected a 1-D vector, but got shape {tuple(input.shape)}")
    if r < 0:
        raise RuntimeError(f"combinations: expected a non-negative r, but got {r}")
    if r == 0:
        return Tensor._wrap(np.empty((0,), input.dtype))
    n = input.shape[0]
    if r == 2:  # the common case without a Python loop: the upper triangle, row by row (the same order)
        idx = np.stack(np.triu_indices(n, 0 if with_replacement else 1), axis=1)
    else:
        gen = itertools.combinations_with_replacement if with_replacement else itertools.combinations
        idx = np.fromiter(itertools.chain.from_iterable(gen(range(n), r)), dtype=np.intp).reshape(-1, r)
    return input[idx]


# ----------------------------------------------------------------------------- adjoint, unfold


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions; ember's tensors are real, so the transpose (a view).
    0-d: the identity, with PyTorch's deprecation warning."""
    input = _tensor_arg(input, "adjoint")
    return _adjoint(input, "adjoint()")


def _adjoint(x: Tensor, what: str) -> Tensor:
    if x.ndim == 0:
        warnings.warn(f"tensor.{what} is deprecated on 0-D tensors; it is the identity there", UserWarning,
                      stacklevel=3)
        return x[...]
    if x.ndim == 1 or (what == "H" and x.ndim != 2):
        only = "matrices (2-D tensors)" if what == "H" else "matrices or batches of matrices"
        hint = "; for batches of matrices, consider using tensor.mH" if what == "H" and x.ndim > 2 else ""
        raise RuntimeError(f"tensor.{what} is only supported on {only}. Got {x.ndim}-D tensor of shape "
                           f"{tuple(x.shape)}{hint}")
    return E.transpose(x, -2, -1)


class Unfold(Function):
    """``Tensor.unfold``: windows of ``size`` entries every ``step`` along ``dim``, the window a new last
    dimension: out[..., i, ..., j] = a[..., i·step + j, ...]. The forward is a read-only strided view (no copy,
    like ``expand``). Backward adds each window's gradient back where it came from, so positions covered by
    several overlapping windows (step < size) get the sum: dL/da[..., p, ...] = Σ_{i·step + j = p} g[..., i, ..., j].
    """

    def forward(self, a, dim, size, step):
        self.shape, self.dim, self.step = a.shape, dim, step
        n = (a.shape[dim] - size) // step + 1
        shape = a.shape[:dim] + (n,) + a.shape[dim + 1:] + (size,)
        strides = a.strides[:dim] + (a.strides[dim] * step,) + a.strides[dim + 1:] + (a.strides[dim],)
        return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=False)

    def backward(self, g):
        out = np.zeros(self.shape, g.dtype)
        d, step = self.dim, self.step
        n, size = g.shape[d], g.shape[-1]
        lead = (slice(None),) * d
        if size <= n:  # one strided slice per offset j in the window: positions j, j + step, …
            for j in range(size):
                out[lead + (slice(j, j + (n - 1) * step + 1, step),)] += g[..., j]
        else:  # one slice per window i: positions i·step … i·step + size − 1
            for i in range(n):
                out[lead + (slice(i * step, i * step + size),)] += np.moveaxis(g[lead + (i,)], -1, d)
        return (out,)


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``x.unfold(dimension, size, step)``: the windows ``x[i·step : i·step + size]`` along ``dimension``, for
    every i that fits, as a new last dimension of length ``size`` (dimension's length becomes the number of
    windows). A view; differentiable, overlapping windows adding their gradients."""
    x = _tensor_arg(self, "unfold", "self")
    dimension = _int_arg(dimension, "unfold", "dimension")
    size, step = _int_arg(size, "unfold", "size"), _int_arg(step, "unfold", "step")
    d = _dim(dimension, x.ndim, x.shape)
    length = x.shape[d] if x.ndim else 1
    if size < 0:
        raise RuntimeError(f"unfold: size is {size} but must be >= 0")
    if size > length:
        raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {length} but size is {size} "
                           f"(shape {tuple(x.shape)})")
    if step <= 0:
        raise RuntimeError(f"unfold: step is {step} but must be > 0")
    if x.ndim == 0:  # a 0-d tensor unfolds to its one window, shape (size,)
        return Unfold.apply(E.reshape(x, 1), dim=0, size=size, step=step)[0]
    return Unfold.apply(x, dim=d, size=size, step=step)


# ----------------------------------------------------------------------------- Tensor methods


def _install() -> None:
    """The Tensor methods PyTorch has for these: ``x.diff()``, ``x.rot90()``, ``x.tile(…)``, ``x.cross(y)``,
    ``x.kron(y)``, ``x.addmm(…)`` and friends, ``x.mv(v)``, ``x.trace()``, ``x.adjoint()``, ``x.unfold(…)``,
    and the properties ``x.H`` (2-D only) and ``x.mH``."""
    for fn in (diff, rot90, cross, kron, addmm, addmv, addbmm, baddbmm, mv, trace, adjoint, unfold):
        setattr(Tensor, fn.__name__, fn)
    Tensor.tile = _tile_method
    Tensor.H = property(lambda self: _adjoint(self, "H"))
    Tensor.mH = property(lambda self: _adjoint(self, "mH"))


_install()
