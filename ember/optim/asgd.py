"""ASGD: stochastic gradient descent with a decaying step and a running (Polyak) average of the weights."""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from ember.dtypes import get_default_dtype
from ember.optim.optimizer import Optimizer, _is_real, check_nonnegative, kernel_options

__all__ = ["ASGD"]


def _scalar(x: float) -> float:
    """``x`` rounded to the precision of the optimizer's scalar state (η, μ): float64 when the default dtype is
    float64, float32 otherwise, as PyTorch keeps them (it matters: η multiplies every weight)."""
    return float(np.float64(x) if get_default_dtype() == np.float64 else np.float32(x))


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992): SGD whose step size η decays as a power of the step count,
    plus a running average ``ax`` of the weights that starts at step t0. SGD with a decaying step only
    wanders around the minimum at the end; the average of those iterates lands much closer to it.

    At step t (counting from 1), with λ = ``lambd``, α = ``alpha`` and weight decay ω::

        g  = g + ω·w                                   (weight decay)
        w  = w·(1 − λ·η) − η·g                         (η from the previous step; η = lr at t = 1)
        ax = w                    if μ = 1
             ax + μ·(w − ax)      otherwise            (μ from the previous step; 1 until t0 is passed)
        η  = lr / (1 + λ·lr·t)^α
        μ  = 1 / max(1, t − t0)

    so ``ax`` follows the weights until step t0 and from then on is their running mean. The model keeps
    training with ``w``; the average is in ``optimizer.state[p]["ax"]`` — copy it into the weights to evaluate
    or deploy the averaged model. η and μ are stored rounded to the default dtype's precision (float32 unless
    ``ember.set_default_dtype(ember.float64)``), as PyTorch stores them. ``maximize=True`` ascends.

    Args:
        params: parameters or parameter groups.
        lr: the initial step size >= 0.
        lambd: λ >= 0, the decay term (it also shrinks the weights, by the factor 1 − λ·η each step).
        alpha: α >= 0, the power of the step-size decay.
        t0: the step after which averaging starts (>= 0).
        weight_decay: ω >= 0 (L2 penalty).
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize,
                        **kernel_options(foreach=foreach, differentiable=differentiable, capturable=capturable,
                                         has=("foreach", "differentiable", "capturable")))
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any]) -> None:
        # "alpha" here is a power, not a smoothing constant in [0, 1): it gets its own rule below
        super()._check_options({k: v for k, v in o.items() if k != "alpha"})
        check_nonnegative("lambd", o["lambd"], "decay term")
        check_nonnegative("t0", o["t0"], "averaging start")
        alpha = o["alpha"]
        if not _is_real(alpha) or not alpha >= 0 or math.isinf(alpha):
            raise ValueError(f"invalid power of the step-size decay: alpha={alpha!r}; it must be a finite number >= 0")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["eta"] = _scalar(group["lr"])
            state["mu"] = 1.0
            state["ax"] = np.zeros_like(p)
        state["step"] += 1
        step, eta, mu = state["step"], state["eta"], state["mu"]
        lr, lambd = group["lr"], group["lambd"]
        d = self._direction(p, g, group)
        p *= 1 - lambd * eta
        p -= np.multiply(d, eta, out=self._scratch(p, 1))
        ax = state["ax"]
        if mu != 1:
            diff = np.subtract(p, ax, out=self._scratch(p, 1))
            diff *= mu
            ax += diff
        else:
            np.copyto(ax, p)
        state["eta"] = _scalar(lr / ((1 + lambd * lr * step) ** group["alpha"]))
        state["mu"] = _scalar(1 / max(1, step - group["t0"]))
