"""F.unfold / F.fold: sliding blocks of an image as columns (im2col) and back (col2im), PyTorch's layout.

``unfold`` turns a convolution into a matrix multiply a user can write by hand (``W.view(O, -1) @ unfold(x)``)
and gives patch extractors; ``fold`` sums columns back into an image (overlaps add up), and
``fold(unfold(x)) / fold(unfold(ones))`` averages overlapping patches. Each is the other's adjoint, so each
one's gradient is the other.
"""
from __future__ import annotations

from numbers import Integral
from typing import Sequence, Union

from ember.ops import fold as _fold
from ember.tensor import Tensor

__all__ = ["unfold", "fold"]

IntOrPair = Union[int, Sequence[int]]


def _pair(value, name: str, fn: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as a pair; RuntimeError (PyTorch's type) naming the argument otherwise."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(isinstance(v, Integral) and not isinstance(v, bool) for v in items):
        raise RuntimeError(f"{fn}: {name} must be an int or a pair of ints, got {value!r}")
    if min(items) < minimum:
        rule = "non-negative" if minimum == 0 else "positive"
        raise RuntimeError(f"{fn}: {name} must be {rule}, got {value!r}")
    return int(items[0]), int(items[1])


def _geometry(kernel_size, dilation, padding, stride, fn: str):
    return (_pair(kernel_size, "kernel_size", fn, 1), _pair(dilation, "dilation", fn, 1),
            _pair(padding, "padding", fn, 0), _pair(stride, "stride", fn, 1))


def unfold(input: Tensor, kernel_size: IntOrPair, dilation: IntOrPair = 1, padding: IntOrPair = 0,
           stride: IntOrPair = 1) -> Tensor:
    """Every kh×kw block of the zero-padded (N, C, H, W) input as a column: (N, C·kh·kw, L), rows ordered
    channel, then kernel row, then kernel column; L = Ho·Wo blocks in row-major order, with
    Ho = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1 (likewise Wo). A (C, H, W) input gives (C·kh·kw, L)."""
    geo = _geometry(kernel_size, dilation, padding, stride, "unfold")
    if not isinstance(input, Tensor):
        raise TypeError(f"unfold: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (3, 4) or 0 in input.shape[-3:]:
        raise RuntimeError(f"unfold expects a 3-D (C, H, W) or 4-D (N, C, H, W) input with non-zero C, H and W, "
                           f"got shape {tuple(input.shape)}")
    ho, wo = _fold.blocks(tuple(input.shape[-2:]), *geo)
    if ho < 1 or wo < 1:
        k, d, p, _ = geo
        raise RuntimeError(f"unfold: input of spatial size {tuple(input.shape[-2:])} with kernel_size={k}, "
                           f"dilation={d}, padding={p} gives a ({ho}, {wo}) array of sliding blocks; each side "
                           "must be at least one (use a smaller kernel or more padding)")
    return _fold.Unfold.apply(input, *geo)


def fold(input: Tensor, output_size: IntOrPair, kernel_size: IntOrPair, dilation: IntOrPair = 1,
         padding: IntOrPair = 0, stride: IntOrPair = 1) -> Tensor:
    """Sum the columns of an (N, C·kh·kw, L) input back into an (N, C, H, W) image of ``output_size`` (H, W):
    the adjoint of :func:`unfold` with the same geometry (overlapping blocks add up; padding is dropped).
    L must be the number of blocks that geometry gives on (H, W). A (C·kh·kw, L) input gives (C, H, W)."""
    size = _pair(output_size, "output_size", "fold", 1)
    geo = _geometry(kernel_size, dilation, padding, stride, "fold")
    if not isinstance(input, Tensor):
        raise TypeError(f"fold: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise RuntimeError(f"fold expects a 2-D (C·kh·kw, L) or 3-D (N, C·kh·kw, L) input with non-zero "
                           f"C·kh·kw and L, got shape {tuple(input.shape)}")
    (kh, kw), d, p, s = geo
    rows, length = input.shape[-2:]
    if rows % (kh * kw):
        raise RuntimeError(f"fold: the input's dimension {input.ndim - 2} (size {rows}, shape {tuple(input.shape)}) "
                           f"must be divisible by the product of kernel_size={(kh, kw)}, {kh * kw}")
    ho, wo = _fold.blocks(size, *geo)
    if ho < 1 or wo < 1 or ho * wo != length:
        raise RuntimeError(f"fold: output_size={size}, kernel_size={(kh, kw)}, dilation={d}, padding={p}, "
                           f"stride={s} give {ho} * {wo} sliding blocks, but the input (shape {tuple(input.shape)}) "
                           f"has L = {length}")
    return _fold.Fold.apply(input, size, *geo)
