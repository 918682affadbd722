"""Rprop and ASGD: their update rules written out in NumPy, their options and wrong use, and step-for-step
parity with PyTorch (same gradients fed to both; state buffers compared)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.optim as eo
from ember.nn import Parameter
from tests.optim import _problem as P

GRADS = [np.array([0.5, -1.0, 2.0, 0.0]), np.array([0.1, 0.3, -1.5, 0.2]), np.array([0.4, -0.2, -0.7, -0.1]),
         np.array([1.0, 0.0, 2.0, 0.3]), np.array([0.2, 0.6, 0.1, 0.3]), np.array([-0.3, 0.6, 0.2, 0.3])]
W0 = (1.0, -2.0, 0.5, 0.25)


def _run(cls, grads=GRADS, dtype=np.float64, **options):
    """Apply ``cls`` to one weight vector with the given gradient sequence; returns (weights, optimizer)."""
    w = Parameter(np.array(W0, dtype=dtype))
    opt = cls([w], **options)
    for g in grads:
        w.grad = ember.tensor(g.astype(dtype))
        opt.step()
    return w.array, opt


# ------------------------------------------------------------------ Rprop


def _rprop_reference(grads, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), maximize=False):
    w, prev, eta = np.array(W0), np.zeros(4), np.full(4, lr)
    for g in grads:
        g = -g if maximize else g.copy()
        for i in range(4):
            if g[i] * prev[i] > 0:
                eta[i] = min(eta[i] * etas[1], step_sizes[1])
            elif g[i] * prev[i] < 0:
                eta[i] = max(eta[i] * etas[0], step_sizes[0])
                g[i] = 0
        w = w - eta * np.sign(g)
        prev = g
    return w, prev, eta


@pytest.mark.parametrize("options", [dict(), dict(lr=0.1, etas=(0.3, 1.5)), dict(lr=0.1, step_sizes=(0.04, 0.13)),
                                     dict(lr=0.05, maximize=True)])
def test_rprop_is_the_sign_rule(options):
    w, opt = _run(eo.Rprop, **options)
    ref_w, ref_prev, ref_eta = _rprop_reference(GRADS, **options)
    np.testing.assert_allclose(w, ref_w, rtol=1e-14)
    state = opt.state[opt.param_groups[0]["params"][0]]
    np.testing.assert_array_equal(state["prev"], ref_prev)
    np.testing.assert_allclose(state["step_size"], ref_eta, rtol=1e-14)
    assert state["step"] == len(GRADS)


def test_rprop_sign_flip_shrinks_the_step_and_pauses_the_weight():
    w, opt = _run(eo.Rprop, grads=[np.array([1.0, 1.0, 1.0, 1.0]), np.array([-3.0, 2.0, 0.0, 1.0])], lr=0.1)
    state = opt.state[opt.param_groups[0]["params"][0]]
    np.testing.assert_allclose(state["step_size"], [0.05, 0.12, 0.1, 0.12])
    np.testing.assert_array_equal(state["prev"], [0.0, 2.0, 0.0, 1.0])  # zeroed where the sign flipped
    np.testing.assert_allclose(w, np.array(W0) - 0.1 - [0.0, 0.12, 0.0, 0.12])


def test_rprop_steps_stay_within_step_sizes_and_ignore_later_lr_changes():
    w = Parameter(np.zeros(2))
    opt = eo.Rprop([w], lr=0.1, step_sizes=(0.01, 0.3))
    for k in range(12):
        w.grad = ember.tensor(np.array([1.0, (-1.0) ** k]))
        opt.step()
        opt.param_groups[0]["lr"] = 100.0  # only the initial step size comes from lr
    np.testing.assert_allclose(opt.state[w]["step_size"], [0.3, 0.01])


# ------------------------------------------------------------------ ASGD


def _asgd_reference(grads, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0, maximize=False):
    """PyTorch's single-tensor ASGD in float64 (η, μ as float32 scalars, as PyTorch keeps them)."""
    w, ax, eta, mu = np.array(W0), np.zeros(4), float(np.float32(lr)), 1.0
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        g = g + weight_decay * w
        w = w * (1 - lambd * eta) - eta * g
        ax = w.copy() if mu == 1 else ax + mu * (w - ax)
        eta = float(np.float32(lr / (1 + lambd * lr * t) ** alpha))
        mu = float(np.float32(1 / max(1, t - t0)))
    return w, ax, eta, mu


@pytest.mark.parametrize("options", [dict(), dict(lr=0.1, lambd=0.05, alpha=0.5, t0=2),
                                     dict(lr=0.1, lambd=0.01, alpha=1.5, t0=0, weight_decay=0.1, maximize=True)])
def test_asgd_is_the_polyak_rule(options):
    w, opt = _run(eo.ASGD, **options)
    ref_w, ref_ax, ref_eta, ref_mu = _asgd_reference(GRADS, **options)
    state = opt.state[opt.param_groups[0]["params"][0]]
    np.testing.assert_allclose(w, ref_w, rtol=1e-14)
    np.testing.assert_allclose(state["ax"], ref_ax, rtol=1e-14)
    assert state["eta"] == ref_eta and state["mu"] == ref_mu and state["step"] == len(GRADS)


def test_asgd_average_is_the_mean_of_the_weights_after_t0():
    """With t0 = 2 the average restarts at step t0 + 2 and is then the plain mean of the iterates (exactly
    with float64 scalars; with the default float32 ones, μ = 1/3 is rounded)."""
    previous = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    try:
        w = Parameter(np.array(W0))
        opt = eo.ASGD([w], lr=0.1, t0=2)
        seen = []
        for g in GRADS:
            w.grad = ember.tensor(g)
            opt.step()
            seen.append(w.array.copy())
    finally:
        ember.set_default_dtype(previous)
    np.testing.assert_allclose(opt.state[w]["ax"], np.mean(seen[3:], axis=0), rtol=1e-14)
    assert not np.allclose(opt.state[w]["ax"], w.array)


def test_asgd_eta_and_mu_have_the_default_dtype_precision():
    _, opt = _run(eo.ASGD, dtype=np.float32, lr=0.1, lambd=0.3)
    eta = opt.state[opt.param_groups[0]["params"][0]]["eta"]
    assert isinstance(eta, float) and eta == float(np.float32(eta)) and eta != 0.1 / (1 + 0.03 * 6) ** 0.75
    previous = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    try:
        _, opt = _run(eo.ASGD, lr=0.1, lambd=0.3)
    finally:
        ember.set_default_dtype(previous)
    assert opt.state[opt.param_groups[0]["params"][0]]["eta"] == 0.1 / (1 + 0.03 * 6) ** 0.75


# ------------------------------------------------------------------ shared behaviour


@pytest.mark.parametrize("cls", [eo.Rprop, eo.ASGD])
def test_maximize_climbs(cls):
    start = np.array(W0)
    up, _ = _run(cls, lr=0.01, maximize=True)
    down, _ = _run(cls, lr=0.01)
    if cls is eo.Rprop:
        np.testing.assert_allclose(up - start, -(down - start), rtol=1e-12, atol=1e-15)
    assert np.sum((up - start) * GRADS[0]) > 0 > np.sum((down - start) * GRADS[0])


@pytest.mark.parametrize("cls", [eo.Rprop, eo.ASGD])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_keeps_the_parameter_dtype_and_updates_in_place(cls, dtype):
    w = Parameter(np.ones((2, 3), dtype))
    weights = w.array
    opt = cls([w], lr=0.1)
    for _ in range(2):
        w.grad = ember.tensor(np.full((2, 3), 0.5, dtype))
        opt.step()
    assert w.array is weights and w.array.dtype == dtype
    for key, value in opt.state[w].items():
        if isinstance(value, np.ndarray):
            assert value.dtype == dtype and value.shape == (2, 3), key
        else:
            assert isinstance(value, (int, float)), key
    np.testing.assert_array_equal(w.grad.array, np.full((2, 3), 0.5, dtype))  # the gradient is not touched


@pytest.mark.parametrize("cls", [eo.Rprop, eo.ASGD])
def test_kernel_options_are_accepted(cls):
    opt = cls([Parameter(np.zeros(2))], foreach=False, capturable=False)
    assert opt.param_groups[0]["foreach"] is False and opt.param_groups[0]["capturable"] is False
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        cls([Parameter(np.zeros(2))], differentiable=True)
    with pytest.raises(TypeError, match="foreach must be True or False"):
        cls([Parameter(np.zeros(2))], foreach="yes")


@pytest.mark.parametrize("cls,options,match", [
    (eo.Rprop, dict(lr=-1.0), "learning rate"), (eo.Rprop, dict(etas=(0.5, 0.9)), "etaplus"),
    (eo.Rprop, dict(etas=(0.0, 1.2)), "0 < etaminus"), (eo.Rprop, dict(etas=(1.1, 1.2)), "etaminus < 1"),
    (eo.Rprop, dict(etas=0.5), "pair"), (eo.Rprop, dict(step_sizes=(1.0, 0.1)), "min <= max"),
    (eo.Rprop, dict(step_sizes=(-1e-6, 50)), "0 <= min"), (eo.Rprop, dict(step_sizes=(1e-6,)), "pair"),
    (eo.Rprop, dict(maximize="no"), "maximize must be True or False"),
    (eo.ASGD, dict(lr=float("nan")), "learning rate"), (eo.ASGD, dict(lambd=-1e-4), "lambd=-0.0001"),
    (eo.ASGD, dict(alpha=-0.5), "alpha=-0.5"), (eo.ASGD, dict(t0=-1), "t0=-1"),
    (eo.ASGD, dict(weight_decay=-0.1), "weight decay"),
])
def test_bad_options(cls, options, match):
    with pytest.raises((ValueError, TypeError), match=match):
        cls([Parameter(np.zeros(2))], **options)


def test_asgd_alpha_is_a_power_not_a_smoothing_constant():
    assert eo.ASGD([Parameter(np.zeros(2))], alpha=1.5).param_groups[0]["alpha"] == 1.5


@pytest.mark.parametrize("name", ["rprop_groups", "asgd_t0_wd"])
def test_state_dict_round_trip_through_json(tmp_path, name):
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    full = P.ember_params(arrays)
    P.ember_train(full, P.make_optimizer(eo, name, full), None, range(16), x, y)
    part = P.ember_params(arrays)
    opt = P.make_optimizer(eo, name, part)
    P.ember_train(part, opt, None, range(7), x, y)
    P.save_checkpoint(tmp_path / "ck.npz", {"opt": opt.state_dict(), "w": [p.array for p in part]})
    ck = P.load_checkpoint(tmp_path / "ck.npz")
    resumed = P.ember_params(ck["w"])
    opt2 = P.make_optimizer(eo, name, resumed)
    opt2.load_state_dict(ck["opt"])
    P.ember_train(resumed, opt2, None, range(7, 16), x, y)
    for a, b in zip(full, resumed):
        assert np.array_equal(a.array, b.array)


# ------------------------------------------------------------------ parity with PyTorch

PARITY = {
    "rprop_default": ("Rprop", dict()),
    "rprop_clamped": ("Rprop", dict(lr=0.05, etas=(0.3, 1.6), step_sizes=(0.01, 0.08))),
    "rprop_maximize": ("Rprop", dict(lr=0.002, maximize=True)),
    "asgd_default": ("ASGD", dict(lr=0.05)),
    "asgd_averaging": ("ASGD", dict(lr=0.05, lambd=1e-2, alpha=0.5, t0=10)),
    "asgd_wd_maximize": ("ASGD", dict(lr=0.02, lambd=1e-3, t0=0, weight_decay=0.05, maximize=True)),
}


@pytest.mark.parametrize("name", sorted(PARITY))
def test_same_gradients_give_pytorchs_weights_and_state(torch, name):
    """Fed identical gradients for 50 steps, the weights and every state buffer agree with PyTorch's."""
    cls, options = PARITY[name]
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    pe, pt = P.ember_params(arrays), P.torch_params(torch, arrays)
    oe, ot = getattr(eo, cls)(pe, **options), getattr(torch.optim, cls)(pt, **options)
    for step in range(P.STEPS):
        xb, yb = P.batch(step, x, y)
        oe.zero_grad()
        P.ember_loss(pe, xb, yb).backward()
        for e, t in zip(pe, pt):
            t.grad = torch.tensor(e.grad.array.copy())
        oe.step()
        ot.step()
    moved = max(np.abs(e.array - a).max() for e, a in zip(pe, arrays))
    assert moved > 1e-2, "the weights hardly moved: the comparison would prove nothing"
    for i, (e, t) in enumerate(zip(pe, pt)):
        np.testing.assert_allclose(e.array, t.detach().numpy(), rtol=0, atol=1e-6, err_msg=f"{name}: weight {i}")
    se, st = oe.state_dict(), ot.state_dict()
    for idx, entries in st["state"].items():
        assert set(se["state"][idx]) == set(entries), f"{name}: state keys of parameter {idx}"
        for key, value in entries.items():
            np.testing.assert_allclose(np.asarray(se["state"][idx][key]), value.detach().numpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=f"{name}: state {key!r} of parameter {idx}")
    for ge, gt in zip(se["param_groups"], st["param_groups"]):
        for key, value in gt.items():
            expected = list(value) if isinstance(value, tuple) else value
            assert ge[key] == expected, f"{name}: group option {key}"


def test_asgd_scalars_are_bit_identical_to_pytorch(torch):
    """η and μ are stored exactly as PyTorch stores them (float32 values)."""
    w0 = np.array(W0, np.float32)
    we, wt = Parameter(w0.copy()), torch.tensor(w0.copy(), requires_grad=True)
    oe = eo.ASGD([we], lr=0.3, lambd=0.07, alpha=0.6, t0=2)
    ot = torch.optim.ASGD([wt], lr=0.3, lambd=0.07, alpha=0.6, t0=2)
    for g in GRADS:
        we.grad, wt.grad = ember.tensor(g.astype(np.float32)), torch.tensor(g.astype(np.float32))
        oe.step()
        ot.step()
        assert oe.state[we]["eta"] == ot.state[wt]["eta"].item()
        assert oe.state[we]["mu"] == ot.state[wt]["mu"].item()
    np.testing.assert_allclose(we.array, wt.detach().numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(oe.state[we]["ax"], ot.state[wt]["ax"].numpy(), rtol=0, atol=1e-6)
