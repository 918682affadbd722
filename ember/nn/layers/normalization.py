"""Normalisation layers (NOTES §6): batch norm, the per-sample norms (layer, group, instance) and AlexNet's
local response normalisation."""
from __future__ import annotations

import numpy as np

from ember import dtypes as _dt
from ember.nn import init as _init
from ember.nn.functional.normalization import batch_norm, group_norm, instance_norm, layer_norm, local_response_norm, \
    rms_norm
from ember.nn.layers._util import positive_float, positive_int
from ember.nn.module import Module, Parameter
from ember.tensor import Tensor

__all__ = ["BatchNorm1d", "BatchNorm2d", "LocalResponseNorm", "LayerNorm", "GroupNorm", "InstanceNorm1d",
           "InstanceNorm2d", "RMSNorm", "BatchNorm3d", "InstanceNorm3d", "SyncBatchNorm"]


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
        _affine_params(self, (num_features,), self.affine, self.use_bias, dtype)
        _running_stats(self, num_features, self.track_running_stats, dtype)

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


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) clips or volumes: statistics per channel over N, D, H, W. See
    :class:`_BatchNorm` (the fused op works on any number of trailing axes)."""

    _dims = (5,)


class SyncBatchNorm(_BatchNorm):
    """Batch norm over any (N, C, ...) input whose statistics would be reduced over every process of
    ``process_group`` in data-parallel training. ember trains in one process, where the reduction is over this
    batch alone, so it *is* :class:`_BatchNorm` over any number of trailing axes; it exists so that code written
    for distributed training (``SyncBatchNorm.convert_sync_batchnorm(model)``) runs unchanged."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, dtype=None, *, bias: bool = True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype, bias=bias)
        self.process_group = process_group

    def _check_input(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm expects at least a 2-D input (N, C, ...), got shape {input.shape}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm({self.num_features}): input of shape {input.shape} has "
                             f"{input.shape[1]} channels")

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every batch-norm layer in it (``module`` itself included) replaced by a SyncBatchNorm
        that *shares* its γ, β (the same Parameter objects, so an optimizer built before still updates them) and
        its running statistics, and keeps its train/eval mode, as PyTorch's does. Other modules are kept, their
        children converted in place."""
        out = module
        if isinstance(module, _BatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                      process_group, bias=module.bias is not None)
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
            out.training = module.training
            if hasattr(module, "qconfig"):
                out.qconfig = module.qconfig
        for name, child in list(module.named_children()):
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


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


def _affine_params(module: Module, shape: tuple, affine: bool, bias: bool, dtype) -> None:
    """γ = 1 and β = 0 of ``shape`` (PyTorch's names 'weight' and 'bias'), or None where absent."""
    d = _dt.resolve(dtype)
    module.register_parameter("weight", Parameter(np.ones(shape, d)) if affine else None)
    module.register_parameter("bias", Parameter(np.zeros(shape, d)) if affine and bias else None)


def _running_stats(module: Module, num_features: int, track: bool, dtype) -> None:
    """The buffers running_mean = 0, running_var = 1 and num_batches_tracked = 0 (PyTorch's names), or None."""
    d = _dt.resolve(dtype)
    module.register_buffer("running_mean", Tensor(np.zeros(num_features, d)) if track else None)
    module.register_buffer("running_var", Tensor(np.ones(num_features, d)) if track else None)
    module.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)) if track else None)


class LayerNorm(Module):
    """Standardise each sample over its trailing ``normalized_shape`` axes, then γ ⊙ x̂ + β elementwise
    (Ba et al. 2016). It uses no batch statistics, so it behaves the same in train and eval and for any
    batch size: the norm of transformers and RNNs."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 dtype=None):
        super().__init__()
        items = normalized_shape if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
        self.normalized_shape = tuple(positive_int(v, "normalized_shape", "LayerNorm") for v in items)
        if not self.normalized_shape:
            raise ValueError("LayerNorm: normalized_shape must name at least one dimension, got ()")
        self.eps = positive_float(eps, "eps", "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        _affine_params(self, self.normalized_shape, self.elementwise_affine, bias, dtype)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            _init.ones_(self.weight)
        if self.bias is not None:
            _init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Standardise each group of ``num_channels/num_groups`` channels of each sample, then scale and shift
    per channel (Wu & He 2018): batch norm's benefits without its dependence on the batch size."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, dtype=None, *,
                 bias: bool = True):
        super().__init__()
        self.num_groups = positive_int(num_groups, "num_groups", "GroupNorm")
        self.num_channels = positive_int(num_channels, "num_channels", "GroupNorm")
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.eps = positive_float(eps, "eps", "GroupNorm")
        self.affine = bool(affine)
        _affine_params(self, (self.num_channels,), self.affine, bias, dtype)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            _init.ones_(self.weight)
        if self.bias is not None:
            _init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm({self.num_groups}, {self.num_channels}): input of shape {input.shape} "
                             f"must have {self.num_channels} channels on axis 1")
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, " \
               f"bias={self.bias is not None}"


class _InstanceNorm(Module):
    """Standardise each channel of each sample over its spatial positions (Ulyanov et al. 2016, style
    transfer). PyTorch's defaults: no affine parameters and no running estimates, so train and eval agree;
    with ``track_running_stats=True`` evaluation uses running averages as batch norm does."""

    _dims: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, dtype=None, *, bias: bool = True):
        super().__init__()
        name = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", name)
        self.eps = positive_float(eps, "eps", name)
        if momentum is not None and not (isinstance(momentum, (int, float)) and not isinstance(momentum, bool)
                                         and 0.0 <= momentum <= 1.0):
            raise ValueError(f"{name}: momentum must be a number in [0, 1] or None, got {momentum!r}")
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        _affine_params(self, (self.num_features,), self.affine, bias, dtype)
        _running_stats(self, self.num_features, self.track_running_stats, dtype)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        if input.ndim not in self._dims:
            raise ValueError(f"{name} expects a {self._dims[1]}-D (batched) or {self._dims[0]}-D (unbatched) "
                             f"input, got shape {input.shape}")
        if input.ndim == self._dims[0]:
            return self.forward(input.unsqueeze(0)).squeeze(0)
        if (self.affine or self.track_running_stats) and input.shape[1] != self.num_features:
            raise ValueError(f"{name}({self.num_features}): input of shape {input.shape} has {input.shape[1]} "
                             f"channels on axis 1")
        # PyTorch keeps num_batches_tracked (for state_dict compatibility) but never counts with it here
        use_input_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum  # PyTorch's reading of None here
        return instance_norm(input, self.running_mean, self.running_var, self.weight, self.bias, use_input_stats,
                             momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance norm of (N, C, L) or unbatched (C, L) inputs. See :class:`_InstanceNorm`."""

    _dims = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance norm of (N, C, H, W) or unbatched (C, H, W) inputs. See :class:`_InstanceNorm`."""

    _dims = (3, 4)


class InstanceNorm3d(_InstanceNorm):
    """Instance norm of (N, C, D, H, W) or unbatched (C, D, H, W) inputs (3-D style transfer, per-scan
    normalisation of medical volumes). See :class:`_InstanceNorm`."""

    _dims = (4, 5)


class RMSNorm(Module):
    """y = γ ⊙ x/√(mean(x²) + ε) over the trailing ``normalized_shape`` axes (Zhang & Sennrich 2019): layer norm
    without the centring and without β (LLaMA, T5). ``eps=None`` uses the input dtype's machine epsilon."""

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, dtype=None):
        super().__init__()
        items = normalized_shape if isinstance(normalized_shape, (tuple, list)) else (normalized_shape,)
        self.normalized_shape = tuple(positive_int(v, "normalized_shape", "RMSNorm") for v in items)
        if not self.normalized_shape:
            raise ValueError("RMSNorm: normalized_shape must name at least one dimension, got ()")
        self.eps = None if eps is None else positive_float(eps, "eps", "RMSNorm")
        self.elementwise_affine = bool(elementwise_affine)
        weight = Parameter(np.ones(self.normalized_shape, _dt.resolve(dtype))) if self.elementwise_affine else None
        self.register_parameter("weight", weight)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            _init.ones_(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
