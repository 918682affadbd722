"""F.pad: constant, reflect, replicate and circular padding of the last dimensions (PyTorch's pad tuple:
(left, right) of the last dimension first, then of the one before, …)."""
from __future__ import annotations

from typing import Sequence

from ember.ops import api as E
from ember.ops.padding import IndexPad
from ember.tensor import Tensor

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad ``input``'s last len(pad)/2 dimensions. 'constant' fills with ``value`` (0 by default); 'reflect' mirrors about the edge (without repeating it: width < size); 'replicate'
    repeats the edge; 'circular' wraps around (width ≤ size). The non-constant modes pad the last 1, 2
    or 3 dimensions of a batched or unbatched input, as in PyTorch."""
    if mode not in _MODES:
        raise ValueError(f"pad: mode {mode!r} is not supported; valid modes: {list(_MODES)}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ValueError(f"pad: pad must have an even length (a (left, right) pair per dimension), got {pad}")
    k = len(pad) // 2
    if mode == "constant":
        return E.pad(input, pad, value=0.0 if value is None else value)
    if value:
        raise ValueError(f"pad: mode {mode!r} takes no value argument (got value={value})")
    if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"pad: mode {mode!r} pads the last 1, 2 or 3 dimensions of a "
                                  f"(batched or unbatched) input with 1 or 2 more dimensions; got pad {pad} "
                                  f"for an input of shape {input.shape}")
    pads = []
    for i in range(k):
        axis = input.ndim - 1 - i
        left, right, n = pad[2 * i], pad[2 * i + 1], input.shape[axis]
        if min(left, right) < 0:
            raise ValueError(f"pad: mode {mode!r} needs non-negative padding, got {pad}")
        limit_ok = (max(left, right) < n) if mode == "reflect" else (max(left, right) <= n or mode == "replicate")
        if not limit_ok or n == 0:
            rule = "smaller than" if mode == "reflect" else "at most"
            raise ValueError(f"pad: {mode} padding ({left}, {right}) of dimension {axis} must be {rule} its size "
                             f"{n} (input shape {input.shape})")
        if left or right:
            pads.append((axis, left, right))
    return IndexPad.apply(input, pads=tuple(pads), mode=mode)
