"""Stochastic gradient descent, with momentum and Nesterov momentum (NOTES §4)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ember.optim.optimizer import Optimizer, kernel_options

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum.

    With gradient ``g`` of the loss w.r.t. a weight ``w``, learning rate ε
    (``lr``), momentum μ (``momentum``), dampening τ and weight decay λ::

        g = g + λ·w                  (weight decay: the gradient of the L2 term λ/2·‖w‖²)
        v = μ·v + (1 − τ)·g          (the first step sets v = g)
        g = g + μ·v  if nesterov  else  v
        w = w − ε·g

    With the default τ = 0 this is NOTES §4's momentum, ``v = μ·v + g; w = w − ε·v``
    (μ in [0, 1), usually 0.9); with μ = 0 it is plain ``w = w − ε·g``. The
    velocity ``v`` absorbs the learning rate in some texts (``v = μv − εg;
    w = w + v``); the two agree while ε is constant. ``maximize=True`` ascends.

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate ε (>= 0).
        momentum: μ in [0, 1).
        dampening: τ in [0, 1], scales the new gradient's share of the velocity.
        weight_decay: λ >= 0 (L2 penalty).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening = 0).
        maximize: maximize the objective instead of minimizing.

    Example::

        opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize,
                        **kernel_options(foreach=foreach, differentiable=differentiable, fused=fused,
                                         has=("foreach", "differentiable", "fused")))
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any]) -> None:
        super()._check_options(o)
        if o["nesterov"] and (o["momentum"] <= 0 or o["dampening"] != 0):
            raise ValueError(f"Nesterov momentum requires a momentum > 0 and zero dampening, got "
                             f"momentum={o['momentum']!r}, dampening={o['dampening']!r}")

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        momentum = group["momentum"]
        d = self._direction(p, g, group)  # never written to below (it may be the gradient itself)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = d.copy()
            else:
                buf *= momentum
                if group["dampening"] == 0:
                    buf += d
                else:
                    buf += np.multiply(d, 1 - group["dampening"], out=self._scratch(p, 1))
            if group["nesterov"]:
                t = np.multiply(buf, momentum, out=self._scratch(p, 1))
                d = np.add(d, t, out=self._scratch(p, 0))
            else:
                d = buf
        p -= np.multiply(d, group["lr"], out=self._scratch(p, 1))
