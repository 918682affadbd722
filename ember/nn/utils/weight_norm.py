"""Weight normalisation (Salimans & Kingma 2016), the hook-based API: ``w = g · v / ‖v‖``.

Splitting a weight into a magnitude ``g`` and a direction ``v`` decouples the two, which conditions gradient
descent better than training ``w`` itself. ``weight_norm(module)`` replaces ``module.weight`` by the parameters
``weight_g`` (one norm per slice along ``dim``) and ``weight_v`` (the weight itself at the start), and a forward
pre-hook recomputes ``module.weight`` from them before every call, as PyTorch's ``torch.nn.utils.weight_norm``.
The parametrization API (``ember.nn.utils.parametrizations.weight_norm``) is the newer form of the same thing.

The formula is composed of differentiable tensor ops: with ‖v‖ taken over every dimension but ``dim``,
  ∂L/∂g = Σ_{slice} ∂L/∂w · v / ‖v‖,   ∂L/∂v = (g/‖v‖) (∂L/∂w − (∂L/∂w · v̂) v̂),  v̂ = v/‖v‖.
"""
from __future__ import annotations

from typing import Any, TypeVar

from ember.nn.module import Module, Parameter
from ember.tensor import Tensor

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm", "norm_except_dim"]


def _whole(dim: int | None, ndim: int) -> bool:
    return dim is None or dim == -1 or ndim == 0


def norm_except_dim(v: Tensor, pow: float = 2, dim: int | None = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dimension except ``dim``, kept broadcastable against ``v`` (size 1
    everywhere but ``dim``); ``dim`` None or −1 takes the norm of the whole tensor (a 0-d result), as
    PyTorch's ``torch.norm_except_dim``."""
    if _whole(dim, v.ndim):
        return v.norm(pow)
    if not -v.ndim <= dim < v.ndim:
        raise IndexError(f"norm_except_dim: dim {dim} is out of range for a weight of shape {tuple(v.shape)}")
    dim %= v.ndim
    axes = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(pow, dim=axes, keepdim=True) if axes else v.abs()


def _weight_norm(v: Tensor, g: Tensor, dim: int | None = 0) -> Tensor:
    """w = v · g / ‖v‖ (the norm from :func:`norm_except_dim`); differentiable in ``v`` and ``g``."""
    return v * (g / norm_except_dim(v, 2, dim))


class WeightNorm:
    """The forward pre-hook of :func:`weight_norm`: ``module.<name> = g · v / ‖v‖`` before each forward."""

    name: str
    dim: int

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Tensor:
        return _weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> "WeightNorm":
        for hook in module._forward_pre_hooks.values():
            if isinstance(hook, WeightNorm) and hook.name == name:
                raise RuntimeError(f"cannot register two weight_norm hooks on the same parameter {name!r}")
        weight = module._parameters.get(name)
        if not isinstance(weight, Parameter):
            raise ValueError(f"weight_norm: {type(module).__name__} has no parameter named {name!r}; its "
                             f"parameters: {[k for k, p in module._parameters.items() if p is not None]}")
        fn = WeightNorm(name, dim)
        if not _whole(fn.dim, weight.ndim) and not -weight.ndim <= fn.dim < weight.ndim:
            raise IndexError(f"weight_norm: dim {dim} is out of range for {name!r} of shape {tuple(weight.shape)}")
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight.detach(), 2, fn.dim)))
        module.register_parameter(name + "_v", Parameter(weight.detach()))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


T_module = TypeVar("T_module", bound=Module)


def weight_norm(module: T_module, name: str = "weight", dim: int | None = 0) -> T_module:
    """Re-parametrize ``module.<name>`` as ``g · v / ‖v‖`` with parameters ``<name>_g`` and ``<name>_v``.

    ``dim`` is the dimension that keeps one norm per slice (0: one per output unit/channel; None: one norm for
    the whole tensor). ``module.<name>`` becomes a plain tensor recomputed by a forward pre-hook before every
    call (read between calls, it is the value of the last call). The new parameters replace the old one: build
    the optimizer afterwards. Returns ``module``.
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: T_module, name: str = "weight") -> T_module:
    """Undo :func:`weight_norm`: ``module.<name>`` becomes a Parameter again, holding the current g · v / ‖v‖."""
    return remove_pre_hook(module, name, WeightNorm, "weight_norm")


def remove_pre_hook(module: T_module, name: str, kind: type, what: str) -> T_module:
    """Take off the forward pre-hook of type ``kind`` that recomputes ``module.<name>`` (letting it put a plain
    Parameter back); ``what`` names the function that added it, for the error when there is none."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, kind) and hook.name == name:
            hook.remove(module)
            del module._forward_pre_hooks[key]
            return module
    raise ValueError(f"{what} of {name!r} not found in {type(module).__name__}")
