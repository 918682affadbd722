"""Flatten parameters into one vector and back (PyTorch's parameters_to_vector / vector_to_parameters)."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ember.ops.api import cat, reshape
from ember.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and concatenated, in order, into one 1-D tensor (differentiable)."""
    params = list(parameters)
    if not params:
        raise ValueError("parameters_to_vector got no parameters")
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected ember Tensors, got a {type(p).__name__}")
    return cat([reshape(p, -1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters (in place, cast to each one's dtype).

    The parameters keep their own arrays (so an optimizer's state stays attached);
    ``vec`` must have exactly as many entries as the parameters together.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected an ember Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"expected a 1-D vector, got shape {vec.shape}")
    params = list(parameters)
    total = sum(p.numel() for p in params)
    if total != vec.shape[0]:
        raise ValueError(f"the vector has {vec.shape[0]} entries but the parameters have {total}")
    data, offset = vec.array, 0
    for p in params:
        n = p.numel()
        np.copyto(p.array, data[offset: offset + n].reshape(p.shape), casting="same_kind")
        offset += n
