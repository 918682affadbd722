"""Rprop: resilient backpropagation, per-weight step sizes driven by the sign of the gradient only."""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from ember.optim.optimizer import Optimizer, _is_real, kernel_options

__all__ = ["Rprop"]


def check_etas(etas) -> None:
    """Rprop's ``etas``: a pair (η−, η+) with 0 < η− < 1 < η+ (a shrink factor and a growth factor)."""
    if not isinstance(etas, (tuple, list)) or len(etas) != 2 or not all(_is_real(e) for e in etas):
        raise ValueError(f"invalid etas={etas!r}; it must be a pair of numbers (etaminus, etaplus), e.g. (0.5, 1.2)")
    if not (0 < etas[0] < 1 < etas[1]) or math.isinf(etas[1]):
        raise ValueError(f"invalid etas={tuple(etas)!r}; they must satisfy 0 < etaminus < 1 < etaplus (finite)")


def check_step_sizes(step_sizes) -> None:
    """Rprop's ``step_sizes``: a pair (Γ_min, Γ_max) with 0 <= Γ_min <= Γ_max (Γ_max may be infinite)."""
    if not isinstance(step_sizes, (tuple, list)) or len(step_sizes) != 2 or not all(_is_real(s) for s in step_sizes):
        raise ValueError(f"invalid step_sizes={step_sizes!r}; it must be a pair of numbers (min, max), "
                         "e.g. (1e-6, 50)")
    lo, hi = step_sizes
    if not (0 <= lo <= hi) or math.isinf(lo):
        raise ValueError(f"invalid step_sizes={tuple(step_sizes)!r}; they must satisfy 0 <= min <= max")


class Rprop(Optimizer):
    r"""Rprop (Riedmiller & Braun, 1993): each weight has its own step size η, and only the *sign* of the
    gradient is used. While the gradient keeps its sign the step grows; when the sign flips, the last step
    jumped over a minimum, so the step shrinks and that weight pauses for one step::

        g·g_prev > 0:  η = min(η·η+, Γ_max)
        g·g_prev < 0:  η = max(η·η−, Γ_min);  g = 0      (no move now; the next step sees g_prev = 0)
        otherwise:     η unchanged
        w = w − η·sign(g);   g_prev = g

    η starts at ``lr`` for every weight (``step_size`` in the state) and g_prev at 0 (``prev``). After that
    the learning rate plays no part: changing ``lr`` (e.g. with a schedule) does not change a running Rprop.
    Because the gradient's size is ignored, Rprop suits full-batch training; with noisy mini-batch gradients
    the signs flip at random and the steps shrink. ``maximize=True`` ascends (the gradient is negated first).

    Args:
        params: parameters or parameter groups.
        lr: the initial step size η >= 0.
        etas: (η−, η+) with 0 < η− < 1 < η+, the factors that shrink and grow η.
        step_sizes: (Γ_min, Γ_max) with 0 <= Γ_min <= Γ_max, the range η is kept in.
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        defaults = dict(lr=lr, etas=tuple(etas) if isinstance(etas, list) else etas,
                        step_sizes=tuple(step_sizes) if isinstance(step_sizes, list) else step_sizes,
                        maximize=maximize,
                        **kernel_options(foreach=foreach, differentiable=differentiable, capturable=capturable,
                                         has=("foreach", "differentiable", "capturable")))
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any]) -> None:
        super()._check_options(o)
        check_etas(o["etas"])
        check_step_sizes(o["step_sizes"])

    def _flags(self, like: np.ndarray, slot: int) -> np.ndarray:
        """A reusable boolean array shaped like ``like`` (workspace slot ``slot``)."""
        return self._scratch(np.broadcast_to(np.False_, like.shape), slot)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["prev"] = np.zeros_like(p)
            state["step_size"] = np.full_like(p, group["lr"])
        state["step"] += 1
        etaminus, etaplus = group["etas"]
        lo, hi = group["step_sizes"]
        d = self._direction(p, g, group)  # g, or −g with maximize; never written to
        prev, eta = state["prev"], state["step_size"]
        prod = np.multiply(d, prev, out=self._scratch(p, 1))
        grew, shrank = np.greater(prod, 0, out=self._flags(p, 0)), np.less(prod, 0, out=self._flags(p, 1))
        factor = self._scratch(p, 2)
        factor.fill(1)
        np.copyto(factor, etaplus, where=grew)
        np.copyto(factor, etaminus, where=shrank)
        eta *= factor
        np.clip(eta, lo, hi, out=eta)
        np.copyto(prev, d)  # the gradient this step follows, zero where the sign flipped
        np.copyto(prev, 0, where=shrank)
        move = np.sign(prev, out=self._scratch(p, 1))
        move *= eta
        p -= move
