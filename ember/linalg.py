"""ember.linalg: norms, inverse, determinant, linear solves and singular values (``torch.linalg``'s names).

Every function takes batches: the matrices are the last two dimensions (``A`` of shape (…, n, n)), any leading
dimensions are a batch. All are differentiable; each backward formula is in its Function's docstring. The work
is NumPy's LAPACK (float32 or float64; float16 is refused by the factorisations, as by PyTorch on the CPU).
"""
from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np

from ember import dtypes as _dt
from ember.ops import api as E
from ember.ops.distance import VectorNorm
from ember.tensor import Function, Tensor, unbroadcast

__all__ = ["LinAlgError", "norm", "vector_norm", "matrix_norm", "inv", "det", "solve", "svdvals"]


class LinAlgError(RuntimeError):
    """A matrix that the operation cannot handle, a singular one above all (``torch.linalg.LinAlgError``); a
    RuntimeError, so code catching that keeps working."""


# ----------------------------------------------------------------------------- argument checks


def _floating(x, fn: str, name: str = "A") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be a Tensor, not {type(x).__name__}")
    if x.dtype.kind != "f":
        raise RuntimeError(f"{fn}: Expected a floating point tensor as input. Got {x.dtype}")
    return x


def _with_dtype(x: Tensor, dtype, fn: str) -> Tensor:
    """``dtype=``: cast first (a differentiable cast), as PyTorch's norms do; only floating dtypes make sense."""
    if dtype is None:
        return x
    d = _dt.resolve(dtype)
    if d.kind != "f":
        raise RuntimeError(f"{fn}: dtype should be floating point, but got {d}")
    return x.type(d)


def _square(A, fn: str) -> Tensor:
    """A batch of square matrices that LAPACK can factorise (float32 or float64)."""
    A = _floating(A, fn)
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions, got shape {tuple(A.shape)}")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{fn}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    return _lapack_dtype(A, fn)


def _lapack_dtype(A: Tensor, fn: str) -> Tensor:
    if A.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{fn}: {A.dtype} is not supported (LAPACK works in float32 or float64); cast the "
                           "input with .float() or .double()")
    return A


def _dims(dim, ndim: int, fn: str) -> tuple:
    """``dim`` (None, [] = every dimension, an int or a sequence) as a tuple of distinct non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (Integral, np.integer)) and not isinstance(dim, bool) else tuple(dim)
    if not dims:
        return tuple(range(ndim))
    out = tuple(E._dim(d, ndim) for d in dims)
    for d in out:
        if out.count(d) > 1:
            raise RuntimeError(f"{fn}: dim {d} appears multiple times in the list of dims {list(dims)}")
    return out


def _singular_error(a: np.ndarray, fn: str, what: str) -> LinAlgError:
    """The error for a singular batch: which matrix (as PyTorch: "Batch element k") and, for ``inv``, which pivot
    of its LU factorisation is zero (1-based, PyTorch's "diagonal element")."""
    import scipy.linalg

    flat = a.reshape((-1,) + a.shape[-2:])
    for k, m in enumerate(flat):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lu, _ = scipy.linalg.lu_factor(m, check_finite=False)
        zero = np.flatnonzero(np.diagonal(lu) == 0)
        if zero.size or not np.all(np.isfinite(lu)):
            batch = f"(Batch element {k}): " if a.ndim > 2 else ""
            if what == "inv" and zero.size:
                return LinAlgError(f"{fn}: {batch}The diagonal element {zero[0] + 1} is zero, the inversion could "
                                   "not be completed because the input matrix is singular.")
            return LinAlgError(f"{fn}: {batch}The solver failed because the input matrix is singular.")
    return LinAlgError(f"{fn}: the input matrix is singular or not finite")


# ----------------------------------------------------------------------------- norms


class LowOrderNorm(Function):
    """‖x‖_ord for the orders :class:`VectorNorm` leaves out: ord < 1 (negative included), 0 and −∞.

    ord = 0: the number of non-zero entries, gradient 0. ord = −∞: min |x_i|, gradient sign(x_i)·g shared evenly
    by the entries that reach the minimum. Otherwise (Σ|x_i|^ord)^(1/ord), with
    ∂/∂x_i = sign(x_i)·|x_i|^(ord−1)·‖x‖^(1−ord), taken as 0 where x_i = 0 (|0|^(ord−1) is infinite there):
    PyTorch's convention.
    """

    def forward(self, x, ord=0.5, dim=(), keepdim=False):
        a = np.abs(x)
        with np.errstate(divide="ignore", over="ignore"):
            if ord == 0:
                out = np.sum(x != 0, axis=dim, keepdims=True).astype(x.dtype)
            elif ord == -np.inf:
                out = a.min(axis=dim, keepdims=True)
            else:
                out = np.sum(a ** ord, axis=dim, keepdims=True) ** (1.0 / ord)
        out = out.astype(x.dtype, copy=False)
        if self.needs_input_grad[0]:
            self.x, self.out, self.ord, self.dim, self.keepdim = x, out, ord, dim, keepdim
        return out if keepdim else np.squeeze(out, axis=dim)

    def backward(self, g):
        x, n, ord = self.x, self.out, self.ord
        if ord == 0:
            return (np.zeros_like(x),)
        if not self.keepdim:
            g = np.expand_dims(g, self.dim)
        if ord == -np.inf:
            hit = np.abs(x) == n
            d = np.sign(x) * hit / np.maximum(hit.sum(axis=self.dim, keepdims=True), 1)
        else:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                d = np.where(x == 0, 0, np.sign(x) * np.abs(x) ** (ord - 1)) * n ** (1 - ord)
        return ((g * d).astype(x.dtype, copy=False),)


def vector_norm(x: Tensor, ord: float = 2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """‖x‖_ord = (Σ|x_i|^ord)^(1/ord) over ``dim`` (None or []: every element, as one vector).

    ``ord``: any real number; inf is max |x_i|, −inf min |x_i|, 0 the number of non-zero entries. Gradients as
    PyTorch's: 0 at the zero vector (no nan), the max/min entries share the gradient for ±inf, 0 for ord = 0.
    """
    x = _floating(x, "linalg.vector_norm", "x")
    if isinstance(ord, bool) or not isinstance(ord, Real):
        raise TypeError(f"linalg.vector_norm: ord must be a number, got {ord!r} (matrix norms such as 'fro' and "
                        "'nuc' are linalg.matrix_norm's)")
    x = _with_dtype(x, dtype, "linalg.vector_norm")
    ord = float(ord)
    dims = _dims(dim, x.ndim, "linalg.vector_norm")
    if ord < 0 or ord == np.inf:
        every = dim is None or (not isinstance(dim, (Integral, np.integer)) and len(tuple(dim)) == 0)
        empty = [d for d in dims if x.shape[d] == 0]
        if (every and x.size == 0) or empty:
            where = "on an empty tensor because" if every else \
                f"on the dimension {empty[0]} because this dimension is empty and"
            raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm {where} the operation does not "
                               "have an identity")
    if ord >= 1:
        return VectorNorm.apply(x, p=ord, dim=dims, keepdim=keepdim)
    return LowOrderNorm.apply(x, ord=ord, dim=dims, keepdim=keepdim)


def _matrix_ord(ord) -> bool:
    if isinstance(ord, str):
        return ord in ("fro", "nuc")
    return not isinstance(ord, bool) and isinstance(ord, Real) and float(ord) in (1, -1, 2, -2, np.inf, -np.inf)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """A matrix norm over the two dimensions ``dim`` (the others are a batch).

    ``'fro'``: √Σa_ij² (the 2-norm of the entries: gradient A/‖A‖). ``'nuc'``: Σσ_i, the sum of the singular
    values (gradient U·Vᵀ). 2 / −2: the largest / smallest singular value (gradient u₁v₁ᵀ). 1 / −1: the max /
    min over columns of Σ_i |a_ij|; inf / −inf: the same over rows (gradient sign(a) on the winning column or
    row, shared between ties), computed as PyTorch composes them.
    """
    A = _floating(A, "linalg.matrix_norm")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.matrix_norm: The input tensor A must have at least 2 dimensions, got shape "
                           f"{tuple(A.shape)}")
    if not isinstance(dim, (tuple, list)):
        raise TypeError(f"linalg.matrix_norm(): dim must be a tuple of two ints, got {dim!r}")
    if len(dim) != 2:
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {list(dim)}")
    d0, d1 = (E._dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if not _matrix_ord(ord):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported (use 'fro', 'nuc', 1, -1, 2, -2, inf "
                           "or -inf)")
    A = _with_dtype(A, dtype, "linalg.matrix_norm")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord == "nuc" or abs(ord) == 2:
        A = _lapack_dtype(A, "linalg.matrix_norm")
        rest = [i for i in range(A.ndim) if i not in (d0, d1)]
        s = svdvals(E.permute(A, rest + [d0, d1]))
        out = E.sum(s, -1) if ord == "nuc" else E.amax(s, -1) if ord > 0 else E.amin(s, -1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = E.unsqueeze(out, d)
        return out
    if abs(ord) == np.inf:  # the row sums: reduce over the columns first
        d0, d1 = d1, d0
    if not keepdim and d0 < d1:
        d1 -= 1
    sums = vector_norm(A, 1, d0, keepdim)
    return E.amax(sums, d1, keepdim) if ord > 0 else E.amin(sums, d1, keepdim)


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """``torch.linalg.norm``: a vector or a matrix norm, chosen as PyTorch chooses.

    ``dim`` an int or 1-tuple: :func:`vector_norm` (ord default 2). ``dim`` a 2-tuple, or no ``dim`` with a 2-D
    input and an ``ord``: :func:`matrix_norm` (ord default 'fro'). No ``dim`` and no ``ord``: the 2-norm of every
    element. With an ``ord`` but no ``dim`` the input must be 1-D or 2-D (the norm would be ambiguous).
    """
    A = _floating(A, "linalg.norm")
    if dim is not None:
        dim = (dim,) if isinstance(dim, (Integral, np.integer)) and not isinstance(dim, bool) else tuple(dim)
        if len(dim) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}")
    elif ord is not None and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got "
                           f"{A.ndim}D.")
    if isinstance(ord, str):
        return matrix_norm(A, ord, (0, 1) if dim is None else dim, keepdim, dtype=dtype)
    if ord is not None and ((dim is not None and len(dim) == 2) or (dim is None and A.ndim == 2)):
        return matrix_norm(A, ord, (0, 1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


# ----------------------------------------------------------------------------- inverse, determinant, solve


class Inv(Function):
    """Y = A⁻¹. From AY = I: dY = −A⁻¹·dA·A⁻¹, so dL/dA = −A⁻ᵀ·G·A⁻ᵀ = −Yᵀ·G·Yᵀ."""

    def forward(self, a):
        try:
            y = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise _singular_error(a, "linalg.inv", "inv") from None
        if self.needs_input_grad[0]:
            self.y = y
        return y

    def backward(self, g):
        yt = np.swapaxes(self.y, -1, -2)
        return (-(yt @ g @ yt),)


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix of ``A`` (…, n, n); a singular one raises :class:`LinAlgError` naming
    the batch element and the zero pivot, as PyTorch's does."""
    return Inv.apply(_square(A, "linalg.inv"))


def _prod_others(s: np.ndarray) -> np.ndarray:
    """Π_{j≠i} s_j along the last axis without dividing (zeros allowed): prefix times suffix products."""
    one = np.ones(s.shape[:-1] + (1,), s.dtype)
    left = np.cumprod(np.concatenate([one, s[..., :-1]], axis=-1), axis=-1)
    right = np.flip(np.cumprod(np.concatenate([one, np.flip(s, -1)[..., :-1]], axis=-1), axis=-1), -1)
    return left * right


class Det(Function):
    """d = det A. Jacobi's formula: ∂d/∂A = the cofactor matrix C, which is d·A⁻ᵀ for an invertible A, so
    dL/dA = g·d·A⁻ᵀ.

    A singular A (d = 0) still has a gradient, C = adj(A)ᵀ: with A = U·diag(σ)·Vᵀ,
    C = det(U)·det(Vᵀ)·U·diag(Π_{j≠i} σ_j)·Vᵀ (rank n − 1: one non-zero term; lower rank: C = 0). It is used
    where |d| < 100·eps (d·A⁻ᵀ would multiply 0 by an infinite or inaccurate inverse), the SVD only for those
    matrices of the batch. That is PyTorch's formula when it builds a differentiable gradient
    (``create_graph=True``); its plain backward returns 0 for an exactly singular A instead (it scales by d = 0),
    which is not the derivative: ember returns the adjugate either way.
    """

    def forward(self, a):
        d = np.linalg.det(a).astype(a.dtype, copy=False)
        if self.needs_input_grad[0]:
            self.a, self.d = a, d
        return d

    def backward(self, g):
        a, d = self.a, self.d
        n = a.shape[-1]
        if n == 0:
            return (np.zeros_like(a),)
        flat, dflat = a.reshape(-1, n, n), d.reshape(-1)
        cof = np.empty_like(flat)
        regular = np.abs(dflat) >= 100 * np.finfo(a.dtype).eps
        if regular.any():
            with np.errstate(all="ignore"):
                cof[regular] = dflat[regular, None, None] * np.swapaxes(np.linalg.inv(flat[regular]), -1, -2)
        fix = ~regular | ~np.isfinite(cof).all(axis=(-2, -1))
        if fix.any():
            u, s, vh = np.linalg.svd(flat[fix])
            sign = np.linalg.det(u) * np.linalg.det(vh)
            cof[fix] = sign[:, None, None] * ((u * _prod_others(s)[:, None, :]) @ vh)
        return ((np.reshape(g, g.shape + (1, 1)) * cof.reshape(a.shape)).astype(a.dtype, copy=False),)


def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix of ``A`` (…, n, n) → (…); 1 for 0×0 matrices."""
    return Det.apply(_square(A, "linalg.det"))


class Solve(Function):
    """X = A⁻¹·B, the solution of A·X = B (B a batch of matrices, or of vectors when ``vector``).

    dX = A⁻¹·(dB − dA·X), so dL/dB = A⁻ᵀ·G (one more solve, with Aᵀ) and dL/dA = −(A⁻ᵀ·G)·Xᵀ; both summed
    back over the batch dimensions that were broadcast.
    """

    def forward(self, a, b, vector=False):
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-1] if vector else b.shape[:-2])
        A = np.broadcast_to(a, batch + a.shape[-2:])
        B = np.broadcast_to(b[..., None] if vector else b, batch + (b.shape[-1], 1) if vector else
                            batch + b.shape[-2:])
        try:
            x = np.linalg.solve(A, B)
        except np.linalg.LinAlgError:
            raise _singular_error(A, "linalg.solve", "solve") from None
        if any(self.needs_input_grad):
            self.A, self.x, self.shapes, self.vector = A, x, (a.shape, b.shape), vector
        return x[..., 0] if vector else x

    def backward(self, g):
        A, x = self.A, self.x
        gb = np.linalg.solve(np.swapaxes(A, -1, -2), g[..., None] if self.vector else g)
        ga = -(gb @ np.swapaxes(x, -1, -2)) if self.needs_input_grad[0] else None
        if self.vector:
            gb = gb[..., 0]
        sa, sb = self.shapes
        return (None if ga is None else unbroadcast(ga, sa)), unbroadcast(gb, sb)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """X with A·X = B (``left=False``: X·A = B), A (…, n, n) invertible.

    B is a batch of vectors, as in PyTorch, when it is 1-D or has the shape of A without its last dimension;
    otherwise a batch of matrices (…, n, k). The batch dimensions broadcast. A singular A raises
    :class:`LinAlgError`.
    """
    A = _square(A, "linalg.solve")
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve(): argument 'B' must be a Tensor, not {type(B).__name__}")
    if B.dtype != A.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type {A.dtype} "
                           f"and B of type {B.dtype} instead")
    if B.ndim == 0:
        raise RuntimeError("linalg.solve: B must have at least 1 dimension, got a 0-d tensor")
    n = A.shape[-1]
    eq = "AX = B" if left else "XA = B"
    if not left:
        if B.ndim < 2 or B.shape[-1] != n:
            got = f"{B.shape[-2]}x{B.shape[-1]}" if B.ndim >= 2 else f"{B.shape[-1]}x1"
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {eq} ({n}x{n} and "
                               f"{got})")
        return E.transpose(solve(E.transpose(A, -1, -2), E.transpose(B, -1, -2)), -1, -2)
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    rows, cols = (B.shape[-1], 1) if vector else B.shape[-2:]
    if rows != n:
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation {eq} ({n}x{n} and "
                           f"{rows}x{cols})")
    try:
        np.broadcast_shapes(A.shape[:-2], B.shape[:-1] if vector else B.shape[:-2])
    except ValueError:
        raise RuntimeError(f"linalg.solve: the batch dimensions of A {tuple(A.shape)} and B {tuple(B.shape)} do "
                           "not broadcast") from None
    return Solve.apply(A, B, vector=vector)


class SVDVals(Function):
    """σ = the singular values of A (…, m, n) in descending order, k = min(m, n) of them.

    With A = U·diag(σ)·Vᵀ (reduced SVD), dσ_i = u_iᵀ·dA·v_i, so dL/dA = U·diag(g)·Vᵀ. Defined where the σ_i are
    distinct; repeated singular values make U and V ambiguous but this sum is still what PyTorch returns.
    """

    def forward(self, a):
        if not self.needs_input_grad[0]:
            return np.linalg.svd(a, compute_uv=False)
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        self.u, self.vh = u, vh
        return s

    def backward(self, g):
        return ((self.u * g[..., None, :]) @ self.vh,)


def svdvals(A: Tensor) -> Tensor:
    """The singular values of each matrix of ``A`` (…, m, n) → (…, min(m, n)), descending; differentiable."""
    A = _floating(A, "linalg.svdvals")
    if A.ndim < 2:
        raise RuntimeError(f"linalg.svdvals: The input tensor A must have at least 2 dimensions, got shape "
                           f"{tuple(A.shape)}")
    return SVDVals.apply(_lapack_dtype(A, "linalg.svdvals"))
