"""Index-valued inputs (PyTorch files these under "sparse functions"): one_hot."""
from __future__ import annotations

import numpy as np

from ember.tensor import Tensor

__all__ = ["one_hot"]


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape ``tensor.shape + (num_classes,)`` with a 1 at each index; ``num_classes=-1``
    takes max + 1. Like PyTorch the input must be an integer tensor with values in [0, num_classes)."""
    idx = tensor.array if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot is only applicable to index tensors (integers), got dtype {idx.dtype}")
    if num_classes == -1:
        if idx.size == 0:
            raise RuntimeError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise RuntimeError(f"one_hot: class values must lie in [0, {num_classes}) for num_classes={num_classes}, "
                           f"got values from {idx.min()} to {idx.max()}")
    out = np.zeros(idx.shape + (int(num_classes),), dtype=np.int64)
    np.put_along_axis(out, idx[..., None].astype(np.intp), 1, axis=-1)
    return Tensor._wrap(out)
