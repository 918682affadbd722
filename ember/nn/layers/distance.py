"""Similarity and distance layers: cosine similarity and pairwise p-distance between two batches of vectors."""
from __future__ import annotations

from ember.nn.functional.distance import cosine_similarity, pairwise_distance
from ember.nn.layers._util import positive_float
from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """cos(x1, x2) along ``dim`` (norms floored at ``eps``)."""

    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise ValueError(f"CosineSimilarity: dim must be an int, got {dim!r}")
        self.dim, self.eps = dim, positive_float(eps, "eps", "CosineSimilarity")

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """‖x1 − x2 + eps‖_p over the last dimension."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm = positive_float(p, "p", "PairwiseDistance")
        self.eps = positive_float(eps, "eps", "PairwiseDistance", allow_zero=True)
        self.keepdim = bool(keepdim)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
