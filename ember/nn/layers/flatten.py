"""Shape layers: Flatten and Unflatten."""
from __future__ import annotations

import numpy as np

from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dims ``start_dim``..``end_dim`` into one: (N, C, H, W) → (N, C·H·W) by default,
    the step between the conv part and the fully connected part of a CNN."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        if not isinstance(start_dim, int) or not isinstance(end_dim, int):
            raise ValueError(f"Flatten: start_dim and end_dim must be ints, got {start_dim!r}, {end_dim!r}")
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        nd = input.ndim
        s, e = self.start_dim, self.end_dim
        if not (-max(nd, 1) <= s < max(nd, 1) and -max(nd, 1) <= e < max(nd, 1)):
            raise IndexError(f"Flatten(start_dim={s}, end_dim={e}) is out of range for input of shape {input.shape}")
        if nd and s % nd > e % nd:
            raise ValueError(f"Flatten: start_dim {s} comes after end_dim {e} for input of shape {input.shape}")
        return input.flatten(s, e)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: (N, 784) → (N, 1, 28, 28) with (dim=1, size=(1, 28, 28)).
    One entry may be −1 (inferred)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        size = tuple(unflattened_size) if isinstance(unflattened_size, (tuple, list)) else None
        if not size or not all(isinstance(v, int) and (v > 0 or v == -1) for v in size) or size.count(-1) > 1:
            raise ValueError(f"Unflatten: unflattened_size must be a non-empty tuple of positive ints (at most "
                             f"one -1), got {unflattened_size!r}")
        self.dim, self.unflattened_size = int(dim), size

    def forward(self, input: Tensor) -> Tensor:
        nd = input.ndim
        if not -nd <= self.dim < nd:
            raise IndexError(f"Unflatten: dim {self.dim} is out of range for input of shape {input.shape}")
        d = self.dim % nd
        n = input.shape[d]
        known = int(np.prod([v for v in self.unflattened_size if v != -1]))
        size = tuple(n // known if v == -1 else v for v in self.unflattened_size)
        if int(np.prod(size)) != n:
            raise ValueError(f"Unflatten: cannot split dim {self.dim} of size {n} (input shape {input.shape}) "
                             f"into {self.unflattened_size}")
        return input.reshape(input.shape[:d] + size + input.shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
