"""The small fixed problem the optimizer tests share: a 2-layer tanh MLP regression, in ember and in PyTorch.

The same float32 initial weights and mini-batches go to both frameworks; the
configurations below (optimizer options, per-group overrides, schedules) are
used by the parity tests and by the save/resume-in-a-new-process test, whose
worker imports this module too.
"""
from __future__ import annotations

import io
import json
import math

import numpy as np

import ember
from ember.nn import Parameter

SHAPES = [(4, 8), (8,), (8, 3), (3,)]
BATCH, N_BATCHES = 8, 4
STEPS = 50


def initial_arrays(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.5 if len(s) == 2 else 0.1, s).astype(np.float32) for s in SHAPES]


def dataset(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH * N_BATCHES, 4)).astype(np.float32)
    y = np.sin(x[:, :3] + x[:, 3:]).astype(np.float32)
    return x, y


def batch(step: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i = (step % N_BATCHES) * BATCH
    return x[i:i + BATCH], y[i:i + BATCH]


def metric(step: int) -> float:
    """A made-up validation loss for ReduceLROnPlateau: improves, plateaus, improves a little, plateaus."""
    if step < 8:
        return 1.0 - 0.05 * step
    if step < 20:
        return 0.65
    if step < 26:
        return 0.6 - 0.01 * (step - 20)
    return 0.56


# ------------------------------------------------------------------ ember side


def ember_params(arrays) -> list[Parameter]:
    return [Parameter(a.copy()) for a in arrays]


def ember_loss(params, xb: np.ndarray, yb: np.ndarray):
    w1, b1, w2, b2 = params
    out = (ember.tensor(xb) @ w1 + b1).tanh() @ w2 + b2
    return ((out - ember.tensor(yb)) ** 2).mean()


def ember_train(params, opt, sched, steps: range, x, y, record=None) -> None:
    """Mini-batch steps ``steps`` (global step numbers) with the optimizer and, if any, the schedule."""
    for step in steps:
        xb, yb = batch(step, x, y)
        opt.zero_grad()
        ember_loss(params, xb, yb).backward()
        opt.step()
        _after_step(opt, sched, step, record)


def _after_step(opt, sched, step: int, record) -> None:
    """Step the schedule (a plateau schedule reads the metric) and record the rates: both frameworks alike."""
    if sched is not None:
        if type(sched).__name__ == "ReduceLROnPlateau":
            sched.step(metric(step))
        else:
            sched.step()
    if record is not None:
        record.append(_lrs_and_momenta(opt))


def _lrs_and_momenta(opt) -> list[float]:
    out = []
    for g in opt.param_groups:
        out.append(float(g["lr"]))
        if "momentum" in g:
            out.append(float(g["momentum"]))
        if "betas" in g:
            out.append(float(g["betas"][0]))
    return out


# ------------------------------------------------------------------ PyTorch side (parity tests only)


def torch_params(torch, arrays):
    return [torch.tensor(a.copy(), requires_grad=True) for a in arrays]


def torch_train(torch, params, opt, sched, steps: range, x, y, record=None) -> None:
    for step in steps:
        xb, yb = batch(step, x, y)
        opt.zero_grad()
        w1, b1, w2, b2 = params
        out = (torch.tensor(xb) @ w1 + b1).tanh() @ w2 + b2
        ((out - torch.tensor(yb)) ** 2).mean().backward()
        opt.step()
        _after_step(opt, sched, step, record)


# ------------------------------------------------------------------ configurations
# optimizer configurations: (class name, constructor options, options of a second param group or None)

OPTIMIZERS = {
    "sgd": ("SGD", dict(lr=0.1), None),
    "sgd_momentum": ("SGD", dict(lr=0.1, momentum=0.9), None),
    "sgd_dampening_wd": ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=1e-2), None),
    "sgd_nesterov_wd": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2), None),
    "sgd_maximize": ("SGD", dict(lr=0.01, momentum=0.5, maximize=True), None),
    "sgd_groups": ("SGD", dict(lr=0.1, momentum=0.9), dict(lr=0.03, momentum=0.5, weight_decay=1e-3)),
    "adagrad": ("Adagrad", dict(lr=0.1), None),
    "adagrad_decay_init": ("Adagrad", dict(lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1,
                                           weight_decay=1e-2, eps=1e-5), None),
    "adagrad_groups": ("Adagrad", dict(lr=0.1), dict(lr=0.3, lr_decay=0.01)),
    "rmsprop": ("RMSprop", dict(lr=0.01), None),
    "rmsprop_centered": ("RMSprop", dict(lr=0.01, centered=True), None),
    "rmsprop_momentum": ("RMSprop", dict(lr=0.005, momentum=0.9), None),
    "rmsprop_centered_momentum_wd": ("RMSprop", dict(lr=0.005, alpha=0.9, centered=True, momentum=0.8,
                                                     weight_decay=1e-2), None),
    "adam": ("Adam", dict(lr=0.01), None),
    "adam_amsgrad": ("Adam", dict(lr=0.01, amsgrad=True), None),
    "adam_wd_betas": ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2), None),
    "adam_groups": ("Adam", dict(lr=0.01), dict(lr=0.003, betas=(0.5, 0.9), amsgrad=True)),
    "adamw": ("AdamW", dict(lr=0.01), None),
    "adamw_amsgrad_wd": ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True), None),
    "adadelta": ("Adadelta", dict(), None),
    "adadelta_wd_maximize": ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=1e-2), dict(maximize=True)),
    "adamax": ("Adamax", dict(lr=0.01), None),
    "adamax_wd_groups": ("Adamax", dict(lr=0.01, weight_decay=1e-2), dict(betas=(0.8, 0.99), eps=1e-6)),
    "nadam": ("NAdam", dict(lr=0.01), None),
    "nadam_wd": ("NAdam", dict(lr=0.01, weight_decay=1e-2, momentum_decay=0.01), None),
    "nadamw": ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), None),
    "radam": ("RAdam", dict(lr=0.01), None),  # 50 steps: rectified from step 6 on
    "radam_wd": ("RAdam", dict(lr=0.01, weight_decay=1e-2, betas=(0.8, 0.99)), None),
    "radamw": ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), None),
    "rprop": ("Rprop", dict(lr=0.01), None),
    "rprop_groups": ("Rprop", dict(lr=0.005, etas=(0.4, 1.3)), dict(step_sizes=(1e-3, 0.02), maximize=True)),
    "asgd": ("ASGD", dict(lr=0.05), None),
    "asgd_t0_wd": ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=10, weight_decay=1e-2), dict(t0=0, lr=0.02)),
}


def make_optimizer(lib, name: str, params):
    """Build optimizer configuration ``name`` over ``params`` with ``lib`` (ember.optim or torch.optim)."""
    cls, opts, second = OPTIMIZERS[name]
    if second is None:
        return getattr(lib, cls)(params, **opts)
    return getattr(lib, cls)([{"params": params[:2]}, {"params": params[2:], **second}], **opts)


# schedule configurations: name -> (optimizer configuration, builder(sched_module, optimizer)).
# ``sched_module`` is ember.optim.lr_scheduler or torch.optim.lr_scheduler; ember-only schedules have a
# PyTorch equivalent built from PyTorch's own classes.


def _inverse_time(S, opt):
    if hasattr(S, "InverseTimeLR"):
        return S.InverseTimeLR(opt, decay_rate=0.1)
    return S.LambdaLR(opt, lambda t: 1.0 / (1.0 + 0.1 * t))


def _inverse_time_staircase(S, opt):
    if hasattr(S, "InverseTimeLR"):
        return S.InverseTimeLR(opt, decay_rate=0.5, decay_steps=5, staircase=True)
    return S.LambdaLR(opt, lambda t: 1.0 / (1.0 + 0.5 * math.floor(t / 5)))


def _warmup_cosine(S, opt):
    if hasattr(S, "WarmupLR"):
        return S.WarmupLR(opt, warmup_steps=10, after=lambda o: S.CosineAnnealingLR(o, T_max=40))
    warm = S.LinearLR(opt, start_factor=0.1, end_factor=1.0, total_iters=10)
    return S.SequentialLR(opt, [warm, S.CosineAnnealingLR(opt, T_max=40)], milestones=[10])


def _warmup_only(S, opt):
    if hasattr(S, "WarmupLR"):
        return S.WarmupLR(opt, warmup_steps=8, start_factor=0.25)
    return S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=8)], milestones=[])


SCHEDULES = {
    "step": ("sgd_momentum", lambda S, o: S.StepLR(o, step_size=7, gamma=0.5)),
    "multistep": ("sgd_groups", lambda S, o: S.MultiStepLR(o, milestones=[10, 20, 20, 35], gamma=0.5)),
    "exponential": ("adam", lambda S, o: S.ExponentialLR(o, gamma=0.95)),
    "lambda": ("sgd_momentum", lambda S, o: S.LambdaLR(o, lambda e: 0.97**e)),
    "inverse_time": ("sgd_momentum", _inverse_time),
    "inverse_time_staircase": ("rmsprop", _inverse_time_staircase),
    "cosine": ("sgd_momentum", lambda S, o: S.CosineAnnealingLR(o, T_max=20, eta_min=1e-3)),
    "linear": ("adamw", lambda S, o: S.LinearLR(o, start_factor=0.2, end_factor=0.8, total_iters=30)),
    "sequential_warmup_cosine": ("sgd_momentum", lambda S, o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=10), S.CosineAnnealingLR(o, T_max=40)], milestones=[10])),
    "warmup_cosine": ("sgd_nesterov_wd", _warmup_cosine),
    "warmup_only": ("adam", _warmup_only),
    "onecycle_cos_sgd": ("sgd_momentum", lambda S, o: S.OneCycleLR(o, max_lr=0.2, total_steps=STEPS)),
    "onecycle_linear_adam_3phase": ("adam_groups", lambda S, o: S.OneCycleLR(
        o, max_lr=[0.02, 0.01], epochs=5, steps_per_epoch=10, anneal_strategy="linear", three_phase=True)),
    "plateau": ("sgd_momentum", lambda S, o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1,
                                                                 min_lr=0.02)),
    "plateau_max_abs": ("adam", lambda S, o: S.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=3,
                                                                 threshold=0.01, threshold_mode="abs")),
    "chained": ("sgd_momentum", lambda S, o: S.ChainedScheduler([S.ExponentialLR(o, 0.97), S.StepLR(o, 9, 0.5)])),
}


# ------------------------------------------------------------------ plain npz + JSON checkpoints (no ember.save)


def save_checkpoint(path, obj) -> None:
    """Write nested dicts/lists/numbers/arrays as one .npz: arrays as entries, the rest as a JSON string."""
    arrays: dict[str, np.ndarray] = {}

    def encode(o):
        if isinstance(o, np.ndarray):
            key = f"a{len(arrays)}"
            arrays[key] = o
            return {"__ndarray__": key}
        if isinstance(o, dict):
            return {str(k): encode(v) for k, v in o.items()}  # JSON keys are strings
        if isinstance(o, (list, tuple)):
            return [encode(v) for v in o]
        if o is None or isinstance(o, (bool, int, float, str)):
            return o
        raise TypeError(f"not plain data: {type(o).__name__}")

    meta = json.dumps(encode(obj))
    np.savez(path, __meta__=np.array(meta), **arrays)


def load_checkpoint(path):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}

    def decode(o):
        if isinstance(o, dict):
            if set(o) == {"__ndarray__"}:
                return arrays[o["__ndarray__"]]
            return {k: decode(v) for k, v in o.items()}
        if isinstance(o, list):
            return [decode(v) for v in o]
        return o

    return decode(json.loads(str(arrays.pop("__meta__"))))


def dumps_state_json(state) -> str:
    """The state with arrays replaced by their shapes, as JSON: fails on anything that is not plain data."""
    def strip(o):
        if isinstance(o, np.ndarray):
            return list(o.shape)
        if isinstance(o, dict):
            return {str(k): strip(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [strip(v) for v in o]
        if o is None or isinstance(o, (bool, int, float, str)):
            return o
        raise TypeError(f"not plain data: {type(o).__name__}")
    buf = io.StringIO()
    json.dump(strip(state), buf)
    return buf.getvalue()

