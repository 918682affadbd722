"""Spectral normalisation (Miyato et al. 2018), the hook-based API: ``W_SN = W / σ(W)``.

Dividing a weight by its largest singular value σ makes the layer 1-Lipschitz, which stabilises GAN
discriminators. σ is estimated by power iteration on the weight reshaped to a matrix (``dim`` first, the rest
flattened), one step per training forward from the vectors ``u``, ``v`` kept as buffers:
  v ← normalize(Wᵀu),  u ← normalize(Wv),  σ = uᵀ W v.
The iteration runs under no_grad on copies of the buffers' values (u, v are constants for the gradient), so
  ∂L/∂W = (∂L/∂W_SN)/σ − ⟨∂L/∂W_SN, W⟩/σ² · u vᵀ,
which the tensor ops below compute. ``spectral_norm(module)`` keeps PyTorch's names: the trained parameter is
``weight_orig``, the vectors the buffers ``weight_u`` and ``weight_v``, and ``module.weight`` a plain tensor
recomputed by a forward pre-hook before every call.
"""
from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from ember.nn.module import Module, Parameter
from ember.tensor import Tensor, no_grad, note_inplace
from ember.nn.utils.weight_norm import remove_pre_hook

__all__ = ["SpectralNorm", "spectral_norm", "remove_spectral_norm"]


def default_dim(module: Module) -> int:
    """The output dimension of the module's weight: 1 for transposed convolutions (weight (C_in, C_out, …)),
    0 otherwise."""
    import ember.nn as layers  # at call time: every transposed conv ember.nn exports by then

    transposed = tuple(getattr(layers, n) for n in ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d")
                       if hasattr(layers, n))
    return 1 if isinstance(module, transposed) else 0


def reshape_weight_to_matrix(weight: Tensor, dim: int) -> Tensor:
    """``weight`` as a (size of ``dim``, everything else) matrix, ``dim`` moved first."""
    if dim != 0:
        weight = weight.permute(dim, *[d for d in range(weight.ndim) if d != dim])
    return weight.reshape(weight.shape[0], -1)


def normalize_into(out: np.ndarray, x: np.ndarray, eps: float) -> None:
    """out[...] = x / max(‖x‖, eps) (PyTorch's F.normalize(x, dim=0, eps, out=out))."""
    np.divide(x, max(float(np.sqrt(np.dot(x, x))), eps), out=out, casting="unsafe")


def _dim_in_range(dim: int, weight: Tensor, what: str) -> int:
    if not -weight.ndim <= dim < weight.ndim:
        raise IndexError(f"{what}: dim {dim} is out of range for a weight of shape {tuple(weight.shape)} "
                         f"(expected in [-{weight.ndim}, {weight.ndim - 1}])")
    return dim % weight.ndim


def _check_iterations(n_power_iterations: int) -> int:
    if isinstance(n_power_iterations, bool) or not isinstance(n_power_iterations, (int, np.integer)) \
            or n_power_iterations <= 0:
        raise ValueError(f"expected n_power_iterations to be a positive integer, got {n_power_iterations!r}")
    return int(n_power_iterations)


class SpectralNorm:
    """The forward pre-hook of :func:`spectral_norm`: ``module.<name> = <name>_orig / σ`` before each forward,
    with a power-iteration step on ``<name>_u`` / ``<name>_v`` (in place) when the module is training."""

    name: str
    dim: int
    n_power_iterations: int
    eps: float

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        self.name = name
        self.dim = dim
        self.n_power_iterations = _check_iterations(n_power_iterations)
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        return reshape_weight_to_matrix(weight, self.dim)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            w = weight_mat.array
            for _ in range(self.n_power_iterations):
                normalize_into(v.array, w.T @ u.array, self.eps)
                normalize_into(u.array, w @ v.array, self.eps)
            note_inplace((u.array, v.array), "spectral_norm power iteration")
        # copies: the next forward updates the buffers in place, and this graph must keep today's values
        u, v = Tensor(u.array.copy()), Tensor(v.array.copy())
        sigma = (u * (weight_mat @ v)).sum()
        return weight / sigma

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int, eps: float) -> "SpectralNorm":
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm) and hook.name == name:
                raise RuntimeError(f"cannot register two spectral_norm hooks on the same parameter {name!r}")
        weight = module._parameters.get(name)
        if weight is None:
            raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter named {name!r} (or it is "
                             f"None); its parameters: {[k for k, p in module._parameters.items() if p is not None]}")
        if weight.ndim == 0:
            raise ValueError(f"spectral_norm: {name!r} is a 0-d tensor; it needs at least one dimension")
        fn = SpectralNorm(name, n_power_iterations, _dim_in_range(dim, weight, "spectral_norm"), eps)
        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight).shape
            u, v = weight.new_empty(h).normal_(0, 1), weight.new_empty(w).normal_(0, 1)
            normalize_into(u.array, u.array, fn.eps)
            normalize_into(v.array, v.array, fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        return fn


T_module = TypeVar("T_module", bound=Module)


def spectral_norm(module: T_module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> T_module:
    """Divide ``module.<name>`` by its spectral norm, estimated by ``n_power_iterations`` power-iteration steps
    per training forward (none in eval mode, which reuses the last ``u``, ``v``).

    ``dim`` is the output dimension of the weight (default: 1 for transposed convolutions, else 0). The trained
    parameter becomes ``<name>_orig``; ``<name>_u`` and ``<name>_v`` are buffers; ``module.<name>`` is recomputed
    before each call (until the first call it holds the raw weight, as in PyTorch). Returns ``module``.
    """
    SpectralNorm.apply(module, name, n_power_iterations, default_dim(module) if dim is None else dim, eps)
    return module


def remove_spectral_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo :func:`spectral_norm`: ``module.<name>`` becomes a Parameter holding ``<name>_orig / σ`` with the
    current ``u``, ``v`` (no further power iteration)."""
    return remove_pre_hook(module, name, SpectralNorm, "spectral_norm")
