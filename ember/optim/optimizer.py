"""The Optimizer base class: parameter groups, per-parameter state, zero_grad, step, state_dict.

An optimizer holds ``param_groups`` (a list of dicts: ``"params"`` plus that group's
options, e.g. its own ``lr``) and ``state`` (a dict from parameter to that
parameter's buffers: momentum, running averages, step count). A subclass writes
one method, ``_update(p, g, state, group)``: the update rule for one parameter,
applied in place to the NumPy array ``p`` (``param.array``) given the gradient
array ``g`` (``param.grad.array``). No graph is recorded: updates are plain NumPy.

Hot path: updates write through ``out=`` and in-place operators into the state
buffers and into a small per-optimizer workspace (``_scratch``), so a warm
``step()`` allocates nothing per parameter.

``state_dict()`` is plain data only -- NumPy arrays, numbers, strings, lists and
dicts -- and refers to parameters by their position (0, 1, 2, ... across the
groups, in order), so it can be written with ``numpy.savez`` + JSON or
``ember.save`` and loaded into a new optimizer over a new model.
"""
from __future__ import annotations

import math
import numbers
from collections import defaultdict
from functools import partial
from typing import Any, Callable, Iterable

import numpy as np

from ember.tensor import Tensor, enable_grad, note_inplace

__all__ = ["Optimizer"]


class _Required:
    """Marks an option that has no default: every param group must give it."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


# ------------------------------------------------------------------ argument checks (shared by the subclasses)


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_nonnegative(name: str, value, what: str = "") -> None:
    """``value`` a finite real number >= 0, else a ValueError naming the argument."""
    if not _is_real(value) or not value >= 0 or math.isinf(value):
        raise ValueError(f"invalid {what or name}: {name}={value!r}; it must be a finite number >= 0")


def check_unit_interval(name: str, value, what: str = "", closed_right: bool = False) -> None:
    """``value`` in [0, 1) (or [0, 1] when ``closed_right``), else a ValueError naming the argument."""
    ok = _is_real(value) and 0 <= value and (value <= 1 if closed_right else value < 1)
    if not ok:
        interval = "[0, 1]" if closed_right else "[0, 1)"
        raise ValueError(f"invalid {what or name}: {name}={value!r}; it must be in {interval}")


def check_bool(name: str, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {name}={value!r}")


def check_betas(betas) -> None:
    """Adam-family ``betas``: a pair (beta1, beta2), each in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(_is_real(b) for b in betas):
        raise ValueError(f"invalid betas={betas!r}; it must be a pair of numbers (beta1, beta2), e.g. (0.9, 0.999)")
    check_unit_interval("betas[0]", betas[0], "beta1")
    check_unit_interval("betas[1]", betas[1], "beta2")


#: How each option that several optimizers share is validated, by name (``_check_options`` applies those a
#: group has; a subclass adds only its own rules).
OPTION_CHECKS: dict[str, Callable[[Any], None]] = {
    "eps": partial(check_nonnegative, "eps", what="epsilon"),
    "weight_decay": partial(check_nonnegative, "weight_decay", what="weight decay"),
    "lr_decay": partial(check_nonnegative, "lr_decay", what="learning-rate decay"),
    "initial_accumulator_value": partial(check_nonnegative, "initial_accumulator_value",
                                         what="initial accumulator value"),
    "momentum_decay": partial(check_nonnegative, "momentum_decay", what="momentum decay"),
    "momentum": partial(check_unit_interval, "momentum"),
    "dampening": partial(check_unit_interval, "dampening", closed_right=True),
    "alpha": partial(check_unit_interval, "alpha", what="smoothing constant"),
    "rho": partial(check_unit_interval, "rho", what="rho"),
    "betas": check_betas,
    **{k: partial(check_bool, k) for k in ("maximize", "amsgrad", "nesterov", "centered", "decoupled_weight_decay")},
}


def kernel_options(*, foreach=None, fused=None, capturable=False, differentiable=False, has=()) -> dict[str, Any]:
    """PyTorch's options that pick one of its kernels (``foreach``, ``fused``, ``capturable`` for CUDA graphs) or
    make the step differentiable, restricted to the names in ``has`` (each PyTorch optimizer has its own set).

    ember has one NumPy implementation, so the kernel choices change nothing; they are accepted and kept in the
    parameter groups so that PyTorch code and PyTorch state_dicts carry over. ``differentiable=True`` needs a
    step recorded in the graph, which ember's array updates are not: it is refused in ``_check_options``.
    """
    given = dict(foreach=foreach, fused=fused, capturable=capturable, differentiable=differentiable)
    return {k: given[k] for k in has}


def check_kernel_options(o: dict[str, Any]) -> None:
    for k in ("foreach", "fused"):
        if o.get(k) is not None:
            check_bool(k, o[k])
    if "capturable" in o:
        check_bool("capturable", o["capturable"])
    if o.get("differentiable"):
        raise NotImplementedError("differentiable=True: ember's optimizer steps are NumPy updates outside the graph, "
                                  "so gradients cannot flow through them")


class Optimizer:
    """Base class of all optimizers (PyTorch's interface).

    Args:
        params: an iterable of Tensors (e.g. ``model.parameters()``), of
            ``(name, Tensor)`` pairs (``model.named_parameters()``), or of dicts,
            each a parameter group: ``{"params": [...], "lr": 0.1, ...}``;
            options a group leaves out come from ``defaults``.
        defaults: the default value of every option (the constructor's arguments).
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self._check_options(self.defaults)
        if isinstance(params, Tensor):
            raise TypeError(
                "params given to the optimizer should be an iterable of Tensors or dicts, but got a single "
                "Tensor; wrap it in a list: [tensor]"
            )
        if isinstance(params, dict):
            raise TypeError("params given to the optimizer should be an iterable of Tensors or dicts, but got a dict; "
                            "wrap the parameter group in a list: [group]")
        if isinstance(params, set):
            raise TypeError("optimizer parameters must be an ordered collection (a list), not a set: "
                            "the order of a set changes between runs")
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._workspace: dict[tuple, np.ndarray] = {}
        self._step_count = 0
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ what a subclass provides
    def _check_options(self, options: dict[str, Any]) -> None:
        """Raise a ValueError (with a sentence) for an invalid option; called for defaults and every group."""
        lr = options.get("lr")
        if lr is not None and lr is not required:
            check_nonnegative("lr", lr, "learning rate")
        check_kernel_options(options)
        for key, value in options.items():
            check = OPTION_CHECKS.get(key)
            if check is not None:
                check(value)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Apply the update rule to one parameter array ``p`` in place, given its gradient ``g``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _update(p, g, state, group) or step()")

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. to unfreeze layers while fine-tuning)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError("a parameter group must have a 'params' entry (the tensors it optimizes)")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters must be an ordered collection (a list), not a set: "
                            "the order of a set changes between runs")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:
            if len(names) != len(params):
                raise ValueError("all parameters of a group must be given with names, or none of them")
            params = [p[1] for p in params]
            group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"an optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if p._ctx is not None:
                raise ValueError("can't optimize a non-leaf Tensor (one computed from others); optimize the leaves, "
                                 "e.g. model.parameters()")
            if not p.is_floating_point():
                raise TypeError(f"an optimizer can only optimize floating-point tensors, got one of dtype {p.dtype}")
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids):
            raise ValueError("a parameter group contains the same parameter twice")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if seen.intersection(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        if self.param_groups and ("param_names" in group) != ("param_names" in self.param_groups[0]):
            raise ValueError("all parameter groups must be given with names, or none of them")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        self._check_options(group)
        self.param_groups.append(group)

    # ------------------------------------------------------------------ the training loop's calls
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set ``.grad`` to None (default, frees memory) or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.array.fill(0)

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; returns ``closure()``'s loss when a closure is given.

        The closure re-evaluates the model and returns the loss (it should
        zero the gradients and call ``backward()`` itself).
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        updated = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p.array, p.grad.array, self.state[p], group)
                    updated.append(p.array)
        note_inplace(updated, f"{type(self).__name__}.step()")  # a graph recorded before may not use them now
        self._step_count += 1
        return loss

    def _direction(self, p: np.ndarray, g: np.ndarray, group: dict[str, Any]) -> np.ndarray:
        """The gradient the update follows: negated with ``maximize``; with weight decay λ either ``g + λ·w``
        (L2) or, when the group's ``decoupled_weight_decay`` is on, ``g`` while ``w`` shrinks by ``1 − lr·λ``
        here. Written into scratch slot 0 when it differs from ``g`` (which is never modified)."""
        d = g
        if group.get("maximize"):
            d = np.negative(g, out=self._scratch(p, 0))
        wd = group.get("weight_decay", 0)
        if wd != 0:
            if group.get("decoupled_weight_decay"):
                p *= 1 - group["lr"] * wd
            else:
                t = np.multiply(p, wd, out=self._scratch(p, 1))
                d = np.add(d, t, out=self._scratch(p, 0))
        return d

    def _scratch(self, like: np.ndarray, slot: int = 0) -> np.ndarray:
        """A reusable temporary array shaped like ``like``: slot ``slot`` of this optimizer's workspace.

        Slots are shared by all parameters (one update finishes before the next
        starts) and grow to the largest parameter, so steady-state steps allocate nothing.
        """
        key = (like.dtype.str, slot)
        buf = self._workspace.get(key)
        if buf is None or buf.size < like.size:
            buf = self._workspace[key] = np.empty(like.size, like.dtype)
        return buf[: like.size].reshape(like.shape)

    # ------------------------------------------------------------------ saving and resuming
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as plain data.

        ``{"state": {index: {"step": int, "exp_avg": array, ...}},
        "param_groups": [{"lr": ..., ..., "params": [index, ...]}]}``

        Parameters are numbered 0, 1, ... across the groups in order. Arrays are
        copies, so the result is a snapshot that later steps do not change. Tuple
        options (Adam's ``betas``) are stored as lists.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: _plain(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if id(p) in index and s:
                state[index[id(p)]] = {k: _plain(v) for k, v in s.items()}
        return {"state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state saved by ``state_dict()`` (possibly after a round trip through npz + JSON).

        The optimizer must have been built over parameters of the same number,
        order, grouping and shapes. Group options (lr, momentum, ...) are taken
        from the saved state; the saved arrays are copied and cast to each
        parameter's dtype. Keys of ``"state"`` may be ints or their strings.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("an optimizer state_dict must be a dict with the keys 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, but this optimizer has "
                             f"{len(self.param_groups)}")
        by_index: dict[int, Tensor] = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict's parameter group {i} has {len(saved['params'])} parameters, "
                                 f"but this optimizer's group {i} has {len(group['params'])}")
            for idx, p in zip(saved["params"], group["params"]):
                by_index[int(idx)] = p
        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, saved in state_dict["state"].items():
            idx = int(key)
            if idx not in by_index:
                raise ValueError(f"loaded state dict has state for parameter {idx}, which no parameter group lists")
            p = by_index[idx]
            new_state[p] = {k: _restore(v, p, k, idx) for k, v in saved.items()}
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            new = {k: _restore_option(v, self.defaults.get(k)) for k, v in saved.items() if k != "params"}
            for name, default in self.defaults.items():
                new.setdefault(name, default)
            self._check_options(new)
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:
                new["param_names"] = group["param_names"]
            new_groups.append(new)
        self.state = new_state
        self.param_groups = new_groups

    # ------------------------------------------------------------------ printing
    def __repr__(self) -> str:
        out = type(self).__name__ + " ("
        for i, group in enumerate(self.param_groups):
            out += f"\nParameter Group {i}\n"
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    out += f"    {key}: {group[key]}\n"
        return out + ")"


def _plain(value):
    """A detached, plain-data copy: arrays copied, tuples as lists, NumPy scalars as Python numbers."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, Tensor):
        return value.array.copy()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def _restore(value, p: Tensor, key: str, idx: int):
    """One saved per-parameter state entry back in memory: arrays as private copies in the parameter's dtype."""
    if isinstance(value, Tensor):
        value = value.array
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, list):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.shape != p.shape:
            raise ValueError(f"loaded state {key!r} of parameter {idx} has shape {value.shape}, but the parameter "
                             f"has shape {p.shape}")
        return np.array(value, dtype=p.dtype, copy=True)
    if key == "step":
        return int(value)
    return value


def _restore_option(value, default):
    """A saved group option back in memory: lists become tuples where the default is a tuple (betas)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    return value
