"""Adam (momentum + RMSProp with bias correction, NOTES §4) and AdamW (decoupled weight decay)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ember.optim._kernels import moments_
from ember.optim.optimizer import Optimizer, kernel_options

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam: a momentum average of the gradient divided by a running RMS of it, both bias-corrected.

    NOTES §4, with μ, ρ = ``betas`` and δ = ``eps``::

        v = μ·v + (1 − μ)·g                  (first moment; ``exp_avg``)
        r = ρ·r + (1 − ρ)·g⊙g                (second moment; ``exp_avg_sq``)
        v̂ = v / (1 − μ^t);  r̂ = r / (1 − ρ^t)   (bias correction: v and r start at 0)
        w = w − ε·v̂ / (√r̂ + δ)

    with μ = 0.9, ρ = 0.999, δ = 1e-8 (rarely tuned; NOTES §9). Weight decay λ
    adds λ·w to the gradient first (an L2 penalty, which the second moment then
    rescales; :class:`AdamW` decouples it). ``amsgrad=True`` uses the running
    maximum of r in place of r, so no weight's effective step ever grows.

    Args:
        params: parameters or parameter groups.
        lr: ε >= 0.
        betas: (μ, ρ), each in [0, 1).
        eps: δ >= 0.
        weight_decay: λ >= 0.
        amsgrad: use the AMSGrad variant.
        maximize: maximize the objective instead of minimizing.
        decoupled_weight_decay: decay the weights directly, as :class:`AdamW` does.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        if isinstance(betas, list):
            betas = tuple(betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay,
                        **kernel_options(foreach=foreach, capturable=capturable, differentiable=differentiable,
                                         fused=fused, has=("foreach", "capturable", "differentiable", "fused")))
        super().__init__(params, defaults)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        step, lr = state["step"], group["lr"]
        beta1, beta2 = group["betas"]
        d = self._direction(p, g, group)
        v, r = state["exp_avg"], state["exp_avg_sq"]
        moments_(v, r, d, beta1, beta2, self._scratch(p, 1))
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:  # amsgrad switched on after the first step
                state["max_exp_avg_sq"] = np.zeros_like(p)
            r = np.maximum(state["max_exp_avg_sq"], r, out=state["max_exp_avg_sq"])
        denom = np.sqrt(r, out=self._scratch(p, 2))
        denom /= bias_correction2**0.5
        denom += group["eps"]
        t = np.multiply(v, -step_size, out=self._scratch(p, 1))
        t /= denom
        p += t


class AdamW(Adam):
    r"""Adam with decoupled weight decay: the decay shrinks the weights directly instead of entering the gradient.

    Each step first does ``w = w − ε·λ·w`` and then the plain Adam update
    (see :class:`Adam`). With L2 regularisation inside Adam, heavily-updated
    weights (large r) would be decayed less; decoupling makes the decay uniform.
    Same arguments as :class:`Adam`, but ``weight_decay`` defaults to 1e-2 and
    the decay is always decoupled (``decoupled_weight_decay=True``).
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:  # an Adam state loaded into AdamW stays AdamW
            group["decoupled_weight_decay"] = True
