"""The affine map of a fully connected layer (NOTES §1): y = x·Wᵀ + b, as one fused Function."""
from __future__ import annotations

from ember.backend.threads import MIN_SPLIT_FLOPS, matmul, parallel
from ember.tensor import Function, Tensor

__all__ = ["linear"]


class Linear(Function):
    """y = x·Wᵀ + b over the last axis of x (any number of leading axes).

    Backward: dx = g·W,  dW = gᵀ·x (summed over every leading axis),  db = Σ g.
    The leading axes are folded into one, so dW is a single matrix multiply.
    """

    def forward(self, x, w, b=None):
        if x.shape[-1] != w.shape[1]:
            raise RuntimeError(_shape_error(x.shape, w.shape))
        out = matmul(x, w.T)  # a large product is split over ember's threads
        if b is not None:
            out += b
        nx, nw = self.needs_input_grad[:2]  # x only for dW, W only for dx (as PyTorch saves them)
        self.x, self.w, self.has_bias = (x if nw else None), (w if nx else None), b is not None
        return out

    def backward(self, g):
        nx, nw = self.needs_input_grad[:2]
        nb = self.has_bias and self.needs_input_grad[2]
        x, w = self.x, self.w
        g2 = g.reshape(-1, g.shape[-1])
        x2 = x.reshape(-1, x.shape[-1]) if nw else None
        if nx and nw and 2.0 * g2.shape[0] * w.shape[0] * w.shape[1] >= MIN_SPLIT_FLOPS:
            gx, gw = parallel(lambda: g @ w, lambda: g2.T @ x2)  # independent: side by side on two threads
        else:
            gx = matmul(g, w) if nx else None
            gw = matmul(g2.T, x2) if nw else None
        gb = g2.sum(axis=0) if nb else None
        return gx, gw, gb


def _shape_error(x_shape, w_shape) -> str:
    return (f"linear: input of shape {tuple(x_shape)} has {x_shape[-1] if x_shape else 0} features in its last "
            f"dimension but the weight of shape {tuple(w_shape)} expects {w_shape[1]}")


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x·Wᵀ + b with W of shape (out_features, in_features)."""
    if weight.ndim != 2:
        raise RuntimeError(f"linear expects a 2-D weight (out_features, in_features), got shape {weight.shape}")
    if input.ndim == 0:
        raise RuntimeError("linear expects an input with at least 1 dimension, got a 0-d tensor")
    return Linear.apply(input, weight, bias)
