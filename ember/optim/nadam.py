"""NAdam: Adam with Nesterov momentum."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ember.optim._kernels import moments_
from ember.optim.optimizer import Optimizer, kernel_options

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016): Adam whose momentum looks one step ahead, as Nesterov's does, with a momentum
    coefficient that warms up over the first steps (``momentum_decay`` ψ)::

        μ_t = μ·(1 − ½·0.96^(t·ψ))           (and μ_{t+1} likewise; Π_t = μ_1·…·μ_t)
        v = μ·v + (1 − μ)·g;   r = ρ·r + (1 − ρ)·g⊙g
        D = √(r / (1 − ρ^t)) + δ
        w = w − ε·(1 − μ_t)/(1 − Π_t) · g/D − ε·μ_{t+1}/(1 − Π_t·μ_{t+1}) · v/D

    Args:
        params: parameters or parameter groups.
        lr: ε >= 0 (2e-3 by default).
        betas: (μ, ρ), each in [0, 1).
        eps: δ >= 0.
        weight_decay: λ >= 0; L2 unless ``decoupled_weight_decay`` (then as AdamW: NAdamW).
        momentum_decay: ψ >= 0.
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        **kernel_options(foreach=foreach, capturable=capturable, differentiable=differentiable,
                                         has=("foreach", "capturable", "differentiable")))
        super().__init__(params, defaults)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t, lr, psi = state["step"], group["lr"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        d = self._direction(p, g, group)
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        # PyTorch keeps the product in a float32 tensor: rounding it the same way keeps the two in step
        mu_product = state["mu_product"] = float(np.float32(state["mu_product"] * mu))
        v, r = state["exp_avg"], state["exp_avg_sq"]
        moments_(v, r, d, beta1, beta2, self._scratch(p, 1))
        denom = np.divide(r, 1 - beta2 ** t, out=self._scratch(p, 2))
        np.sqrt(denom, out=denom)
        denom += group["eps"]
        s = np.divide(d, denom, out=self._scratch(p, 1))
        s *= -lr * (1 - mu) / (1 - mu_product)
        p += s
        s = np.divide(v, denom, out=self._scratch(p, 1))
        s *= -lr * mu_next / (1 - mu_product * mu_next)
        p += s
