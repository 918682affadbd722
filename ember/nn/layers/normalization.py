"""Normalisation layers (NOTES §6): batch norm and AlexNet's local response normalisation."""
from __future__ import annotations

import numpy as np

from ember import dtypes as _dt
from ember.nn import init as _init
from ember.nn.functional.normalization import batch_norm, local_response_norm
from ember.nn.layers._util import positive_float, positive_int
from ember.nn.module import Module, Parameter
from ember.tensor import Tensor

__all__ = ["BatchNorm1d", "BatchNorm2d", "LocalResponseNorm"]


class _BatchNorm(Module):
    """Batch norm: normalise pre-activations per channel over the mini-batch, then scale by γ and shift by β.

        x̂ = (x − μ_B)/√(σ²_B + ε),   y = γ·x̂ + β

    Training uses the batch mean and biased variance and updates exponential moving averages
    (``running ← (1 − momentum)·running + momentum·batch``, with the *unbiased* batch variance for
    ``running_var``; ``momentum=None`` gives the cumulative average, factor 1/num_batches_tracked).
    Evaluation uses the running averages. γ starts at 1, β at 0 (zero γ on a residual block's last BN
    makes the block start as the identity, NOTES §5). The forward and the closed-form backward are one
    fused op (:class:`ember.ops.normalization.BatchNorm`).
    """

    _dims: tuple = ()
    _name = "BatchNorm"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None, *, bias: bool = True):
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", name)
        self.eps = positive_float(eps, "eps", name)
        if momentum is not None and not (isinstance(momentum, (int, float)) and 0.0 <= momentum <= 1.0):
            raise ValueError(f"{name}: momentum must be a number in [0, 1] or None, got {momentum!r}")
        self.momentum = momentum
        self.affine = bool(affine)
        self.use_bias = bool(bias) and self.affine  # bias=False: learn γ only (no β)
        self.track_running_stats = bool(track_running_stats)
        d = _dt.resolve(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_features, d))
            if self.use_bias:
                self.bias = Parameter(np.zeros(num_features, d))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, d)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, d)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            _init.ones_(self.weight)
            if self.bias is not None:
                _init.zeros_(self.bias)

    def _check_input(self, input: Tensor) -> None:
        if input.ndim not in self._dims:
            want = " or ".join(f"{d}-D" for d in self._dims)
            raise ValueError(f"{type(self).__name__} expects a {want} input, got shape {input.shape}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): input of shape {input.shape} has "
                             f"{input.shape[1]} channels")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:  # cumulative moving average
                momentum = 1.0 / float(self.num_batches_tracked.array)
        # batch statistics while training, and always when no running estimates are kept
        use_batch = self.training or not self.track_running_stats
        update = self.training and self.track_running_stats
        keep = update or not use_batch
        return batch_norm(input, self.running_mean if keep else None, self.running_var if keep else None,
                          self.weight, self.bias, use_batch, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.use_bias}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs: statistics per feature C. See :class:`_BatchNorm`."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs: statistics per channel over N, H, W. See :class:`_BatchNorm`."""

    _dims = (4,)


class LocalResponseNorm(Module):
    """AlexNet's local response normalisation (lateral inhibition across channels), PyTorch's formula:

        b_c = a_c / (k + (α/n)·Σ_{c'=c−⌊n/2⌋}^{c+⌊(n−1)/2⌋} a_{c'}²)^β,   n = ``size``

    (AlexNet used n = 5, α = 1e-4, β = 0.75, k = 2; channels outside the range count as 0).
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size = positive_int(size, "size", "LocalResponseNorm")
        self.alpha = positive_float(alpha, "alpha", "LocalResponseNorm", allow_zero=True)
        self.beta = positive_float(beta, "beta", "LocalResponseNorm", allow_zero=True)
        self.k = positive_float(k, "k", "LocalResponseNorm")

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
