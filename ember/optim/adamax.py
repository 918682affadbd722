"""Adamax: Adam with the infinity norm in place of the root mean square."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ember.optim._kernels import lerp_
from ember.optim.optimizer import Optimizer, kernel_options

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, §7): Adam's second moment replaced by an exponentially weighted infinity
    norm, which needs no bias correction and is robust to rare huge gradients::

        v = μ·v + (1 − μ)·g                 (``exp_avg``)
        u = max(ρ·u, |g| + δ)               (``exp_inf``)
        w = w − ε/(1 − μ^t) · v / u

    Args:
        params: parameters or parameter groups.
        lr: ε >= 0 (2e-3 by default).
        betas: (μ, ρ), each in [0, 1).
        eps: δ >= 0.
        weight_decay: λ >= 0 (L2 penalty).
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, maximize=maximize,
                        **kernel_options(foreach=foreach, differentiable=differentiable, capturable=capturable,
                                         has=("foreach", "differentiable", "capturable")))
        super().__init__(params, defaults)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_inf"] = np.zeros_like(p)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        d = self._direction(p, g, group)
        v, u = state["exp_avg"], state["exp_inf"]
        lerp_(v, d, 1 - beta1, self._scratch(p, 1))
        u *= beta2
        t = np.abs(d, out=self._scratch(p, 1))
        t += group["eps"]
        np.maximum(u, t, out=u)
        step = np.divide(v, u, out=self._scratch(p, 1))
        step *= -group["lr"] / (1 - beta1 ** state["step"])
        p += step
