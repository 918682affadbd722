"""RAdam: Adam with its adaptive step switched on only once the variance estimate can be trusted."""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from ember.optim._kernels import moments_
from ember.optim.optimizer import Optimizer, kernel_options

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""Rectified Adam (Liu et al., 2020): in the first steps the running g² average rests on too few samples
    and Adam's step is erratic (why Adam needs warm-up); RAdam takes plain momentum steps until the
    approximated length of the average, ρ_t, exceeds 5, then Adam's step times a rectifier r_t::

        v = μ·v + (1 − μ)·g;   s = ρ·s + (1 − ρ)·g⊙g;   v̂ = v / (1 − μ^t)
        ρ_∞ = 2/(1 − ρ) − 1;   ρ_t = ρ_∞ − 2t·ρ^t/(1 − ρ^t)
        ρ_t > 5:  r_t = √((ρ_t − 4)(ρ_t − 2)ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)ρ_t));  w = w − ε·v̂·r_t·√(1 − ρ^t)/(√s + δ)
        else:     w = w − ε·v̂

    Args:
        params: parameters or parameter groups.
        lr: ε >= 0.
        betas: (μ, ρ), each in [0, 1).
        eps: δ >= 0.
        weight_decay: λ >= 0; L2 unless ``decoupled_weight_decay`` (then as AdamW).
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
                        **kernel_options(foreach=foreach, capturable=capturable, differentiable=differentiable,
                                         has=("foreach", "capturable", "differentiable")))
        super().__init__(params, defaults)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t, lr = state["step"], group["lr"]
        beta1, beta2 = group["betas"]
        d = self._direction(p, g, group)
        v, s = state["exp_avg"], state["exp_avg_sq"]
        moments_(v, s, d, beta1, beta2, self._scratch(p, 1))
        bias1, bias2 = 1 - beta1 ** t, 1 - beta2 ** t
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / bias2
        step = np.divide(v, bias1, out=self._scratch(p, 1))
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            denom = np.sqrt(s, out=self._scratch(p, 2))
            denom += group["eps"]
            step *= lr * math.sqrt(bias2) * rect
            step /= denom
        else:
            step *= lr
        p -= step
