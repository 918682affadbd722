"""AdaGrad: per-weight learning rates from the running sum of squared gradients (NOTES §4)."""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ember.optim.optimizer import Optimizer, kernel_options

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""AdaGrad: divide each weight's step by the root of the sum of its squared gradients so far.

    NOTES §4: ``r = r + g⊙g; w = w − ε/(√r + δ)·g``. In full, at step t::

        g   = g + λ·w                         (weight decay)
        ε_t = ε / (1 + (t − 1)·lr_decay)
        r   = r + g⊙g                         (r starts at initial_accumulator_value)
        w   = w − ε_t · g / (√r + δ)

    Weights with large past gradients take small steps and rarely-updated ones
    large steps. Because ``r`` only grows, the steps shrink until learning
    stalls; the notes suggest resetting the sum every few epochs when that
    happens: ``reset_every=n`` sets each parameter's ``r`` back to
    ``initial_accumulator_value`` after every n-th update of that parameter, and
    :meth:`reset_accumulators` does it on demand (e.g. from an epoch callback
    when the validation loss plateaus). The step count ``t`` (and with it the
    ``lr_decay`` schedule) carries on through a reset.

    Args:
        params: parameters or parameter groups.
        lr: ε >= 0.
        lr_decay: >= 0, the 1/t decay of ε above.
        weight_decay: λ >= 0 (L2 penalty).
        initial_accumulator_value: >= 0, the starting value of r.
        eps: δ >= 0; the notes use 1e-5 or 1e-7, PyTorch's default is 1e-10.
        reset_every: None (never) or a positive number of steps between resets of r.
        maximize: maximize the objective instead of minimizing.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None,
                 reset_every: int | None = None) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize,
                        reset_every=reset_every,
                        **kernel_options(foreach=foreach, differentiable=differentiable, fused=fused,
                                         has=("foreach", "differentiable", "fused")))
        super().__init__(params, defaults)

    def _check_options(self, o: dict[str, Any]) -> None:
        super()._check_options(o)
        n = o["reset_every"]
        if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
            raise ValueError(f"invalid reset_every={n!r}; it must be None (never reset) or a positive number of steps")

    def _init_state(self, p: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = 0
        state["sum"] = np.full_like(p, group["initial_accumulator_value"])

    def reset_accumulators(self) -> None:
        """Set every parameter's sum of squared gradients back to its group's initial_accumulator_value."""
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.get(p)
                if state:
                    state["sum"].fill(group["initial_accumulator_value"])

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        if not state:
            self._init_state(p, state, group)
        state["step"] += 1
        step = state["step"]
        d = self._direction(p, g, group)
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        r = state["sum"]
        r += np.multiply(d, d, out=self._scratch(p, 1))
        std = np.sqrt(r, out=self._scratch(p, 1))
        std += group["eps"]
        upd = np.multiply(d, -clr, out=self._scratch(p, 2))
        upd /= std
        p += upd
        n = group["reset_every"]
        if n is not None and step % n == 0:
            r.fill(group["initial_accumulator_value"])
