"""Learning-rate schedules (NOTES §4): step decay, 1/t decay, exponential, polynomial, cosine (with
warm restarts), cyclical, one-cycle, linear warm-up for large batches, and halving the rate when
the validation loss plateaus.

PyTorch's semantics: a scheduler wraps an optimizer; building it records each
group's ``initial_lr`` and sets the rate for epoch 0; every ``scheduler.step()``
(after ``optimizer.step()``, once per epoch or once per batch, as the schedule
is meant) advances ``last_epoch`` by one and writes the new rate into every
parameter group. ``get_last_lr()`` is the list of rates now in force.
``state_dict()`` is plain data (numbers, strings, lists, dicts).

Resuming: build the optimizer and the scheduler as before, then
``optimizer.load_state_dict(...)`` and ``scheduler.load_state_dict(...)``.

Most schedules update the rate *recursively* from the group's current rate
(``lr ← lr·γ``), exactly as PyTorch does, so they compose: two schedulers on
one optimizer multiply their effects (see :class:`ChainedScheduler`), and
:class:`SequentialLR` runs one after another (e.g. a warm-up, then cosine).
"""
from __future__ import annotations

import copy
import math
import numbers
import types
import warnings
from bisect import bisect_right
from typing import Any, Callable, Sequence

from ember.optim.optimizer import Optimizer

__all__ = [
    "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "ExponentialLR",
    "InverseTimeLR", "LinearLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR",
    "SequentialLR", "ChainedScheduler", "OneCycleLR", "WarmupLR", "ReduceLROnPlateau", "linear_scaling_rule",
]


# ------------------------------------------------------------------ argument checks


def _check_optimizer(optimizer) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"a learning-rate scheduler needs an ember.optim.Optimizer, got {type(optimizer).__name__}")


def _check_int(name: str, value, minimum: int) -> None:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {name}={value!r}")


def _check_positive(name: str, value) -> None:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite number > 0, got {name}={value!r}")


def _check_nonnegative(name: str, value) -> None:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0 or math.isinf(value):
        raise ValueError(f"{name} must be a finite number >= 0, got {name}={value!r}")


def _per_group(name: str, optimizer: Optimizer, value) -> list:
    """One value per parameter group: a list/tuple of that length, or one value repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(f"{name} must have one value per parameter group: got {len(value)} values for "
                             f"{len(optimizer.param_groups)} groups")
        return list(value)
    return [value] * len(optimizer.param_groups)


# ------------------------------------------------------------------ base class


class LRScheduler:
    """Base class of the schedules: subclasses implement ``get_lr()`` (the rates for ``self.last_epoch``).

    Args:
        optimizer: the ember optimizer whose groups' ``lr`` this schedule sets.
        last_epoch: the index of the last epoch seen; -1 (default) starts a new
            schedule. Another value needs ``initial_lr`` in every group (a resumed
            optimizer); :meth:`load_state_dict` is the usual way to resume.
    """

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        if not isinstance(last_epoch, numbers.Integral) or last_epoch < -1:
            raise ValueError(f"last_epoch must be an integer >= -1, got last_epoch={last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param_groups[{i}] has no 'initial_lr', which resuming a schedule with "
                                   f"last_epoch={last_epoch} needs; load the optimizer's state_dict first, or "
                                   "start with last_epoch=-1 and load the scheduler's state_dict")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._initial_step()

    def _initial_step(self) -> None:
        """Set the rates for the first epoch (called by the constructor)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The rates for epoch ``self.last_epoch`` (called by step; use get_last_lr() to read the rates)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The learning rate of every parameter group, as last set by this scheduler."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance the schedule by one epoch (or batch) and set the new rates. Call it after optimizer.step()."""
        # (an optimizer that overrides step() does not count its steps: no warning then)
        if self._step_count == 1 and type(self.optimizer).step is Optimizer.step and self.optimizer._step_count == 0:
            warnings.warn("scheduler.step() was called before optimizer.step(): the first value of the schedule "
                          "is skipped. Call optimizer.step() first, then scheduler.step()", UserWarning, stacklevel=2)
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _group_lrs(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    # ------------------------------------------------------------------ saving and resuming
    _not_saved: tuple[str, ...] = ("optimizer",)

    def state_dict(self) -> dict[str, Any]:
        """The schedule's state (everything but the optimizer) as plain data."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in self._not_saved}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by :meth:`state_dict` (load the optimizer's state too)."""
        self.__dict__.update({k: copy.deepcopy(v) for k, v in state_dict.items() if k not in self._not_saved})

    def __repr__(self) -> str:
        epoch = getattr(self, "last_epoch", None)
        return f"{type(self).__name__}(" + (f"last_epoch={epoch}, " if epoch is not None else "") + \
            f"last_lr={self.get_last_lr()})"


# ------------------------------------------------------------------ the schedules


def _callable_state(fn) -> dict | None:
    """What state_dict keeps of a user function: a callable object's attributes; nothing for a plain function."""
    return None if isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__)


class _LambdaScheduler(LRScheduler):
    """A schedule driven by user functions of the epoch, one for all groups or one per group.

    The functions themselves are not saved by :meth:`state_dict` (only the attributes of
    callable objects are); pass the same ones when resuming.
    """

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * len(optimizer.param_groups)
        if len(fns) != len(optimizer.param_groups):
            raise ValueError(f"expected {len(optimizer.param_groups)} lr_lambdas (one per parameter group), "
                             f"got {len(fns)}")
        for fn in fns:
            if not callable(fn):
                raise TypeError(f"lr_lambda must be callable (epoch -> factor), got {type(fn).__name__}")
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["lr_lambdas"] = [_callable_state(fn) for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for fn, saved in zip(self.lr_lambdas, state_dict.get("lr_lambdas", [])):
            if saved is not None:
                fn.__dict__.update(copy.deepcopy(saved))


class LambdaLR(_LambdaScheduler):
    """``lr = initial_lr · lr_lambda(epoch)``, one function for all groups or a list with one per group."""

    def get_lr(self) -> list[float]:
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaScheduler):
    """Multiply the current rate by ``lr_lambda(epoch)`` at every step (after the first epoch).

    The factor compounds: ``lambda e: 0.95`` is exponential decay; a factor that depends on
    the epoch shapes the decay as it goes.
    """

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._group_lrs()
        return [lr * fn(self.last_epoch) for fn, lr in zip(self.lr_lambdas, self._group_lrs())]


class StepLR(LRScheduler):
    """Step decay (NOTES §4): multiply the rate by ``gamma`` every ``step_size`` epochs.

    ``lr = initial_lr · gamma^⌊epoch / step_size⌋``; e.g. step_size=30, gamma=0.1
    gives 0.1 for epochs 0-29, 0.01 for 30-59, ...
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        if isinstance(step_size, float) and step_size.is_integer():
            step_size = int(step_size)  # StepLR(opt, 1.0, gamma=0.95), as PyTorch's transformer tutorial writes it
        _check_int("step_size", step_size, 1)
        _check_positive("gamma", gamma)
        self.step_size = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the rate by ``gamma`` at each epoch listed in ``milestones`` (e.g. ``[30, 80]``)."""

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        milestones = list(milestones)
        for m in milestones:
            _check_int("each milestone", m, 0)
        _check_positive("gamma", gamma)
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        hits = self.milestones.count(self.last_epoch)
        if hits == 0:
            return self._group_lrs()
        return [lr * self.gamma**hits for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma ** bisect_right(self.milestones, self.last_epoch) for base_lr in self.base_lrs]


class ConstantLR(LRScheduler):
    """Hold the rate at ``factor · initial_lr`` for the first ``total_iters`` steps, then give back the full rate.

    A crude warm-up: a lower constant rate while the random weights settle.
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not 0 < factor <= 1:
            raise ValueError(f"factor must be in (0, 1] (the rate is multiplied by it), got factor={factor!r}")
        _check_int("total_iters", total_iters, 0)
        self.factor = factor
        self.total_iters = int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.factor for lr in self._group_lrs()]
        if self.last_epoch != self.total_iters:
            return self._group_lrs()
        return [lr * (1.0 / self.factor) for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: ``lr = initial_lr · gamma^epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        _check_positive("gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial:
            return self._group_lrs()
        return [lr * self.gamma for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * self.gamma**self.last_epoch for base_lr in self.base_lrs]


class InverseTimeLR(LRScheduler):
    """O(1/t) decay (NOTES §4): ``lr_t = lr_0 / (1 + decay_rate · t / decay_steps)``.

    ``t`` counts ``step()`` calls (epochs or batches, as you call it);
    ``staircase=True`` uses ``⌊t / decay_steps⌋``, so the rate changes only
    every ``decay_steps`` steps. The classic stochastic-approximation schedule:
    the steps sum to infinity while their squares do not.
    """

    def __init__(self, optimizer: Optimizer, decay_rate: float, decay_steps: int = 1, staircase: bool = False,
                 last_epoch: int = -1) -> None:
        _check_nonnegative("decay_rate", decay_rate)
        _check_int("decay_steps", decay_steps, 1)
        if not isinstance(staircase, bool):
            raise TypeError(f"staircase must be True or False, got staircase={staircase!r}")
        self.decay_rate = decay_rate
        self.decay_steps = int(decay_steps)
        self.staircase = staircase
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t = self.last_epoch / self.decay_steps
        if self.staircase:
            t = math.floor(t)
        return [base_lr / (1.0 + self.decay_rate * t) for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Ramp the rate's factor linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` steps.

    ``lr = initial_lr · (start + (end − start) · min(epoch, total_iters) / total_iters)``,
    then constant. With ``end_factor=1`` this is a linear warm-up (see :class:`WarmupLR`).
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        if not isinstance(start_factor, numbers.Real) or not 0 < start_factor <= 1:
            raise ValueError(f"start_factor must be in (0, 1], got start_factor={start_factor!r}")
        if not isinstance(end_factor, numbers.Real) or not 0 <= end_factor <= 1:
            raise ValueError(f"end_factor must be in [0, 1], got end_factor={end_factor!r}")
        _check_int("total_iters", total_iters, 1)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = int(total_iters)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in self._group_lrs()]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._group_lrs()
        span = self.end_factor - self.start_factor
        ratio = 1.0 + span / (self.total_iters * self.start_factor + (self.last_epoch - 1) * span)
        return [lr * ratio for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        frac = min(self.total_iters, self.last_epoch) / self.total_iters
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)
                for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """Decay to zero over ``total_iters`` steps: ``lr = initial_lr · (1 − min(epoch, total_iters) / total_iters)^power``.

    ``power=1`` is a linear decay to zero; larger powers fall faster early, smaller ones late.
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        _check_int("total_iters", total_iters, 1)
        _check_nonnegative("power", power)
        self.total_iters = int(total_iters)
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._group_lrs()
        decay = ((1.0 - self.last_epoch / self.total_iters) / (1.0 - (self.last_epoch - 1) / self.total_iters)) \
            ** self.power
        return [lr * decay for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing: ``lr = eta_min + (initial_lr − eta_min)·(1 + cos(π·epoch/T_max))/2``.

    Falls from the initial rate to ``eta_min`` over ``T_max`` steps (and, if
    stepped further, rises again with period 2·T_max). Computed recursively from
    the current rate, as PyTorch does, so it composes with other schedules.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        _check_int("T_max", T_max, 1)
        _check_nonnegative("eta_min", eta_min)
        self.T_max = int(T_max)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        e, T, lo = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._group_lrs()
        if self._step_count == 1 and e > 0:
            return [lo + (base_lr - lo) * (1 + math.cos(e * math.pi / T)) / 2 for base_lr in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:
            return [lr + (base_lr - lo) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, lr in zip(self.base_lrs, self._group_lrs())]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (lr - lo) + lo
                for lr in self._group_lrs()]

    def _get_closed_form_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: cosine annealing from the initial rate to ``eta_min`` over ``T_0`` steps, then a restart at the top.

    Each period is ``T_mult`` times the previous one (``T_0``, ``T_0·T_mult``, ...). The
    restarts let the optimizer leave the minimum it was settling into. Step once per epoch, or
    per batch with a fractional epoch, ``scheduler.step(epoch + i / len(loader))``, as in PyTorch;
    ``step(epoch)`` may jump to any epoch.
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        _check_int("T_0", T_0, 1)
        _check_int("T_mult", T_mult, 1)
        _check_nonnegative("eta_min", eta_min)
        self.T_0 = int(T_0)
        self.T_i = int(T_0)
        self.T_mult = int(T_mult)
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one step, or go to ``epoch`` (fractional for per-batch steps). Call it after optimizer.step()."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or not epoch >= 0:
                raise ValueError(f"epoch must be a number >= 0, got epoch={epoch!r}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = self._group_lrs()

    def _update_lr(self, epoch: int | None = None) -> None:  # SequentialLR restarts it with _update_lr(0)
        self.step(epoch)


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


class CyclicLR(LRScheduler):
    """Cyclical learning rates: the rate goes back and forth between ``base_lr`` and ``max_lr``, per batch.

    A cycle is ``step_size_up`` steps up and ``step_size_down`` (default: as many) down.
    ``mode`` scales each cycle's amplitude: 'triangular' keeps it, 'triangular2' halves it every
    cycle, 'exp_range' multiplies it by ``gamma`` every step; or give ``scale_fn`` (of the cycle
    number or of the step, per ``scale_mode``). With ``cycle_momentum`` the momentum (SGD's
    ``momentum``, Adam's beta1) moves the opposite way, between ``max_momentum`` and
    ``base_momentum``. The constructor sets every group's rate to ``base_lr``.
    """

    _not_saved = ("optimizer", "_scale_fn_custom")

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float], max_lr: float | list[float],
                 step_size_up: int = 2000, step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float | list[float] = 0.8,
                 max_momentum: float | list[float] = 0.9, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        for lo, hi in zip(base_lrs, max_lrs):
            _check_nonnegative("base_lr", lo)
            _check_positive("max_lr", hi)
        _check_int("step_size_up", step_size_up, 1)
        if step_size_down is not None:
            _check_int("step_size_down", step_size_down, 1)
        if scale_fn is None and mode not in _CYCLIC_MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, _CYCLIC_MODES))} (or pass scale_fn), "
                             f"got mode={mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"scale_fn must be callable, got {type(scale_fn).__name__}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"scale_mode must be 'cycle' or 'iterations', got scale_mode={scale_mode!r}")
        _check_positive("gamma", gamma)
        self.optimizer = optimizer
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = max_lrs
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"cycle_momentum=True needs an optimizer with momentum or betas (SGD, RMSprop, "
                                 f"Adam, AdamW), got {type(optimizer).__name__}; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            for lo, hi in zip(self.base_momentums, self.max_momentums):
                if not (0 <= lo <= hi < 1):
                    raise ValueError(f"momentum bounds must satisfy 0 <= base_momentum <= max_momentum < 1, got "
                                     f"base_momentum={lo!r}, max_momentum={hi!r}")
            if last_epoch == -1:
                for hi, lo, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (hi, *group["betas"][1:])
                    else:
                        group["momentum"] = hi
                    group["max_momentum"] = hi
                    group["base_momentum"] = lo
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The amplitude factor of cycle (or step) ``x``."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        height = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [base_lr + (max_lr - base_lr) * height * scale for base_lr, max_lr in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, lo, hi in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                momentum = hi - (hi - lo) * height * scale
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = None if fn is None else _callable_state(fn)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        saved = state_dict.get("_scale_fn_custom")
        if saved is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(copy.deepcopy(saved))


class _SchedulerOfSchedulers(LRScheduler):
    """A scheduler driving others: its state holds each child's state, in order."""

    _not_saved = ("optimizer", "_schedulers")

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for s, saved in zip(self._schedulers, state_dict["_schedulers"]):
            s.load_state_dict(saved)


class SequentialLR(_SchedulerOfSchedulers):
    """Run ``schedulers`` one after another, switching at the epochs in ``milestones``.

    E.g. ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, 95)], milestones=[5])``:
    five warm-up steps, then cosine annealing starting from the full rate.
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        schedulers = list(schedulers)
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} needs at least one scheduler, got none")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"{type(self).__name__} cannot run ReduceLROnPlateau (scheduler {i}): its step() "
                                 "needs the validation metric")
            if not isinstance(s, LRScheduler):
                raise TypeError(f"scheduler {i} is a {type(s).__name__}, not a learning-rate scheduler")
            if s.optimizer is not optimizer:
                raise ValueError(f"scheduler {i} ({type(s).__name__}) belongs to a different optimizer; all must "
                                 f"schedule the one given to {type(self).__name__}")
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"{type(self).__name__} needs one milestone fewer than schedulers: got "
                             f"{len(schedulers)} schedulers and {len(milestones)} milestones")
        for m in milestones:
            _check_int("each milestone", m, 1)
        if milestones != sorted(milestones):
            raise ValueError(f"milestones must be increasing, got {milestones}")
        self._schedulers = schedulers
        self._milestones = [int(m) for m in milestones]
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # back to the initial rates, undo the first step each scheduler took when it was built,
        # and take the first step of the scheduler that runs at epoch 0 only
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo_initial_steps(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    def _undo_initial_steps(self, sched) -> None:
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._undo_initial_steps(s)
        elif hasattr(sched, "last_epoch"):
            sched.last_epoch -= 1

    def step(self) -> None:
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_SchedulerOfSchedulers):
    """Step several schedulers together each time; their (recursive) effects multiply."""

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        schedulers = list(schedulers)
        if len(schedulers) < 1:
            raise ValueError(f"{type(self).__name__} needs at least one scheduler, got none")
        optimizer = optimizer or schedulers[0].optimizer
        _check_optimizer(optimizer)
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"{type(self).__name__} cannot run ReduceLROnPlateau (scheduler {i}): its step() "
                                 "needs the validation metric")
            if not isinstance(s, LRScheduler):
                raise TypeError(f"scheduler {i} is a {type(s).__name__}, not a learning-rate scheduler")
            if s.optimizer is not optimizer:
                raise ValueError(f"scheduler {i} ({type(s).__name__}) belongs to a different optimizer")
        self._schedulers = schedulers
        self.optimizer = optimizer
        self._last_lr = self._group_lrs()

    def step(self) -> None:
        for s in self._schedulers:
            s.step()
        self._last_lr = self._group_lrs()


class OneCycleLR(LRScheduler):
    """The 1cycle policy: warm the rate up to ``max_lr``, then anneal it far below the start, per batch.

    The rate starts at ``max_lr / div_factor``, rises to ``max_lr`` over the
    first ``pct_start`` of ``total_steps`` and falls to ``initial_lr /
    final_div_factor`` by the end (``anneal_strategy`` 'cos' or 'linear';
    ``three_phase=True`` first comes back down to the initial rate, then
    annihilates). With ``cycle_momentum`` the momentum moves the opposite way,
    between ``max_momentum`` and ``base_momentum``: SGD's ``momentum`` or
    Adam's beta1. Give ``total_steps``, or ``epochs`` and ``steps_per_epoch``;
    stepping more than ``total_steps`` times is an error.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            _check_int("total_steps", total_steps, 1)
            self.total_steps = int(total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            _check_int("epochs", epochs, 1)
            _check_int("steps_per_epoch", steps_per_epoch, 1)
            self.total_steps = int(epochs) * int(steps_per_epoch)
        else:
            raise ValueError("OneCycleLR needs total_steps, or both epochs and steps_per_epoch")
        if not isinstance(pct_start, numbers.Real) or isinstance(pct_start, bool) or not 0 <= pct_start <= 1:
            raise ValueError(f"pct_start must be a number in [0, 1], got pct_start={pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        _check_positive("div_factor", div_factor)
        _check_positive("final_div_factor", final_div_factor)
        n = self.total_steps
        if three_phase:
            self._schedule_phases = [
                {"end_step": float(pct_start * n) - 1, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * n) - 2, "start_lr": "max_lr", "end_lr": "initial_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
                {"end_step": n - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]
        else:
            self._schedule_phases = [
                {"end_step": float(pct_start * n) - 1, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": n - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        for v in max_lrs:
            _check_positive("max_lr", v)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"cycle_momentum=True needs an optimizer with momentum or betas (SGD, RMSprop, "
                                 f"Adam, AdamW), got {type(optimizer).__name__}; pass cycle_momentum=False")
            self.use_beta1 = "betas" in optimizer.defaults
            max_ms = _per_group("max_momentum", optimizer, max_momentum)
            base_ms = _per_group("base_momentum", optimizer, base_momentum)
            for lo, hi in zip(base_ms, max_ms):
                if not (0 <= lo <= hi < 1):
                    raise ValueError(f"momentum bounds must satisfy 0 <= base_momentum <= max_momentum < 1, got "
                                     f"base_momentum={lo!r}, max_momentum={hi!r}")
            if last_epoch == -1:
                for hi, lo, group in zip(max_ms, base_ms, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (hi, *group["betas"][1:])
                    else:
                        group["momentum"] = hi
                    group["max_momentum"] = hi
                    group["base_momentum"] = lo
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR stepped {step} times, but total_steps is {self.total_steps}")
        lrs = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == last:
                    pct = (step - start_step) / (end_step - start_step)
                    lr = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                    break
                start_step = phase["end_step"]
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs


class WarmupLR(SequentialLR):
    """Linear warm-up over ``warmup_steps`` steps, then (optionally) another schedule.

    For large-batch training (NOTES §4): scale the rate with the batch size
    (:func:`linear_scaling_rule`) and ramp up to it, so the first steps with
    a large rate and random weights do not diverge. The factor goes linearly from
    ``start_factor`` (default ``1/warmup_steps``) to 1 by step ``warmup_steps``;
    ``after`` -- a scheduler on the same optimizer, or a function
    ``optimizer -> scheduler`` -- takes over from there with the full rate as
    its epoch 0. Without ``after`` the rate then stays constant.

    Example::

        lr = linear_scaling_rule(0.1, batch_size=1024)            # 0.4
        opt = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        sched = WarmupLR(opt, warmup_steps=500,
                         after=lambda o: CosineAnnealingLR(o, T_max=total_steps - 500))
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int,
                 after: LRScheduler | Callable[[Optimizer], LRScheduler] | None = None,
                 start_factor: float | None = None) -> None:
        _check_optimizer(optimizer)
        _check_int("warmup_steps", warmup_steps, 1)
        if start_factor is None:
            start_factor = 1.0 / warmup_steps
        warmup = LinearLR(optimizer, start_factor=start_factor, end_factor=1.0, total_iters=warmup_steps)
        if after is not None and not isinstance(after, LRScheduler):
            if not callable(after):
                raise TypeError(f"after must be a scheduler or a function optimizer -> scheduler, got "
                                f"{type(after).__name__}")
            after = after(optimizer)
            if not isinstance(after, LRScheduler):
                raise TypeError(f"after(optimizer) must return a scheduler, got {type(after).__name__}")
        self.warmup_steps = int(warmup_steps)
        if after is None:
            super().__init__(optimizer, [warmup], milestones=[])
        else:
            super().__init__(optimizer, [warmup, after], milestones=[warmup_steps])


def linear_scaling_rule(base_lr: float, batch_size: int, base_batch_size: int = 256) -> float:
    """The linear scaling rule for large batches: ``base_lr · batch_size / base_batch_size``.

    ``base_lr`` is a rate known to work at ``base_batch_size`` (0.1 at 256 for a
    ResNet with SGD); k times the batch takes k times the rate, reached with a
    warm-up (:class:`WarmupLR`).
    """
    _check_positive("base_lr", base_lr)
    _check_int("batch_size", batch_size, 1)
    _check_int("base_batch_size", base_batch_size, 1)
    return base_lr * batch_size / base_batch_size


class ReduceLROnPlateau(LRScheduler):
    """Reduce the rate when a validation metric stops improving (NOTES §4: halve it when the validation error plateaus).

    Call ``scheduler.step(val_loss)`` once per epoch. When the metric has not
    improved (by more than ``threshold``, relative or absolute) for more than
    ``patience`` epochs, every group's rate is multiplied by ``factor`` (not
    below ``min_lr``; changes smaller than ``eps`` are skipped), then
    ``cooldown`` epochs pass before counting bad epochs again. ``mode='max'``
    for a metric that should rise (accuracy).

    The defaults are PyTorch's (``factor=0.1``); the notes' choice of halving
    is ``factor=0.5``.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        _check_optimizer(optimizer)
        if not isinstance(factor, numbers.Real) or not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1) (the rate is multiplied by it), got factor={factor!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        _check_int("patience", patience, 0)
        _check_int("cooldown", cooldown, 0)
        _check_nonnegative("threshold", threshold)
        _check_nonnegative("eps", eps)
        self.optimizer = optimizer
        self.factor = factor
        if isinstance(min_lr, (list, tuple)):
            self.min_lrs = _per_group("min_lr", optimizer, min_lr)
            self.default_min_lr = None
        else:
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
            self.default_min_lr = min_lr
        for v in self.min_lrs:
            _check_nonnegative("min_lr", v)
        self.patience = int(patience)
        self.cooldown = int(cooldown)
        self.eps = eps
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.last_epoch = 0
        self._last_lr = self._group_lrs()
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics) -> None:  # type: ignore[override]
        """Record this epoch's validation metric (a number or a one-element tensor) and reduce the rate if stuck."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = self._group_lrs()

    def _reduce_lr(self) -> None:
        if len(self.min_lrs) != len(self.optimizer.param_groups):
            if self.default_min_lr is None:
                raise RuntimeError(f"the optimizer now has {len(self.optimizer.param_groups)} parameter groups but "
                                   f"ReduceLROnPlateau was given {len(self.min_lrs)} min_lrs; set scheduler.min_lrs "
                                   "to one value per group")
            self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new
