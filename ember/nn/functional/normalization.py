"""Normalisation as functions (NOTES §6): batch, layer, group and instance norm, local response norm."""
from __future__ import annotations

import numpy as np

from ember.ops import normalization as N
from ember.tensor import Tensor

__all__ = ["batch_norm", "local_response_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm"]


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


def _affine_shape(t: Tensor | None, name: str, want: tuple, fn: str, input: Tensor) -> None:
    if t is not None and tuple(t.shape) != want:
        raise RuntimeError(f"{fn}: {name} of shape {tuple(t.shape)} does not match the expected shape {want} "
                           f"for input of shape {tuple(input.shape)}")


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Standardise each sample over its last len(normalized_shape) axes (biased variance), then γ ⊙ · + β
    elementwise. Unlike batch norm it needs no batch statistics, so train and eval are the same."""
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else \
        tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise RuntimeError(f"layer_norm: input of shape {tuple(input.shape)} does not end with normalized_shape "
                           f"{shape}")
    _affine_shape(weight, "weight", shape, "layer_norm", input)
    _affine_shape(bias, "bias", shape, "layer_norm", input)
    return N.LayerNorm.apply(input, weight, bias, ndim=k, eps=eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Standardise each group of C/G channels of each sample (over those channels and all positions), then
    scale and shift per channel. Independent of the batch size (Wu & He 2018)."""
    if input.ndim < 2:
        raise RuntimeError(f"group_norm expects an input (N, C, ...) with a channel axis, got shape "
                           f"{tuple(input.shape)}")
    c = input.shape[1]
    if not isinstance(num_groups, (int, np.integer)) or num_groups < 1 or c % num_groups:
        raise RuntimeError(f"group_norm: num_groups={num_groups!r} must be a positive divisor of the "
                           f"{c} channels of the input of shape {tuple(input.shape)}")
    _affine_shape(weight, "weight", (c,), "group_norm", input)
    _affine_shape(bias, "bias", (c,), "group_norm", input)
    return N.GroupNorm.apply(input, weight, bias, num_groups=int(num_groups), eps=eps)


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Standardise each channel of each sample over its spatial positions (group norm with one channel per
    group). With running estimates and ``use_input_stats`` they are updated, as PyTorch does, with the
    batch average of the per-instance means and unbiased variances; ``use_input_stats=False`` normalises
    with the running estimates instead (batch norm's evaluation mode)."""
    if input.ndim < 3:
        raise RuntimeError(f"instance_norm expects an input (N, C, *spatial) with spatial axes, got shape "
                           f"{tuple(input.shape)}")
    c = input.shape[1]
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    _affine_shape(weight, "weight", (c,), "instance_norm", input)
    _affine_shape(bias, "bias", (c,), "instance_norm", input)
    if running_mean is not None or running_var is not None:
        x = input.array
        rows = x.reshape(x.shape[0], c, -1)
        m = rows.shape[-1]
        if m <= 1:
            raise ValueError(f"instance_norm: expected more than 1 spatial element when training, got input of "
                             f"shape {tuple(input.shape)}")
        if running_mean is not None:
            running_mean.array *= 1 - momentum
            running_mean.array += (momentum * rows.mean(axis=(0, 2))).astype(running_mean.dtype)
        if running_var is not None:
            running_var.array *= 1 - momentum
            running_var.array += (momentum * rows.var(axis=2, ddof=1).mean(axis=0)).astype(running_var.dtype)
    return N.GroupNorm.apply(input, weight, bias, num_groups=c, eps=eps)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """x/√(mean(x²) + ε) over the last len(normalized_shape) axes, then γ ⊙ · (no centring, no β);
    ``eps=None`` uses the machine epsilon of the input's dtype, as PyTorch."""
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else \
        tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"rms_norm: input of shape {tuple(input.shape)} does not end with normalized_shape "
                           f"{shape}")
    _affine_shape(weight, "weight", shape, "rms_norm", input)
    if eps is None:
        eps = float(np.finfo(input.dtype).eps) if input.dtype.kind == "f" else float(np.finfo(np.float32).eps)
    return N.RMSNorm.apply(input, weight, ndim=k, eps=float(eps))
