"""Weight and spectral normalisation as parametrizations (PyTorch's ``torch.nn.utils.parametrizations``).

Unlike the hook-based ``ember.nn.utils.weight_norm`` / ``spectral_norm``, these recompute ``module.weight`` on
every access (wrap a forward in ``parametrize.cached()`` to compute it once), and are removed with
``parametrize.remove_parametrizations``. The state_dict keys are PyTorch's: ``parametrizations.weight.original0``
(g) and ``original1`` (v) for weight_norm; ``parametrizations.weight.original`` and the vectors
``parametrizations.weight.0._u`` / ``._v`` for spectral_norm.
"""
from __future__ import annotations

from typing import TypeVar

from ember.nn.functional import normalize
from ember.nn.module import Module
from ember.nn.utils import parametrize
from ember.nn.utils.spectral_norm import (_check_iterations, _dim_in_range, default_dim, normalize_into,
                                          reshape_weight_to_matrix)
from ember.nn.utils.weight_norm import _weight_norm, norm_except_dim
from ember.tensor import Tensor, no_grad, note_inplace

__all__ = ["weight_norm", "spectral_norm"]

T_module = TypeVar("T_module", bound=Module)


class _WeightNorm(Module):
    """w = g · v / ‖v‖ from (g, v) = (original0, original1); ``right_inverse`` splits a weight into them."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple[Tensor, Tensor]:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: T_module, name: str = "weight", dim: int | None = 0) -> T_module:
    """Re-parametrize ``module.<name>`` as ``g · v / ‖v‖`` (Salimans & Kingma 2016): magnitude and direction
    trained separately. ``g`` (one norm per slice along ``dim``; None: one for the whole tensor) and ``v`` are
    ``module.parametrizations.<name>.original0`` and ``original1``. Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"weight_norm: {type(module).__name__} has no parameter or buffer named {name!r}")
    if dim is not None and dim != -1 and not -weight.ndim <= dim < weight.ndim:
        raise IndexError(f"weight_norm: dim {dim} is out of range for {name!r} of shape {tuple(weight.shape)}")
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    """W / σ(W), σ estimated by power iteration on the buffers ``_u``, ``_v`` (one step per training forward,
    updated in place; 15 steps at construction). A 1-D weight is simply normalised to unit length."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        self.dim = _dim_in_range(dim, weight, "spectral_norm")
        self.eps = eps
        n_power_iterations = _check_iterations(n_power_iterations)
        if weight.ndim > 1:  # a vector's norm is exact: nothing to estimate
            self.n_power_iterations = n_power_iterations
            with no_grad():
                weight_mat = reshape_weight_to_matrix(weight.detach(), self.dim)
                h, w = weight_mat.shape
                u, v = weight.new_empty(h).normal_(0, 1), weight.new_empty(w).normal_(0, 1)
                normalize_into(u.array, u.array, eps)
                normalize_into(v.array, v.array, eps)
            self.register_buffer("_u", u)
            self.register_buffer("_v", v)
            self._power_method(weight_mat, 15)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        """u ← normalize(W v), v ← normalize(Wᵀ u), in place in the buffers, outside the graph."""
        w, u, v = weight_mat.array, self._u.array, self._v.array
        for _ in range(n_power_iterations):
            normalize_into(u, w @ v, self.eps)
            normalize_into(v, w.T @ u, self.eps)
        note_inplace((u, v), "spectral_norm power iteration")

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        weight_mat = reshape_weight_to_matrix(weight, self.dim)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # copies: the next training forward updates the buffers in place, and this graph keeps today's values
        u, v = Tensor(self._u.array.copy()), Tensor(self._v.array.copy())
        sigma = (u * (weight_mat @ v)).sum()
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        return value


def spectral_norm(module: T_module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12,
                  dim: int | None = None) -> T_module:
    """Divide ``module.<name>`` by its largest singular value σ (Miyato et al. 2018), estimated by power
    iteration: ``n_power_iterations`` steps on each access in training mode, none in eval mode. ``dim`` is the
    output dimension (default 1 for transposed convolutions, else 0); the weight is read as a matrix with that
    dimension first. The trained tensor is ``module.parametrizations.<name>.original``; the singular vectors are
    the buffers ``module.parametrizations.<name>[0]._u`` and ``._v``. Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"spectral_norm: {type(module).__name__} has no parameter or buffer named {name!r}")
    if weight.ndim == 0:
        raise ValueError(f"spectral_norm: {name!r} is a 0-d tensor; it needs at least one dimension")
    dim = default_dim(module) if dim is None else dim
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
