"""Batch norm and local response norm as functions (NOTES §6)."""
from __future__ import annotations

import numpy as np

from ember.ops import normalization as N
from ember.tensor import Tensor

__all__ = ["batch_norm", "local_response_norm"]


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1) over the batch and spatial axes, then scale by γ and shift by β.

    Training: normalise with the batch mean μ_B and *biased* variance σ²_B, and update the running
    estimates in place with the *unbiased* variance (as PyTorch does):
        running_mean ← (1 − momentum)·running_mean + momentum·μ_B
        running_var  ← (1 − momentum)·running_var  + momentum·σ²_B·m/(m − 1)
    Evaluation: normalise with running_mean/running_var (an affine map per channel).
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm expects an input with a channel axis (N, C, ...), got shape {input.shape}")
    x = input.array
    c = x.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        if t is not None and t.shape != (c,):
            raise RuntimeError(f"batch_norm: {name} has shape {t.shape} but the input of shape {input.shape} "
                               f"has {c} channels")
    if training:
        m = x.size // c
        if m <= 1:
            raise ValueError(f"expected more than 1 value per channel when training, got input of shape {input.shape}")
        stats = {}
        out = N.BatchNorm.apply(input, weight, bias, eps=eps, batch_stats=True, stats=stats)
        mean, var = stats["mean"], stats["var"]  # var biased: what the batch was normalised with
        if running_mean is not None:
            running_mean.array *= 1 - momentum
            running_mean.array += momentum * mean
        if running_var is not None:
            running_var.array *= 1 - momentum
            running_var.array += momentum * var * (m / (m - 1))
        return out
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm in evaluation mode needs running_mean and running_var")
    return N.BatchNorm.apply(input, weight, bias, mean=np.asarray(running_mean.array),
                             var=np.asarray(running_var.array), eps=eps, batch_stats=False)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """b_c = a_c / (k + (α/n)·Σ_{c' near c} a_{c'}²)^β over a window of n = ``size`` neighbouring channels."""
    if input.ndim < 3:
        raise ValueError(f"local_response_norm expects a 3-D or higher input (N, C, ...), got shape {input.shape}")
    return N.LocalResponseNorm.apply(input, size=int(size), alpha=alpha, beta=beta, k=k)
