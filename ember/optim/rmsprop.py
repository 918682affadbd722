"""RMSProp: AdaGrad with a leaky (exponentially decaying) sum of squared gradients (NOTES §4)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ember.optim._kernels import lerp_
from ember.optim.optimizer import Optimizer, kernel_options

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSProp: scale each weight's step by a running root-mean-square of its gradients.

    NOTES §4: ``r = ρ·r + (1−ρ)·g⊙g``, then as AdaGrad, ``w = w − ε·g/(√r + δ)``.
    Here ρ is ``alpha`` and δ is ``eps``. In full::

        g = g + λ·w                              (weight decay)
        r = ρ·r + (1 − ρ)·g⊙g
        centered:  ḡ = ρ·ḡ + (1 − ρ)·g;  s = √(r − ḡ⊙ḡ) + δ     (an estimate of the variance)
        otherwise: s = √r + δ
        momentum μ > 0:  b = μ·b + g/s;  w = w − ε·b
        otherwise:       w = w − ε·g/s

    Unlike AdaGrad's sum, ``r`` forgets old gradients, so the steps do not
    shrink to nothing on long runs.

    Args:
        params: parameters or parameter groups.
        lr: ε >= 0.
        alpha: ρ in [0, 1), the decay of the running average.
        eps: δ >= 0.
        weight_decay: λ >= 0 (L2 penalty).
        momentum: μ in [0, 1).
        centered: normalise by the estimated variance instead of the raw second moment.
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False, capturable: bool = False, foreach: bool | None = None,
                 differentiable: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize,
                        **kernel_options(capturable=capturable, foreach=foreach, differentiable=differentiable,
                                         has=("capturable", "foreach", "differentiable")))
        super().__init__(params, defaults)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        alpha, momentum = group["alpha"], group["momentum"]
        d = self._direction(p, g, group)
        r = state["square_avg"]
        r *= alpha
        t = np.multiply(d, 1 - alpha, out=self._scratch(p, 1))
        t *= d
        r += t
        s = self._scratch(p, 2)
        if group["centered"]:
            if "grad_avg" not in state:  # centered switched on after the first step
                state["grad_avg"] = np.zeros_like(p)
            gbar = state["grad_avg"]
            lerp_(gbar, d, 1 - alpha, self._scratch(p, 1))
            np.multiply(gbar, gbar, out=s)
            np.subtract(r, s, out=s)
            np.sqrt(s, out=s)
        else:
            np.sqrt(r, out=s)
        s += group["eps"]
        if momentum > 0:
            buf = state.get("momentum_buffer")
            if buf is None:  # momentum switched on after the first step (e.g. by a schedule)
                buf = state["momentum_buffer"] = np.zeros_like(p)
            buf *= momentum
            buf += np.divide(d, s, out=self._scratch(p, 1))
            p -= np.multiply(buf, group["lr"], out=self._scratch(p, 1))
        else:
            t = np.multiply(d, -group["lr"], out=self._scratch(p, 1))
            t /= s
            p += t
