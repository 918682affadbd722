"""Learning-rate schedules without PyTorch: the notes' schedules, state_dict round trips, wrong use."""
from __future__ import annotations

import copy
import json
import math
import warnings

import numpy as np
import pytest

import ember
import ember.optim as eo
from ember.nn import Parameter
from ember.optim import lr_scheduler as S
from tests.optim import _more_schedules as M
from tests.optim import _problem as P

ALL_SCHEDULES = {**P.SCHEDULES, **M.SCHEDULES}


def _sgd(lr=0.1, groups=1, momentum=0.0):
    params = [{"params": [Parameter(np.ones(2, np.float32))], "lr": lr * (i + 1)} for i in range(groups)]
    return eo.SGD(params, lr=lr, momentum=momentum)


def _lrs(opt, sched, n, metrics=None):
    """Rates in force for epochs 0..n: the one set at construction, then after each step."""
    out = [sched.get_last_lr()[0]]
    for i in range(n):
        opt.step()
        sched.step(metrics[i]) if metrics is not None else sched.step()
        out.append(sched.get_last_lr()[0])
    return out


# ------------------------------------------------------------------ the notes' schedules


def test_step_decay():
    opt = _sgd(0.1)
    np.testing.assert_allclose(_lrs(opt, S.StepLR(opt, step_size=3, gamma=0.5), 9),
                               [0.1] * 3 + [0.05] * 3 + [0.025] * 3 + [0.0125], rtol=1e-12)


def test_multistep_decay_with_repeated_milestones():
    opt = _sgd(1.0)
    np.testing.assert_allclose(_lrs(opt, S.MultiStepLR(opt, milestones=[4, 2, 4], gamma=0.1), 5),
                               [1, 1, 0.1, 0.1, 0.001, 0.001], rtol=1e-12)


def test_inverse_time_decay_is_one_over_t():
    """NOTES §4's O(1/t) decay: lr_t = lr_0 / (1 + k·t)."""
    opt = _sgd(0.5)
    lrs = _lrs(opt, S.InverseTimeLR(opt, decay_rate=0.2), 20)
    np.testing.assert_allclose(lrs, [0.5 / (1 + 0.2 * t) for t in range(21)], rtol=1e-12)
    opt = _sgd(0.5)
    lrs = _lrs(opt, S.InverseTimeLR(opt, decay_rate=1.0, decay_steps=4, staircase=True), 9)
    np.testing.assert_allclose(lrs, [0.5] * 4 + [0.25] * 4 + [0.5 / 3] * 2, rtol=1e-12)


def test_exponential_and_lambda():
    opt = _sgd(0.1)
    np.testing.assert_allclose(_lrs(opt, S.ExponentialLR(opt, gamma=0.9), 5), [0.1 * 0.9**t for t in range(6)],
                               rtol=1e-12)
    opt = _sgd(0.1, groups=2)
    sched = S.LambdaLR(opt, [lambda e: 1.0, lambda e: 1.0 / (e + 1)])
    for _ in range(3):
        opt.step()
        sched.step()
    assert sched.get_last_lr() == pytest.approx([0.1, 0.2 / 4])


def test_cosine_annealing_reaches_eta_min_at_t_max():
    opt = _sgd(1.0)
    lrs = _lrs(opt, S.CosineAnnealingLR(opt, T_max=10, eta_min=0.1), 10)
    expected = [0.1 + 0.9 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12)
    assert lrs[-1] == pytest.approx(0.1)


def test_warmup_for_large_batches_with_the_linear_scaling_rule():
    """NOTES §4: scale the rate with the batch (0.1 at 256 -> 0.4 at 1024) and warm up to it linearly."""
    lr = S.linear_scaling_rule(0.1, batch_size=1024)
    assert lr == pytest.approx(0.4)
    assert S.linear_scaling_rule(0.1, 64, base_batch_size=32) == pytest.approx(0.2)
    opt = _sgd(lr, momentum=0.9)
    sched = S.WarmupLR(opt, warmup_steps=4, after=lambda o: S.StepLR(o, step_size=3, gamma=0.5))
    lrs = _lrs(opt, sched, 10)
    np.testing.assert_allclose(lrs[:5], [0.1, 0.175, 0.25, 0.325, 0.4], rtol=1e-12)  # from lr/4 up to lr
    np.testing.assert_allclose(lrs[5:], [0.4, 0.4, 0.2, 0.2, 0.2, 0.1], rtol=1e-12)  # then step decay
    assert opt.param_groups[0]["initial_lr"] == pytest.approx(0.4)


def test_warmup_takes_an_existing_scheduler_and_stays_flat_without_one():
    opt = _sgd(1.0)
    cosine = S.CosineAnnealingLR(opt, T_max=4)
    sched = S.WarmupLR(opt, warmup_steps=2, after=cosine, start_factor=0.5)
    np.testing.assert_allclose(_lrs(opt, sched, 6), [0.5, 0.75, 1.0, 1 + (math.cos(math.pi / 4) - 1) / 2, 0.5,
                                                     (1 + math.cos(3 * math.pi / 4)) / 2, 0.0], atol=1e-12)
    opt = _sgd(1.0)
    np.testing.assert_allclose(_lrs(opt, S.WarmupLR(opt, warmup_steps=3), 5), [1 / 3, 5 / 9, 7 / 9, 1, 1, 1],
                               rtol=1e-12)


def test_reduce_on_plateau_halves_when_validation_stops_improving():
    """NOTES §4: halve the rate when the validation error stops improving (factor=0.5)."""
    opt = _sgd(0.4)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    val = [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    lrs = _lrs(opt, sched, len(val), val)
    # 3 epochs without improvement (> patience=2) -> halve; counting restarts after each cut
    assert lrs == pytest.approx([0.4, 0.4, 0.4, 0.4, 0.4, 0.2, 0.2, 0.2, 0.2, 0.1, 0.1, 0.1, 0.05])
    assert sched.best == 0.8


def test_reduce_on_plateau_cooldown_min_lr_and_max_mode():
    opt = _sgd(1.0)
    sched = S.ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0, cooldown=2, min_lr=0.005)
    lrs = _lrs(opt, sched, 8, [0.5] * 8)
    assert lrs == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.005])
    assert S.ReduceLROnPlateau(_sgd()).factor == 0.1  # PyTorch's default; the notes use 0.5


def test_reduce_on_plateau_accepts_a_tensor_metric_and_thresholds():
    opt = _sgd(1.0)
    sched = S.ReduceLROnPlateau(opt, patience=0, threshold=0.1, threshold_mode="abs")
    sched.step(ember.tensor(1.0))
    sched.step(ember.tensor(0.95))  # not better by more than 0.1
    assert sched.get_last_lr() == [pytest.approx(0.1)]


def test_one_cycle_rises_to_max_lr_then_anneals_and_cycles_momentum():
    opt = _sgd(0.1, momentum=0.9)
    sched = S.OneCycleLR(opt, max_lr=1.0, total_steps=100, pct_start=0.3)
    lrs, moms = [sched.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(99):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
    assert lrs[0] == pytest.approx(1.0 / 25) and moms[0] == pytest.approx(0.95)
    assert max(lrs) == pytest.approx(1.0) and int(np.argmax(lrs)) == 29
    assert moms[29] == pytest.approx(0.85)
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert np.all(np.diff(lrs[:30]) > 0) and np.all(np.diff(lrs[29:]) < 0)
    opt.step()
    sched.step()
    with pytest.raises(ValueError, match="total_steps is 100"):
        sched.step()


def test_one_cycle_cycles_adam_beta1():
    opt = eo.Adam([Parameter(np.ones(2, np.float32))], lr=0.1, betas=(0.9, 0.99))
    sched = S.OneCycleLR(opt, max_lr=0.01, total_steps=10, anneal_strategy="linear")
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    for _ in range(2):  # the peak is at step 0.3 * 10 - 1 = 2
        opt.step()
        sched.step()
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.85) and opt.param_groups[0]["betas"][1] == 0.99


def test_sequential_and_chained():
    opt = _sgd(1.0)
    sched = S.SequentialLR(opt, [S.LinearLR(opt, 0.5, 0.5, total_iters=2), S.ExponentialLR(opt, 0.5)],
                           milestones=[2])
    np.testing.assert_allclose(_lrs(opt, sched, 4), [0.5, 0.5, 1.0, 0.5, 0.25], rtol=1e-12)
    opt = _sgd(1.0)
    sched = S.ChainedScheduler([S.ExponentialLR(opt, 0.5), S.StepLR(opt, 2, 0.1)])
    np.testing.assert_allclose(_lrs(opt, sched, 3), [1.0, 0.5, 0.025, 0.0125], rtol=1e-12)


def test_constant_polynomial_and_multiplicative():
    opt = _sgd(1.0)
    np.testing.assert_allclose(_lrs(opt, S.ConstantLR(opt, factor=0.5, total_iters=3), 5),
                               [0.5, 0.5, 0.5, 1.0, 1.0, 1.0], rtol=1e-12)
    opt = _sgd(1.0)
    np.testing.assert_allclose(_lrs(opt, S.PolynomialLR(opt, total_iters=4, power=2.0), 6),
                               [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0, 0.0], atol=1e-12)
    opt = _sgd(1.0)
    np.testing.assert_allclose(_lrs(opt, S.MultiplicativeLR(opt, lambda e: 0.5 if e % 2 else 0.1), 4),
                               [1.0, 0.5, 0.05, 0.025, 0.0025], rtol=1e-12)


def test_warm_restarts_restart_at_the_top_and_lengthen_the_period():
    opt = _sgd(1.0)
    lrs = _lrs(opt, S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2), 8)
    c = lambda frac: (1 + math.cos(math.pi * frac)) / 2  # noqa: E731
    # periods of 2, then 4, then 8 steps, each starting again from the full rate
    np.testing.assert_allclose(lrs, [1.0, c(1 / 2), 1.0, c(1 / 4), c(2 / 4), c(3 / 4), 1.0, c(1 / 8), c(2 / 8)],
                               atol=1e-12)
    sched = S.CosineAnnealingWarmRestarts(_sgd(1.0), T_0=4)
    sched.step(1.5)  # a fractional epoch: per-batch stepping
    assert sched.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * 1.5 / 4)) / 2)
    assert sched.last_epoch == 1
    with pytest.raises(ValueError, match="epoch must be a number >= 0"):
        sched.step(-1)


def test_cyclic_triangle_and_momentum_opposite():
    opt = _sgd(0.5, momentum=0.9)
    sched = S.CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2, mode="triangular2")
    lrs, moms = [sched.get_last_lr()[0]], [opt.param_groups[0]["momentum"]]
    for _ in range(8):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
        moms.append(opt.param_groups[0]["momentum"])
    np.testing.assert_allclose(lrs, [0.1, 0.3, 0.5, 0.3, 0.1, 0.2, 0.3, 0.2, 0.1], rtol=1e-12)
    np.testing.assert_allclose(moms, [0.9, 0.85, 0.8, 0.85, 0.9, 0.875, 0.85, 0.875, 0.9], rtol=1e-12)
    adam = eo.Adam([Parameter(np.ones(2, np.float32))], betas=(0.5, 0.99))
    S.CyclicLR(adam, 0.001, 0.01, step_size_up=2)
    assert adam.param_groups[0]["betas"] == (0.9, 0.99) and adam.param_groups[0]["lr"] == 0.001


def test_get_last_lr_is_a_copy_and_per_group():
    opt = _sgd(0.1, groups=2)
    sched = S.StepLR(opt, 1, 0.5)
    last = sched.get_last_lr()
    last[0] = 99.0
    assert sched.get_last_lr() == [0.1, 0.2]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2]


def test_stepping_the_schedule_before_the_optimizer_warns():
    opt = _sgd()
    sched = S.StepLR(opt, 1)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()
    opt = _sgd()
    sched = S.StepLR(opt, 1)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


# ------------------------------------------------------------------ state_dict


@pytest.mark.parametrize("name", sorted(ALL_SCHEDULES))
def test_state_dict_is_plain_json_and_resumes_in_process(name):
    opt_name, build = ALL_SCHEDULES[name]
    arrays, (x, y) = P.initial_arrays(), P.dataset()

    full = P.ember_params(arrays)
    opt = P.make_optimizer(eo, opt_name, full)
    sched = build(S, opt)
    rec_full = []
    P.ember_train(full, opt, sched, range(30), x, y, rec_full)

    part = P.ember_params(arrays)
    opt = P.make_optimizer(eo, opt_name, part)
    sched = build(S, opt)
    P.ember_train(part, opt, sched, range(12), x, y)
    text = json.dumps({"sched": sched.state_dict(), "groups": opt.state_dict()["param_groups"]})
    saved = json.loads(text)
    opt_state = opt.state_dict()
    opt_state["param_groups"] = saved["groups"]

    resumed = P.ember_params([p.array for p in part])
    opt2 = P.make_optimizer(eo, opt_name, resumed)
    sched2 = build(S, opt2)  # build the schedule first, then load both states
    opt2.load_state_dict(opt_state)
    sched2.load_state_dict(saved["sched"])
    rec = []
    P.ember_train(resumed, opt2, sched2, range(12, 30), x, y, rec)
    assert rec == rec_full[12:]
    for a, b in zip(full, resumed):
        assert np.array_equal(a.array, b.array)


def test_lambda_state_dict_keeps_callable_objects_state():
    class Factor:
        def __init__(self):
            self.scale = 0.5

        def __call__(self, epoch):
            return self.scale

    opt = _sgd(1.0)
    f = Factor()
    sched = S.LambdaLR(opt, f)
    f.scale = 0.25
    state = copy.deepcopy(sched.state_dict())
    assert state["lr_lambdas"] == [{"scale": 0.25}]
    g = Factor()
    S.LambdaLR(_sgd(1.0), g).load_state_dict(state)
    assert g.scale == 0.25
    assert S.LambdaLR(_sgd(), lambda e: 1.0).state_dict()["lr_lambdas"] == [None]


# ------------------------------------------------------------------ wrong use


@pytest.mark.parametrize("make,error,match", [
    (lambda o: S.StepLR("sgd", 3), TypeError, "ember.optim.Optimizer"),
    (lambda o: S.StepLR(o, 0), ValueError, "step_size"),
    (lambda o: S.StepLR(o, 2.5), ValueError, "step_size"),
    (lambda o: S.StepLR(o, 2, gamma=-0.1), ValueError, "gamma"),
    (lambda o: S.MultiStepLR(o, [3, -1]), ValueError, "milestone"),
    (lambda o: S.ExponentialLR(o, gamma=0.0), ValueError, "gamma"),
    (lambda o: S.InverseTimeLR(o, decay_rate=-1.0), ValueError, "decay_rate"),
    (lambda o: S.InverseTimeLR(o, decay_rate=0.1, decay_steps=0), ValueError, "decay_steps"),
    (lambda o: S.LambdaLR(o, [lambda e: 1.0, lambda e: 1.0]), ValueError, "one per parameter group"),
    (lambda o: S.LambdaLR(o, 0.5), TypeError, "callable"),
    (lambda o: S.LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
    (lambda o: S.LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=-1.0), ValueError, "eta_min"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1), ValueError, "total_steps"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), ValueError, "pct_start"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"), ValueError, "anneal_strategy"),
    (lambda o: S.OneCycleLR(o, max_lr=[0.1, 0.2], total_steps=10), ValueError, "one value per parameter group"),
    (lambda o: S.OneCycleLR(eo.Adagrad(o.param_groups[0]["params"]), max_lr=0.1, total_steps=10), ValueError,
     "cycle_momentum"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
    (lambda o: S.ReduceLROnPlateau(o, mode="avg"), ValueError, "mode"),
    (lambda o: S.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold_mode"),
    (lambda o: S.ReduceLROnPlateau(o, patience=-1), ValueError, "patience"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[0.0, 0.0]), ValueError, "one value per parameter group"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], milestones=[]), ValueError, "milestone"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.ReduceLROnPlateau(o)], milestones=[3]), ValueError,
     "ReduceLROnPlateau"),
    (lambda o: S.SequentialLR(o, [S.StepLR(_sgd(), 2)], milestones=[]), ValueError, "different optimizer"),
    (lambda o: S.SequentialLR(o, [], milestones=[]), ValueError, "at least one"),
    (lambda o: S.WarmupLR(o, warmup_steps=0), ValueError, "warmup_steps"),
    (lambda o: S.MultiplicativeLR(o, 0.9), TypeError, "callable"),
    (lambda o: S.MultiplicativeLR(o, [lambda e: 1.0] * 2), ValueError, "one per parameter group"),
    (lambda o: S.ConstantLR(o, factor=0.0), ValueError, "factor must be in"),
    (lambda o: S.ConstantLR(o, factor=1.5), ValueError, "factor must be in"),
    (lambda o: S.ConstantLR(o, total_iters=-1), ValueError, "total_iters"),
    (lambda o: S.PolynomialLR(o, total_iters=0), ValueError, "total_iters"),
    (lambda o: S.PolynomialLR(o, power=-1.0), ValueError, "power"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2.5), ValueError, "T_0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError, "T_mult"),
    (lambda o: S.CyclicLR(o, 0.01, 0.1, mode="sine"), ValueError, "'triangular', 'triangular2', 'exp_range'"),
    (lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=0), ValueError, "step_size_up"),
    (lambda o: S.CyclicLR(o, 0.01, 0.1, scale_mode="epoch", scale_fn=abs), ValueError, "scale_mode"),
    (lambda o: S.CyclicLR(o, [0.01, 0.02], 0.1), ValueError, "one value per parameter group"),
    (lambda o: S.CyclicLR(o, 0.01, 0.1, base_momentum=0.95, max_momentum=0.9), ValueError, "momentum bounds"),
    (lambda o: S.CyclicLR(eo.Adagrad(o.param_groups[0]["params"]), 0.01, 0.1), ValueError, "cycle_momentum"),
    (lambda o: S.WarmupLR(o, warmup_steps=3, after="cosine"), TypeError, "after"),
    (lambda o: S.StepLR(o, 3, last_epoch=5), KeyError, "initial_lr"),
    (lambda o: S.linear_scaling_rule(0.1, batch_size=0), ValueError, "batch_size"),
    (lambda o: S.linear_scaling_rule(-0.1, batch_size=64), ValueError, "base_lr"),
])
def test_wrong_use_is_a_clear_error(make, error, match):
    with pytest.raises(error, match=match):
        make(_sgd())
