"""Shape and indexing ops. Their backward moves the gradient back to where each element came from."""
from __future__ import annotations

import numpy as np

from ember.tensor import Function


class Clone(Function):
    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return (g,)


class Reshape(Function):
    """Same elements, new shape; the gradient is reshaped back."""

    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise RuntimeError(
                f"shape {tuple(shape)} is invalid for input of shape {a.shape} ({a.size} elements)") from None

    def backward(self, g):
        return (g.reshape(self.shape),)


class Permute(Function):
    """Reorder axes; the gradient is permuted by the inverse permutation."""

    def forward(self, a, dims):
        if sorted(d % max(a.ndim, 1) for d in dims) != list(range(a.ndim)):
            raise RuntimeError(
                f"permute: {tuple(dims)} is not a permutation of the {a.ndim} dimensions of shape {a.shape}")
        self.dims = tuple(d % a.ndim for d in dims)
        return np.transpose(a, self.dims)

    def backward(self, g):
        return (np.transpose(g, np.argsort(self.dims)),)


class Expand(Function):
    """Broadcast to a larger shape without copying; the gradient is summed back (by the graph walker)."""

    def forward(self, a, shape):
        shape = tuple(a.shape[i - (len(shape) - a.ndim)] if s == -1 else s for i, s in enumerate(shape))
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise RuntimeError(f"cannot expand shape {a.shape} to {shape}") from None

    def backward(self, g):
        return (g,)


class Cat(Function):
    """Concatenate along ``dim``; each input gets back its own slice of the gradient."""

    def forward(self, *arrays, dim=0):
        if not arrays:
            raise ValueError("cat expects a non-empty sequence of tensors")
        ref = arrays[0].shape
        if not -max(len(ref), 1) <= dim < max(len(ref), 1):
            raise IndexError(f"cat: dimension {dim} is out of range for tensors of shape {ref}")
        d = dim % max(len(ref), 1)
        for a in arrays[1:]:
            if a.ndim != len(ref) or any(x != y for i, (x, y) in enumerate(zip(a.shape, ref)) if i != d):
                raise RuntimeError(f"cat along dim {dim}: shapes {ref} and {a.shape} differ outside that dimension")
        self.dim = d
        self.splits = np.cumsum([a.shape[d] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=d)

    def backward(self, g):
        return tuple(np.split(g, self.splits, axis=self.dim))


class Stack(Function):
    """Stack equal-shaped inputs along a new ``dim``."""

    def forward(self, *arrays, dim=0):
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise RuntimeError(f"stack expects tensors of equal shape, got {sorted(shapes)}")
        self.dim = dim
        return np.stack(arrays, axis=dim)

    def backward(self, g):
        return tuple(np.moveaxis(g, self.dim, 0))


class Pad(Function):
    """Constant padding; ``pad`` is PyTorch's flat list, last dimension first: (left, right, top, bottom, ...)."""

    def forward(self, a, pad, value=0.0):
        if len(pad) % 2 or len(pad) // 2 > a.ndim:
            raise ValueError(f"pad must have an even length of at most 2×{a.ndim}, got {tuple(pad)}")
        widths = [(0, 0)] * a.ndim
        for i in range(len(pad) // 2):
            widths[a.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
        if any(lo < 0 or hi < 0 for lo, hi in widths):
            raise ValueError(f"pad widths must be non-negative, got {tuple(pad)}")
        self.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, a.shape))
        return np.pad(a, widths, mode="constant", constant_values=value)

    def backward(self, g):
        return (g[self.inner],)


def _unwrap_index(index):
    from ember.tensor import Tensor

    if isinstance(index, Tensor):
        return index.array
    if isinstance(index, tuple):
        return tuple(i.array if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_basic(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items)


class GetItem(Function):
    """``a[index]``: basic slices return a view; integer/boolean arrays gather.
    Backward writes the gradient into zeros at the same positions (scatter-add for repeated indices)."""

    def forward(self, a, index):
        self.shape, self.dtype = a.shape, a.dtype
        self.index = index
        self.basic = _is_basic(index)
        try:
            return a[index]
        except IndexError as e:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {a.shape}: {e}") from None

    def backward(self, g):
        out = np.zeros(self.shape, dtype=g.dtype)
        if self.basic:
            out[self.index] = g
        else:
            np.add.at(out, self.index, g)
        return (out,)


class SetItem(Function):
    """``a[index] = v`` as a new node (ember's graph records no in-place op): out = a with v written at
    ``index``. Backward: the overwritten positions pass nothing back to a; v gets the gradient there
    (summed over the positions it was broadcast to)."""

    def forward(self, a, v, index):
        self.index = index
        out = a.copy()
        try:
            out[index] = v
        except (IndexError, ValueError) as e:
            raise type(e)(f"cannot assign a value of shape {np.shape(v)} to index {index!r} of a tensor of shape "
                          f"{a.shape}: {e}") from None
        return out

    def backward(self, g):
        ga = None
        if self.needs_input_grad[0]:
            ga = g.copy()
            ga[self.index] = 0
        return ga, (g[self.index] if self.needs_input_grad[1] else None)


class Flip(Function):
    def forward(self, a, dims):
        self.dims = dims
        return np.flip(a, dims)

    def backward(self, g):
        return (np.flip(g, self.dims),)


class Repeat(Function):
    """``np.tile`` semantics (PyTorch's ``Tensor.repeat``); the gradient sums over the copies."""

    def forward(self, a, reps):
        self.shape = a.shape
        self.reps = tuple(reps)
        return np.tile(a, self.reps)

    def backward(self, g):
        shape = (1,) * (len(self.reps) - len(self.shape)) + self.shape
        inter = []
        for r, s in zip(self.reps, shape):
            inter += [r, s]
        g = g.reshape(inter).sum(axis=tuple(range(0, len(inter), 2)))
        return (g.reshape(self.shape),)


def _grids(idx: np.ndarray, dim: int) -> tuple:
    """Index arrays that address, for every entry of ``idx``, position ``idx[...]`` along ``dim`` and the
    entry's own position along every other dimension (the addressing of gather and scatter)."""
    grids = list(np.indices(idx.shape, sparse=True))
    grids[dim] = idx
    return tuple(grids)


class Scatter(Function):
    """out = a with ``src`` written (or added, ``reduce='add'``) at ``index`` along ``dim``;
    dL/da = g, zeroed where a value was overwritten; dL/dsrc = g gathered at ``index`` (the part of
    ``src`` that ``index`` does not reach gets 0). ``src`` may be a scalar."""

    def forward(self, a, src, index, dim, reduce=None):
        self.index, self.dim, self.reduce = index, dim, reduce
        self.src_shape = np.shape(src)
        where = _grids(index, dim)
        self.where = where
        part = src[tuple(slice(0, n) for n in index.shape)] if np.ndim(src) else src
        out = a.copy()
        if reduce == "add":
            np.add.at(out, where, part)
        else:
            out[where] = part
        return out

    def backward(self, g):
        na, ns = self.needs_input_grad[:2]
        ga = gs = None
        if na:
            ga = g
            if self.reduce != "add":
                ga = g.copy()
                ga[self.where] = 0
        if ns:
            gs = np.zeros(self.src_shape, dtype=g.dtype)
            gs[tuple(slice(0, n) for n in self.index.shape)] = g[self.where]
        return ga, gs, None


class Diag(Function):
    """1-D → a square matrix with ``a`` on diagonal ``k``; 2-D → diagonal ``k`` as 1-D. Each backward takes
    the other direction."""

    def forward(self, a, k=0):
        self.shape, self.k = a.shape, k
        return np.diag(a, k).copy()

    def backward(self, g):
        if len(self.shape) == 1:
            return (np.diag(g, self.k).copy(),)
        out = np.zeros(self.shape, dtype=g.dtype)
        n = g.shape[0]
        rows = np.arange(n) + (0 if self.k >= 0 else -self.k)
        out[rows, rows + self.k] = g
        return (out,)


class Roll(Function):
    """Shift elements along ``dims`` with wrap-around; the gradient rolls back by the opposite shifts."""

    def forward(self, a, shifts, dims):
        self.shifts, self.dims, self.shape = shifts, dims, a.shape
        if dims is None:
            return np.roll(a.reshape(-1), shifts).reshape(a.shape)
        return np.roll(a, shifts, dims)

    def backward(self, g):
        if self.dims is None:
            return (np.roll(g.reshape(-1), -self.shifts).reshape(self.shape),)
        return (np.roll(g, tuple(-s for s in self.shifts), self.dims),)
