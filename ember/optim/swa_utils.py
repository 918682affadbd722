"""Averaging a model's weights over training: Stochastic Weight Averaging (SWA) and exponential moving
averages (EMA), with the SWA learning-rate schedule and the batch-norm statistics update (PyTorch's
``swa_utils``).

SWA (Izmailov et al., 2018) keeps training with a constant or cyclical learning rate late in training and
averages the weights visited; the average lies in a flatter, wider region of the loss surface than any
single iterate and usually generalises better. EMA keeps ``w_ema = decay·w_ema + (1 − decay)·w`` instead,
which weighs recent weights more (common for evaluation copies of large models)::

    swa_model = AveragedModel(model)
    swa_scheduler = SWALR(optimizer, swa_lr=0.05)
    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        if epoch >= swa_start:
            swa_model.update_parameters(model)
            swa_scheduler.step()
    update_bn(train_loader, swa_model)   # the averaged weights need their own batch-norm statistics
    evaluate(swa_model)
"""
from __future__ import annotations

import copy
import math
import numbers
from typing import Any, Callable, Iterable, Literal, Sequence

import numpy as np

from ember.dtypes import get_default_dtype
from ember.nn.layers.normalization import _BatchNorm
from ember.nn.module import Module
from ember.optim._kernels import lerp_
from ember.optim.lr_scheduler import LRScheduler, _check_int, _check_nonnegative, _check_optimizer, _per_group
from ember.optim.optimizer import Optimizer
from ember.tensor import Tensor, no_grad, note_inplace

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn", "get_ema_avg_fn",
           "get_swa_avg_fn"]

TensorList = Sequence[Tensor]


def _check_decay(decay) -> None:
    if not isinstance(decay, numbers.Real) or isinstance(decay, bool) or not 0.0 <= decay <= 1.0:
        raise ValueError(f"invalid decay={decay!r} for the exponential moving average; it must be in [0, 1]")


def _array(t) -> np.ndarray:
    return t.array if isinstance(t, Tensor) else np.asarray(t)


def _store(dst: np.ndarray, value: np.ndarray) -> None:
    """Write ``value`` into ``dst`` in place, cast to dst's dtype (a float result truncates into an integer
    buffer, as PyTorch's ``copy_`` does)."""
    np.copyto(dst, value, casting="unsafe")


def _lerp(avg: np.ndarray, new: np.ndarray, weight: float) -> None:
    """``avg ← avg + weight·(new − avg)`` in place, for floating arrays."""
    lerp_(avg, np.asarray(new, avg.dtype), weight, np.empty_like(avg))


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[TensorList, TensorList, Any], None]:
    """The exponential moving average, for ``AveragedModel(model, multi_avg_fn=...)``: updates the averaged
    tensors in place, ``w_ema ← decay·w_ema + (1 − decay)·w`` (a lerp with weight 1 − decay).

    The first ``update_parameters`` copies the model (``w_ema = w_0``); ``decay`` in [0, 1] (0.999 by
    default: an average over roughly the last 1/(1 − decay) = 1000 updates).
    """
    _check_decay(decay)

    def ema_update(ema_param_list: TensorList, current_param_list: TensorList, _num_averaged) -> None:
        for p_ema, p_model in zip(ema_param_list, current_param_list):
            a, b = _array(p_ema), _array(p_model)
            if a.dtype.kind in "fc":
                _lerp(a, b, 1 - decay)
            else:  # integer buffers: computed in the default float dtype, then truncated
                f = get_default_dtype()
                _store(a, a.astype(f) * f.type(decay) + b.astype(f) * f.type(1 - decay))

    return ema_update


def get_swa_multi_avg_fn() -> Callable[[TensorList, TensorList, Any], None]:
    """The equal-weight running mean, for ``AveragedModel(model, multi_avg_fn=...)``: with n models averaged
    so far, ``w_swa ← w_swa + (w − w_swa)/(n + 1)`` in place (a lerp with weight 1/(n + 1))."""

    def swa_update(averaged_param_list: TensorList, current_param_list: TensorList, num_averaged) -> None:
        n = int(_array(num_averaged))
        for p_avg, p_model in zip(averaged_param_list, current_param_list):
            a, b = _array(p_avg), _array(p_model)
            if a.dtype.kind in "fc":
                _lerp(a, b, 1 / (n + 1))
            else:
                _swa_mean_(a, b, n)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[[Tensor, Tensor, Any], Tensor]:
    """The exponential moving average, for ``AveragedModel(model, avg_fn=...)``: returns
    ``decay·w_ema + (1 − decay)·w`` for one tensor (the model copies it into the average)."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn() -> Callable[[Tensor, Tensor, Any], Tensor]:
    """The equal-weight running mean, for ``AveragedModel(model, avg_fn=...)``: returns
    ``w_swa + (w − w_swa)/(n + 1)`` for one tensor, n being the number of models averaged so far."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)

    return swa_update


class AveragedModel(Module):
    r"""A copy of a model whose weights are a running average of the model's weights (SWA or EMA).

    ``AveragedModel(model)`` deep-copies ``model`` into ``.module``; each ``update_parameters(model)`` folds
    the model's current parameters into the copy. The first call copies them (n = 0); later calls apply
    the averaging function, by default the equal-weight mean of all the models seen (SWA)::

        w_avg ← w_avg + (w − w_avg)/(n + 1)            (n = ``n_averaged``, the models averaged so far)

    ``avg_fn(averaged, current, n)`` returns the new value of one tensor (e.g. :func:`get_ema_avg_fn`);
    ``multi_avg_fn(averaged_list, current_list, n)`` updates lists of tensors in place (e.g.
    :func:`get_ema_multi_avg_fn`; the lists hold tensors of one dtype each). Give one of them at most.

    Buffers (batch norm's running statistics) are copied from the model as they are, unless
    ``use_buffers=True``, which averages them with the parameters. Copying them is usually wrong for the
    averaged weights: run :func:`update_bn` over the training data afterwards to recompute them.

    The averaged model is a Module: calling it calls ``.module``; its ``state_dict`` has ``n_averaged``
    and the copy's entries as ``module.<name>`` (PyTorch's layout). The averaging functions are not saved.

    Args:
        model: the model to average.
        device: where the copy lives (``model.to(device)``; ember runs on the CPU).
        avg_fn: per-tensor averaging function, or None.
        multi_avg_fn: in-place averaging function over lists of tensors, or None.
        use_buffers: average the buffers too, instead of copying them.
    """

    n_averaged: Tensor

    def __init__(self, model: Module, device: Any = None,
                 avg_fn: Callable[[Tensor, Tensor, Any], Tensor] | None = None,
                 multi_avg_fn: Callable[[TensorList, TensorList, Any], None] | None = None,
                 use_buffers: bool = False) -> None:
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel averages an ember.nn.Module, got {type(model).__name__}")
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("give AveragedModel one averaging function, avg_fn or multi_avg_fn, not both")
        for name, fn in (("avg_fn", avg_fn), ("multi_avg_fn", multi_avg_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", Tensor(np.array(0, np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = bool(use_buffers)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights into the average (the first call copies them)."""
        if self.use_buffers:
            mine = list(self.module.parameters()) + list(self.module.buffers())
            theirs = list(model.parameters()) + list(model.buffers())
        else:
            mine, theirs = list(self.parameters()), list(model.parameters())
        pairs = [(a.detach(), b.detach()) for a, b in zip(mine, theirs)]
        n = int(self.n_averaged.array)
        changed = [a.array for a, _ in pairs]
        with no_grad():
            if n == 0:
                for a, b in pairs:
                    _store(a.array, b.array)
            elif self.avg_fn is not None:
                for a, b in pairs:
                    _store(a.array, _array(self.avg_fn(a, b, self.n_averaged.detach())))
            else:
                by_dtype: dict[np.dtype, tuple[list[Tensor], list[Tensor]]] = {}
                for a, b in pairs:
                    lists = by_dtype.setdefault(a.array.dtype, ([], []))
                    lists[0].append(a)
                    lists[1].append(b)
                for averaged, current in by_dtype.values():
                    if self.multi_avg_fn is not None:
                        self.multi_avg_fn(averaged, current, self.n_averaged.detach())
                    else:
                        for a, b in zip(averaged, current):
                            _swa_mean_(a.array, b.array, n)
            if not self.use_buffers:
                mine_b, theirs_b = list(self.module.buffers()), list(model.buffers())
                if len(mine_b) != len(theirs_b):
                    raise ValueError(f"the model has {len(theirs_b)} buffers, but the averaged copy has "
                                     f"{len(mine_b)}: update_parameters needs a model of the same architecture")
                for b_avg, b_model in zip(mine_b, theirs_b):
                    _store(b_avg.array, b_model.array)
                changed += [b.array for b in mine_b]
        note_inplace(changed, "AveragedModel.update_parameters()")
        self.n_averaged.array += 1


def _swa_mean_(avg: np.ndarray, new: np.ndarray, n: int) -> None:
    """The default average, ``avg ← avg + (new − avg)/(n + 1)``, in that order of operations."""
    if avg.dtype.kind in "fc":
        step = np.subtract(new, avg, dtype=avg.dtype)
        step /= n + 1
        avg += step
    else:  # integer buffers: true division in the default float dtype, then truncated
        f = get_default_dtype()
        a = avg.astype(f)
        _store(avg, a + (new.astype(f) - a) / f.type(n + 1))


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    """Recompute the running mean and variance of every batch-norm layer of ``model`` from the data.

    Averaged weights need their own batch-norm statistics: those kept during training belong to other
    weights. This resets each layer's statistics, switches its momentum to None (the cumulative average:
    every batch counts equally) and runs the model in training mode over ``loader`` once, without
    recording a graph; then the momenta and the model's training mode are put back. Each batch is a
    tensor, or a list/tuple whose first element is the model's input (``(input, target)`` pairs).
    A model without batch norm is left alone (the loader is not read).

    Args:
        loader: the batches, e.g. the training DataLoader.
        model: the model (e.g. an :class:`AveragedModel`).
        device: if given, each input is moved there first (``input.to(device)``).
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    try:
        with no_grad():
            for input in loader:
                if isinstance(input, (list, tuple)):
                    input = input[0]
                if device is not None:
                    input = input.to(device)
                model(input)
    finally:
        for module, momentum in momenta.items():
            module.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneal each parameter group's learning rate to a constant ``swa_lr`` over ``anneal_epochs`` steps,
    then hold it: the schedule for the averaging phase of SWA.

    With t = min(1, step/anneal_epochs) and α = (1 − cos(π·t))/2 (``"cos"``) or α = t (``"linear"``)::

        lr = α·swa_lr + (1 − α)·lr_start

    where lr_start is the rate the group had when annealing began (recovered from the current rate at each
    step, as PyTorch does, so the schedule can take over from another one mid-training). Each group gets
    the key ``"swa_lr"``.

    Args:
        optimizer: the optimizer whose rates to set.
        swa_lr: the final rate (>= 0), one for all groups or a list with one per group.
        anneal_epochs: steps of annealing (>= 0; 0 switches to swa_lr at once).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        last_epoch: the last step seen (-1 starts a new schedule).
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | Sequence[float], anneal_epochs: int = 10,
                 anneal_strategy: Literal["cos", "linear"] = "cos", last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        swa_lrs = _per_group("swa_lr", optimizer, swa_lr)
        for value in swa_lrs:
            _check_nonnegative("swa_lr", value)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got anneal_strategy={anneal_strategy!r}")
        _check_int("anneal_epochs", anneal_epochs, 0)
        for value, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = value
        self.anneal_epochs = int(anneal_epochs)
        self._anneal_strategy = anneal_strategy
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @property
    def anneal_func(self) -> Callable[[float], float]:
        """α(t): the share of swa_lr in the rate at annealing progress t in [0, 1]."""
        return self._cosine_anneal if self._anneal_strategy == "cos" else self._linear_anneal

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        """The starting rate that, blended with swa_lr at share alpha, gives ``lr``."""
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        groups = self.optimizer.param_groups
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha) for group in groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha) for group, lr in zip(groups, prev_lrs)]
