"""Optimizers without PyTorch: NOTES §4's formulas, parameter groups, zero_grad, closures, state_dict, wrong use."""
from __future__ import annotations

import copy
import math
import tracemalloc

import numpy as np
import pytest

import ember
import ember.optim as eo
from ember.nn import Parameter
from tests.optim import _problem as P

ALL = [eo.SGD, eo.Adagrad, eo.RMSprop, eo.Adam, eo.AdamW, eo.Adadelta, eo.Adamax, eo.NAdam, eo.RAdam]
GRADS = [np.array([0.5, -1.0, 2.0]), np.array([0.1, -0.3, 1.5]), np.array([-0.4, -0.2, 0.7]),
         np.array([1.0, 0.0, -2.0])]


def _run(opt_cls, grads=GRADS, w0=(1.0, -2.0, 0.5), **options) -> np.ndarray:
    """Apply ``opt_cls`` to one float64 weight vector with the given gradient sequence."""
    w = Parameter(np.array(w0, dtype=np.float64))
    opt = opt_cls([w], **options)
    for g in grads:
        w.grad = ember.tensor(g.copy(), dtype=ember.float64)
        opt.step()
    return w.array


# ------------------------------------------------------------------ the notes' formulas (float64, exact)


def test_sgd_is_plain_gradient_descent():
    w = np.array([1.0, -2.0, 0.5])
    for g in GRADS:
        w = w - 0.1 * g
    np.testing.assert_allclose(_run(eo.SGD, lr=0.1), w, rtol=1e-14)


def test_sgd_momentum_is_the_notes_formula():
    """NOTES §4: v = μ·v + g; w = w − ε·v."""
    w, v = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    for g in GRADS:
        v = 0.9 * v + g
        w = w - 0.1 * v
    np.testing.assert_allclose(_run(eo.SGD, lr=0.1, momentum=0.9), w, rtol=1e-14)


def test_sgd_nesterov_weight_decay_dampening():
    w, v = np.array([1.0, -2.0, 0.5]), None
    for g in GRADS:
        g = g + 0.01 * w
        v = g.copy() if v is None else 0.9 * v + g
        w = w - 0.1 * (g + 0.9 * v)
    np.testing.assert_allclose(_run(eo.SGD, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), w, rtol=1e-14)
    w, v = np.array([1.0, -2.0, 0.5]), None
    for g in GRADS:
        v = g.copy() if v is None else 0.5 * v + (1 - 0.25) * g
        w = w - 0.1 * v
    np.testing.assert_allclose(_run(eo.SGD, lr=0.1, momentum=0.5, dampening=0.25), w, rtol=1e-14)


def test_adagrad_is_the_notes_formula():
    """NOTES §4: r = r + g⊙g; w = w − ε/(√r + δ)·g."""
    w, r = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    for g in GRADS:
        r = r + g * g
        w = w - 0.1 / (np.sqrt(r) + 1e-7) * g
    np.testing.assert_allclose(_run(eo.Adagrad, lr=0.1, eps=1e-7), w, rtol=1e-13)


def test_adagrad_lr_decay_and_initial_accumulator():
    w, r = np.array([1.0, -2.0, 0.5]), np.full(3, 0.3)
    for t, g in enumerate(GRADS, start=1):
        r = r + g * g
        w = w - 0.1 / (1 + (t - 1) * 0.5) * g / (np.sqrt(r) + 1e-10)
    np.testing.assert_allclose(_run(eo.Adagrad, lr=0.1, lr_decay=0.5, initial_accumulator_value=0.3), w, rtol=1e-13)


def test_rmsprop_is_the_notes_formula():
    """NOTES §4: r = ρ·r + (1−ρ)·g⊙g, then w = w − ε·g/(√r + δ)."""
    w, r = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    for g in GRADS:
        r = 0.9 * r + 0.1 * g * g
        w = w - 0.01 * g / (np.sqrt(r) + 1e-8)
    np.testing.assert_allclose(_run(eo.RMSprop, lr=0.01, alpha=0.9), w, rtol=1e-13)


def test_rmsprop_centered_with_momentum():
    w, r, gbar, b = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3), np.zeros(3)
    for g in GRADS:
        r = 0.9 * r + 0.1 * g * g
        gbar = 0.9 * gbar + 0.1 * g
        b = 0.8 * b + g / (np.sqrt(r - gbar * gbar) + 1e-8)
        w = w - 0.01 * b
    np.testing.assert_allclose(_run(eo.RMSprop, lr=0.01, alpha=0.9, centered=True, momentum=0.8), w, rtol=1e-12)


def test_adam_is_the_notes_formula():
    """NOTES §4: v = μv + (1−μ)g; r = ρr + (1−ρ)g⊙g; v̂ = v/(1−μ^t); r̂ = r/(1−ρ^t); w = w − ε·v̂/(√r̂ + δ)."""
    w, v, r = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        v = 0.9 * v + 0.1 * g
        r = 0.999 * r + 0.001 * g * g
        w = w - 0.01 * (v / (1 - 0.9**t)) / (np.sqrt(r / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(_run(eo.Adam, lr=0.01), w, rtol=1e-12)


def test_adam_amsgrad_and_l2_weight_decay():
    w, v, r, rmax = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        g = g + 0.1 * w
        v = 0.9 * v + 0.1 * g
        r = 0.99 * r + 0.01 * g * g
        rmax = np.maximum(rmax, r)
        w = w - 0.01 * (v / (1 - 0.9**t)) / (np.sqrt(rmax / (1 - 0.99**t)) + 1e-8)
    np.testing.assert_allclose(_run(eo.Adam, lr=0.01, betas=(0.9, 0.99), weight_decay=0.1, amsgrad=True), w,
                               rtol=1e-12)


def test_adamw_decays_the_weights_directly():
    w, v, r = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        w = w - 0.01 * 0.1 * w
        v = 0.9 * v + 0.1 * g
        r = 0.999 * r + 0.001 * g * g
        w = w - 0.01 * (v / (1 - 0.9**t)) / (np.sqrt(r / (1 - 0.999**t)) + 1e-8)
    np.testing.assert_allclose(_run(eo.AdamW, lr=0.01, weight_decay=0.1), w, rtol=1e-12)
    np.testing.assert_array_equal(_run(eo.Adam, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
                                  _run(eo.AdamW, lr=0.01, weight_decay=0.1))
    assert eo.AdamW([Parameter(np.zeros(1))]).defaults["weight_decay"] == 1e-2
    adamw = eo.AdamW([Parameter(np.zeros(1))])
    adamw.load_state_dict(eo.Adam([Parameter(np.zeros(1))]).state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


@pytest.mark.parametrize("cls", ALL)
def test_maximize_climbs(cls):
    up = _run(cls, grads=[np.array([1.0, -1.0, 0.5])] * 3, lr=0.01, weight_decay=0, maximize=True)
    down = _run(cls, grads=[np.array([1.0, -1.0, 0.5])] * 3, lr=0.01, weight_decay=0)
    start = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(up - start, -(down - start), rtol=1e-12, atol=1e-15)
    assert up[0] > start[0] and up[1] < start[1]


# ------------------------------------------------------------------ training works


@pytest.mark.parametrize("name", ["sgd_momentum", "adagrad", "rmsprop_centered", "adam", "adamw"])
def test_training_lowers_the_loss(name):
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    params = P.ember_params(arrays)
    before = sum(float(P.ember_loss(params, *P.batch(s, x, y)).item()) for s in range(4))
    P.ember_train(params, P.make_optimizer(eo, name, params), None, range(200), x, y)
    after = sum(float(P.ember_loss(params, *P.batch(s, x, y)).item()) for s in range(4))
    assert after < 0.5 * before


# ------------------------------------------------------------------ Adagrad's accumulator reset


def test_adagrad_reset_every_zeros_the_accumulator_and_training_continues():
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    params = P.ember_params(arrays)
    opt = eo.Adagrad(params, lr=0.1, reset_every=10)
    P.ember_train(params, opt, None, range(9), x, y)
    assert all(np.any(opt.state[p]["sum"] > 0) for p in params)
    P.ember_train(params, opt, None, range(9, 10), x, y)  # the 10th step resets
    for p in params:
        assert opt.state[p]["step"] == 10
        assert np.array_equal(opt.state[p]["sum"], np.zeros_like(p.array)), "the accumulator was not reset"
    # the next step starts a fresh sum: r = g⊙g
    xb, yb = P.batch(10, x, y)
    opt.zero_grad()
    P.ember_loss(params, xb, yb).backward()
    grads = [p.grad.array.copy() for p in params]
    opt.step()
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(opt.state[p]["sum"], g * g)
    loss_at_reset = sum(float(P.ember_loss(params, *P.batch(s, x, y)).item()) for s in range(4))
    P.ember_train(params, opt, None, range(11, 60), x, y)
    loss_later = sum(float(P.ember_loss(params, *P.batch(s, x, y)).item()) for s in range(4))
    assert math.isfinite(loss_later) and loss_later < loss_at_reset


def test_adagrad_reset_accumulators_on_demand_and_to_the_initial_value():
    w = Parameter(np.ones(3, np.float32))
    opt = eo.Adagrad([w], lr=0.1, initial_accumulator_value=0.5)
    opt.reset_accumulators()  # before any step: nothing to reset, no error
    for _ in range(3):
        w.grad = ember.ones(3)
        opt.step()
    np.testing.assert_allclose(opt.state[w]["sum"], 3.5)
    opt.reset_accumulators()
    np.testing.assert_array_equal(opt.state[w]["sum"], np.full(3, 0.5, np.float32))
    assert opt.state[w]["step"] == 3
    before = w.array.copy()
    w.grad = ember.ones(3)
    opt.step()  # a fresh sum makes a big step again: lr·g/√(0.5 + 1)
    np.testing.assert_allclose(before - w.array, 0.1 / math.sqrt(1.5), rtol=1e-5)


def test_adagrad_steps_shrink_without_reset():
    w = Parameter(np.zeros(1, np.float32))
    opt = eo.Adagrad([w], lr=1.0)
    moves = []
    for _ in range(5):
        before = w.array.copy()
        w.grad = ember.ones(1)
        opt.step()
        moves.append(float(before[0] - w.array[0]))
    np.testing.assert_allclose(moves, [1 / math.sqrt(t) for t in range(1, 6)], rtol=1e-5)


# ------------------------------------------------------------------ parameter groups


def test_each_group_uses_its_own_options():
    a, b = Parameter(np.ones(2, np.float32)), Parameter(np.ones(2, np.float32))
    opt = eo.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[1]["lr"] == 0.5
    assert opt.param_groups[1]["momentum"] == 0  # defaults fill what a group leaves out
    a.grad, b.grad = ember.ones(2), ember.ones(2)
    opt.step()
    np.testing.assert_allclose(a.array, 0.9)
    np.testing.assert_allclose(b.array, 0.5)
    opt.param_groups[0]["lr"] = 0.0  # changing a group's lr takes effect at the next step
    opt.step()
    np.testing.assert_allclose(a.array, 0.9)


def test_add_param_group_unfreezes_layers():
    a, b = Parameter(np.ones(2, np.float32)), Parameter(np.ones(3, np.float32))
    opt = eo.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    a.grad, b.grad = ember.ones(2), ember.ones(3)
    opt.step()
    np.testing.assert_allclose(b.array, 1 - 0.01, rtol=1e-5)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="beta1"):
        opt.add_param_group({"params": [Parameter(np.ones(1, np.float32))], "betas": (1.5, 0.9)})
    assert len(opt.param_groups) == 2
    with pytest.raises(ValueError, match="empty parameter list"):
        opt.add_param_group({"params": []})


def test_named_parameters_are_accepted():
    model = ember.nn.Module()
    model.w = Parameter(np.ones(2, np.float32))
    model.b = Parameter(np.zeros(1, np.float32))
    opt = eo.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w", "b"]
    assert opt.param_groups[0]["params"][0] is model.w
    assert "param_names" in opt.state_dict()["param_groups"][0]


# ------------------------------------------------------------------ zero_grad, step(closure), skipping


def test_zero_grad_sets_none_or_zeros_in_place():
    w = Parameter(np.ones(3, np.float32))
    opt = eo.SGD([w], lr=0.1)
    w.grad = ember.ones(3)
    opt.zero_grad()
    assert w.grad is None
    w.grad = ember.ones(3)
    arr = w.grad.array
    opt.zero_grad(set_to_none=False)
    assert w.grad.array is arr and not arr.any()


def test_step_with_closure_returns_the_loss_and_records_a_graph_even_under_no_grad():
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    params = P.ember_params(arrays)
    opt = eo.SGD(params, lr=0.1)

    def closure():
        opt.zero_grad()
        loss = P.ember_loss(params, x, y)
        loss.backward()
        return loss

    with ember.no_grad():
        loss = opt.step(closure)
    assert isinstance(loss, ember.Tensor) and loss.item() > 0
    assert not np.array_equal(params[0].array, arrays[0])
    assert opt.step() is None


def test_parameters_without_gradient_are_left_alone():
    a, b = Parameter(np.ones(2, np.float32)), Parameter(np.ones(2, np.float32))
    opt = eo.Adam([a, b], lr=0.1)
    a.grad = ember.ones(2)
    opt.step()
    assert np.array_equal(b.array, np.ones(2)) and b not in opt.state
    assert opt.state[a]["step"] == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls,options", [(eo.SGD, dict(momentum=0.9)), (eo.Adagrad, {}),
                                         (eo.RMSprop, dict(centered=True, momentum=0.9)),
                                         (eo.Adam, dict(amsgrad=True)), (eo.AdamW, {}), (eo.Adadelta, {}),
                                         (eo.Adamax, {}), (eo.NAdam, {}), (eo.RAdam, {})])
def test_state_and_weights_keep_the_parameter_dtype(cls, options, dtype):
    w = Parameter(np.ones((2, 3), dtype))
    weights = w.array
    opt = cls([w], lr=0.1, **options)
    w.grad = ember.tensor(np.full((2, 3), 0.5, dtype))
    opt.step()
    assert w.array is weights, "the update must be in place"
    assert w.array.dtype == dtype
    for key, value in opt.state[w].items():
        if isinstance(value, np.ndarray):
            assert value.dtype == dtype, f"state {key!r} is {value.dtype}"
        else:  # step counts; NAdam's running product of momentum coefficients
            assert isinstance(value, (int, float)), f"state {key!r} is {type(value).__name__}"


def test_step_does_not_change_the_gradient():
    w = Parameter(np.ones(3, np.float32))
    opt = eo.Adam([w], lr=0.1, weight_decay=0.1, maximize=True)
    w.grad = ember.tensor(np.array([1.0, 2.0, 3.0], np.float32))
    opt.step()
    np.testing.assert_array_equal(w.grad.array, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("cls,options", [
    (eo.SGD, dict(momentum=0.9, nesterov=True, weight_decay=1e-4)), (eo.SGD, dict(momentum=0.9, dampening=0.1)),
    (eo.Adagrad, dict(weight_decay=1e-4, lr_decay=0.1)), (eo.RMSprop, dict(centered=True, momentum=0.9)),
    (eo.Adam, dict(amsgrad=True, weight_decay=1e-4, maximize=True)), (eo.AdamW, {}),
    (eo.Adadelta, dict(weight_decay=1e-4)), (eo.Adamax, dict(maximize=True)), (eo.NAdam, dict(weight_decay=1e-4)),
    (eo.RAdam, dict(decoupled_weight_decay=True, weight_decay=1e-4)),
])
def test_a_warm_step_allocates_almost_nothing(cls, options):
    """The hot path writes into state buffers and a reused workspace: no parameter-sized temporaries."""
    params = [Parameter(np.ones((512, 512), np.float32)), Parameter(np.ones(512, np.float32))]
    for p in params:
        p.grad = ember.tensor(np.full(p.shape, 0.01, np.float32))
    opt = cls(params, lr=1e-3, **options)
    opt.step()
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024, f"a warm step allocated {peak} bytes (one weight is {512 * 512 * 4})"


# ------------------------------------------------------------------ state_dict / load_state_dict


def _walk_plain(obj, path="state_dict"):
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, (str, int)), f"{path}: key {k!r}"
            _walk_plain(v, f"{path}[{k!r}]")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _walk_plain(v, f"{path}[{i}]")
    else:
        assert obj is None or isinstance(obj, (np.ndarray, bool, int, float, str)), f"{path}: {type(obj).__name__}"


@pytest.mark.parametrize("name", sorted(P.OPTIMIZERS))
def test_state_dict_is_plain_data_and_a_snapshot(name):
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    params = P.ember_params(arrays)
    opt = P.make_optimizer(eo, name, params)
    P.ember_train(params, opt, None, range(3), x, y)
    sd = opt.state_dict()
    _walk_plain(sd)
    P.dumps_state_json(sd)
    frozen = copy.deepcopy(sd)
    P.ember_train(params, opt, None, range(3, 5), x, y)
    for idx, entries in frozen["state"].items():
        for key, value in entries.items():
            assert np.array_equal(np.asarray(sd["state"][idx][key]), np.asarray(value)), "state_dict aliases the state"
    assert sum(len(g["params"]) for g in sd["param_groups"]) == 4
    assert [i for g in sd["param_groups"] for i in g["params"]] == [0, 1, 2, 3]


def test_load_state_dict_continues_the_same_trajectory_in_process(tmp_path):
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    full = P.ember_params(arrays)
    P.ember_train(full, P.make_optimizer(eo, "adam_groups", full), None, range(20), x, y)
    part = P.ember_params(arrays)
    opt = P.make_optimizer(eo, "adam_groups", part)
    P.ember_train(part, opt, None, range(8), x, y)
    P.save_checkpoint(tmp_path / "ck.npz", {"opt": opt.state_dict(), "w": [p.array for p in part]})
    ck = P.load_checkpoint(tmp_path / "ck.npz")
    resumed = P.ember_params(ck["w"])
    opt2 = P.make_optimizer(eo, "adam_groups", resumed)
    opt2.load_state_dict(ck["opt"])  # string keys, lists for tuples: as JSON returns them
    assert opt2.param_groups[1]["betas"] == (0.5, 0.9)
    P.ember_train(resumed, opt2, None, range(8, 20), x, y)
    for a, b in zip(full, resumed):
        assert np.array_equal(a.array, b.array)


def test_load_state_dict_copies_the_arrays():
    w = Parameter(np.ones(2, np.float32))
    opt = eo.SGD([w], lr=0.1, momentum=0.9)
    w.grad = ember.ones(2)
    opt.step()
    sd = opt.state_dict()
    opt.load_state_dict(sd)
    sd["state"][0]["momentum_buffer"][...] = 100
    assert np.all(opt.state[w]["momentum_buffer"] == 1)


def test_load_state_dict_rejects_a_different_model():
    a, b = Parameter(np.ones(2, np.float32)), Parameter(np.ones(3, np.float32))
    opt = eo.Adam([a, b])
    a.grad, b.grad = ember.ones(2), ember.ones(3)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="parameter groups"):
        eo.Adam([{"params": [a]}, {"params": [b]}]).load_state_dict(sd)
    with pytest.raises(ValueError, match="has 2 parameters"):
        eo.Adam([a]).load_state_dict(sd)
    with pytest.raises(ValueError, match="shape"):
        eo.Adam([Parameter(np.ones(2, np.float32)), Parameter(np.ones(4, np.float32))]).load_state_dict(sd)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    bad = copy.deepcopy(sd)
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="learning rate"):
        opt.load_state_dict(bad)


# ------------------------------------------------------------------ wrong use


def _p():
    return Parameter(np.ones(2, np.float32))


@pytest.mark.parametrize("cls", ALL)
def test_empty_parameter_list(cls):
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        cls([])
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        cls(ember.nn.Module().parameters())


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf"), "0.1"])
def test_bad_learning_rate(cls, lr):
    with pytest.raises(ValueError, match="learning rate"):
        cls([_p()], lr=lr)


@pytest.mark.parametrize("cls", ALL)
def test_bad_learning_rate_in_a_group(cls):
    with pytest.raises(ValueError, match="learning rate"):
        cls([{"params": [_p()], "lr": -1.0}])


@pytest.mark.parametrize("options,match", [
    (dict(momentum=-0.1), "momentum"), (dict(momentum=1.0), r"momentum.*\[0, 1\)"),
    (dict(dampening=1.5), "dampening"), (dict(weight_decay=-1e-4), "weight decay"),
    (dict(nesterov=True), "Nesterov momentum requires a momentum"),
    (dict(nesterov=True, momentum=0.9, dampening=0.1), "zero dampening"),
    (dict(nesterov=1), "nesterov must be True or False"),
])
def test_sgd_bad_options(options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        eo.SGD([_p()], lr=0.1, **options)


@pytest.mark.parametrize("cls", [eo.Adam, eo.AdamW])
@pytest.mark.parametrize("options,match", [
    (dict(betas=(1.0, 0.999)), "beta1"), (dict(betas=(0.9, -0.1)), "beta2"), (dict(betas=(0.9, 1.0)), "beta2"),
    (dict(betas=0.9), "pair"), (dict(betas=(0.9, 0.99, 0.9)), "pair"), (dict(eps=-1e-8), "epsilon"),
    (dict(weight_decay=-0.1), "weight decay"), (dict(amsgrad="yes"), "amsgrad"),
])
def test_adam_bad_options(cls, options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        cls([_p()], **options)


@pytest.mark.parametrize("options,match", [
    (dict(alpha=1.0), "smoothing constant"), (dict(alpha=-0.5), "alpha"), (dict(momentum=1.2), "momentum"),
    (dict(eps=-1.0), "epsilon"), (dict(weight_decay=-1.0), "weight decay"), (dict(centered=None), "centered"),
])
def test_rmsprop_bad_options(options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        eo.RMSprop([_p()], **options)


@pytest.mark.parametrize("options,match", [
    (dict(lr_decay=-0.1), "decay"), (dict(initial_accumulator_value=-1.0), "accumulator"),
    (dict(eps=-1e-10), "epsilon"), (dict(reset_every=0), "reset_every"), (dict(reset_every=2.5), "reset_every"),
])
def test_adagrad_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        eo.Adagrad([_p()], **options)


@pytest.mark.parametrize("cls,options,match", [
    (eo.Adadelta, dict(rho=1.0), r"rho.*\[0, 1\)"), (eo.Adadelta, dict(eps=-1.0), "epsilon"),
    (eo.Adamax, dict(betas=(0.9, 1.0)), "beta2"), (eo.Adamax, dict(weight_decay=-1.0), "weight decay"),
    (eo.NAdam, dict(momentum_decay=-1e-3), "momentum decay"), (eo.NAdam, dict(decoupled_weight_decay=1),
                                                                 "decoupled_weight_decay must be True or False"),
    (eo.RAdam, dict(betas=(1.2, 0.9)), "beta1"), (eo.RAdam, dict(maximize="no"), "maximize must be True or False"),
])
def test_new_optimizers_bad_options(cls, options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        cls([_p()], lr=0.1, **options)


def test_bad_params_arguments():
    p = _p()
    with pytest.raises(TypeError, match="single Tensor"):
        eo.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="set"):
        eo.SGD({p}, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        eo.SGD([p, 3.0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        eo.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="floating-point"):
        eo.SGD([ember.tensor([1, 2])], lr=0.1)
    with pytest.raises(ValueError, match="same parameter twice"):
        eo.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        eo.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="'params' entry"):
        eo.SGD([{"lr": 0.1}], lr=0.1)


def test_repr_lists_every_group_and_option():
    opt = eo.SGD([{"params": [_p()]}, {"params": [_p()], "lr": 0.5}], lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and text.endswith(")")
    assert ("Parameter Group 1\n    dampening: 0\n    differentiable: False\n    foreach: None\n    fused: None\n"
            "    lr: 0.5\n    maximize: False\n    momentum: 0.9\n") in text
    assert "params" not in text


# ------------------------------------------------------------------ PyTorch's kernel options


@pytest.mark.parametrize("cls", ALL)
def test_kernel_options_are_accepted_and_kept_in_the_groups(cls):
    """foreach/fused/capturable pick among PyTorch's kernels: accepted (PyTorch code passes them), no effect."""
    import inspect

    names = [k for k in ("foreach", "fused", "capturable") if k in inspect.signature(cls).parameters]
    opt = cls([_p()], lr=0.1, **{k: False for k in names})
    assert all(opt.param_groups[0][k] is False for k in names)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        cls([_p()], lr=0.1, differentiable=True)
    if "foreach" in names:
        with pytest.raises(TypeError, match="foreach must be True or False"):
            cls([_p()], lr=0.1, foreach="yes")
