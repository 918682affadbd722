"""Adadelta: AdaGrad's per-weight step sizes from running averages, with units fixed by a second average."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ember.optim.optimizer import Optimizer, kernel_options

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012): RMSProp's running average of g², and the step scaled by a running RMS of the
    past steps themselves, so that the update has the units of the weights and needs no learning rate::

        r = ρ·r + (1 − ρ)·g⊙g                       (``square_avg``)
        Δ = √(u + δ) / √(r + δ) · g
        u = ρ·u + (1 − ρ)·Δ⊙Δ                       (``acc_delta``)
        w = w − ε·Δ                                 (ε = ``lr``, 1.0 by default)

    Args:
        params: parameters or parameter groups.
        lr: ε >= 0, a scale on the step (1.0: the method as published).
        rho: ρ in [0, 1).
        eps: δ >= 0.
        weight_decay: λ >= 0 (L2 penalty).
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        **kernel_options(capturable=capturable, foreach=foreach, differentiable=differentiable,
                                         has=("capturable", "foreach", "differentiable")))
        super().__init__(params, defaults)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            state["acc_delta"] = np.zeros_like(p)
        state["step"] += 1
        rho, eps = group["rho"], group["eps"]
        d = self._direction(p, g, group)
        r, u = state["square_avg"], state["acc_delta"]
        r *= rho
        t = np.multiply(d, 1 - rho, out=self._scratch(p, 1))
        t *= d
        r += t
        std = np.add(r, eps, out=self._scratch(p, 2))
        np.sqrt(std, out=std)
        delta = np.add(u, eps, out=self._scratch(p, 1))
        np.sqrt(delta, out=delta)
        delta /= std
        delta *= d
        u *= rho
        t = np.multiply(delta, 1 - rho, out=self._scratch(p, 2))
        t *= delta
        u += t
        delta *= -group["lr"]
        p += delta
