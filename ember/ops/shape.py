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
