"""Index-valued inputs (PyTorch files these under "sparse functions"): one_hot and embedding."""
from __future__ import annotations

import numpy as np

from ember.ops.embedding import Embedding
from ember.tensor import Tensor

__all__ = ["one_hot", "embedding"]


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


def _renorm_rows(weight: np.ndarray, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """PyTorch's embedding_renorm_: the rows looked up whose p-norm exceeds max_norm are scaled down to it,
    in place (outside the graph, as PyTorch does)."""
    rows = np.unique(idx)
    norms = np.linalg.norm(weight[rows].astype(np.float64), ord=norm_type, axis=1)
    big = norms > max_norm
    scale = max_norm / (norms[big] + 1e-7)
    weight[rows[big]] *= scale[:, None].astype(weight.dtype)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) at the integer indices ``input``: output shape
    input.shape + (embedding_dim,). The row ``padding_idx`` gets no gradient; with ``max_norm`` the rows
    looked up are first renormalised in place to a p-norm of at most max_norm."""
    idx = input.array if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"embedding: indices must be an integer tensor, got dtype {idx.dtype}")
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    n = weight.shape[0]
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"embedding: index out of range: indices from {idx.min()} to {idx.max()} for "
                         f"{n} embeddings (valid: 0..{n - 1})")
    if sparse:
        raise ValueError("embedding: sparse=True (sparse gradients) is not supported by ember")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} must be within num_embeddings ({n})")
        padding_idx = int(padding_idx) % n
    if max_norm is not None:
        _renorm_rows(weight.array, idx, float(max_norm), float(norm_type))
    return Embedding.apply(weight, index=idx.astype(np.intp, copy=False), padding_idx=padding_idx,
                           scale_grad_by_freq=bool(scale_grad_by_freq))
