"""The bilinear map y_k = x1ᵀ·W_k·x2 + b_k (PyTorch's ``F.bilinear``), as one Function."""
from __future__ import annotations

import numpy as np

from ember.tensor import Function, Tensor

__all__ = ["bilinear"]


class Bilinear(Function):
    """y_nk = Σ_ij x1_ni·W_kij·x2_nj + b_k, over flattened leading dimensions n.

    Backward: dx1_ni = Σ_kj g_nk·W_kij·x2_nj,  dx2_nj = Σ_ki g_nk·x1_ni·W_kij,  dW_kij = Σ_n g_nk·x1_ni·x2_nj,
    db_k = Σ_n g_nk. Each is one matrix product after a reshape (no (n, k, i, j) intermediate).
    """

    def forward(self, x1, x2, w, b=None):
        k, i, j = w.shape
        lead = x1.shape[:-1]
        n = int(np.prod(lead, dtype=np.int64))
        a, c = x1.reshape(n, i), x2.reshape(n, j)
        # (n, i)·(i, k·j) → (n, k, j), then contract j with x2
        t = (a @ np.transpose(w, (1, 0, 2)).reshape(i, k * j)).reshape(n, k, j)
        out = np.einsum("nkj,nj->nk", t, c)
        if b is not None:
            out += b
        n1, n2, nw = self.needs_input_grad[:3]
        self.a, self.c = (a if n2 or nw else None), (c if n1 or nw else None)
        self.w, self.has_bias = (w if n1 or n2 else None), b is not None
        self.lead, self.dims = lead, (n, k, i, j)
        return out.reshape(lead + (k,))

    def backward(self, g):
        n1, n2, nw = self.needs_input_grad[:3]
        a, c, w = self.a, self.c, self.w
        n, k, i, j = self.dims
        g2 = g.reshape(n, k)
        gx1 = gx2 = gw = gb = None
        if n1:  # (n, k·j)·(k·j, i)
            gx1 = (g2[:, :, None] * c[:, None, :]).reshape(n, k * j) @ w.transpose(0, 2, 1).reshape(k * j, i)
            gx1 = gx1.reshape(self.lead + (i,))
        if n2:  # (n, k·i)·(k·i, j)
            gx2 = (g2[:, :, None] * a[:, None, :]).reshape(n, k * i) @ w.reshape(k * i, j)
            gx2 = gx2.reshape(self.lead + (j,))
        if nw:  # (k, n)·(n, i·j)
            gw = (g2.T @ (a[:, :, None] * c[:, None, :]).reshape(n, i * j)).reshape(k, i, j)
        if self.has_bias and self.needs_input_grad[3]:
            gb = g2.sum(axis=0)
        return gx1, gx2, gw, gb


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x1ᵀ·W_k·x2 + b_k for every output feature k: input1 (…, in1), input2 (…, in2) with the same leading
    dimensions (no broadcasting, as in PyTorch), weight (out, in1, in2), bias (out,) → (…, out)."""
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight), ("bias", bias)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"bilinear(): argument '{name}' must be a Tensor, not {type(t).__name__}")
    if input1.ndim != input2.ndim:
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.ndim} and {input2.ndim}")
    if input1.ndim == 0:
        raise RuntimeError("bilinear(): the inputs must have at least 1 dimension (the features), got 0-d tensors")
    for d, (s1, s2) in enumerate(zip(input1.shape[:-1], input2.shape[:-1])):
        if s1 != s2:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {d}: got {s1} and {s2} "
                               f"(shapes {tuple(input1.shape)} and {tuple(input2.shape)})")
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear(): weight must be 3-D (out_features, in1_features, in2_features), got shape "
                           f"{tuple(weight.shape)}")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got {input1.shape[-1]} but "
                           f"expected {weight.shape[1]}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                           f"expected {weight.shape[2]}")
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != weight.shape[0]):
        raise RuntimeError(f"bilinear(): bias size does not match weight size: got shape {tuple(bias.shape)} but "
                           f"expected ({weight.shape[0]},)")
    dtypes = {t.dtype for t in (input1, input2, weight, bias) if t is not None}
    if len(dtypes) > 1:
        raise RuntimeError(f"bilinear(): all tensors must have the same dtype, got input1: {input1.dtype}, input2: "
                           f"{input2.dtype}, weight: {weight.dtype}" + (f", bias: {bias.dtype}" if bias is not None
                                                                         else ""))
    return Bilinear.apply(input1, input2, weight, bias)
