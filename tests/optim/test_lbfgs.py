"""LBFGS: the two-loop recursion by hand, convergence, stopping rules, closures, wrong use, state_dict, and
step-for-step parity with PyTorch (with and without the strong-Wolfe line search)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.optim as eo
from ember.nn import Parameter
from tests.optim import _problem as P

# ------------------------------------------------------------------ problems


def _least_squares(dtype=np.float64, seed: int = 0):
    """A 40×12 least-squares problem with condition number ~30: L-BFGS needs a dozen iterations."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(40, 12)))
    v, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    a = (u * np.logspace(0, -1.5, 12)) @ v.T
    b = rng.normal(size=40)
    w0 = rng.normal(size=12)
    return a.astype(dtype), b.astype(dtype), w0.astype(dtype)


def _ember_closure(opt, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss
    return closure


def _lsq_setup(dtype=np.float64, **options):
    a, b, w0 = _least_squares(dtype)
    w = Parameter(w0.copy())
    opt = eo.LBFGS([w], **options)
    ae, be = ember.tensor(a), ember.tensor(b)
    closure = _ember_closure(opt, lambda: ((ae @ w - be) ** 2).sum() * 0.5)
    return w, opt, closure, (a, b, w0)


# ------------------------------------------------------------------ the algorithm by hand (float64)


def test_first_iteration_is_a_gradient_step_scaled_by_the_l1_norm():
    """The first direction is −g with step min(1, 1/‖g‖₁)·lr."""
    w, opt, closure, (a, b, w0) = _lsq_setup(lr=0.7, max_iter=1)
    loss = opt.step(closure)
    g = a.T @ (a @ w0 - b)
    np.testing.assert_allclose(loss.item(), 0.5 * np.sum((a @ w0 - b) ** 2), rtol=1e-12)
    np.testing.assert_allclose(w.array, w0 - min(1.0, 1.0 / np.abs(g).sum()) * 0.7 * g, rtol=1e-12)
    assert opt.state[w]["func_evals"] == 1 and opt.state[w]["n_iter"] == 1  # no re-evaluation after the last


def test_two_loop_recursion_by_hand():
    """Three fixed-step iterations: the (s, y) pairs, ρ, γ = yᵀs/yᵀy and the two loops, written out."""
    w, opt, closure, (a, b, w0) = _lsq_setup(lr=0.5, max_iter=3, max_eval=10, history_size=2)
    opt.step(closure)

    def grad(x):
        return a.T @ (a @ x - b)

    x, g = w0, grad(w0)
    d, t = -g, min(1.0, 1.0 / np.abs(g).sum()) * 0.5
    ss, ys = [], []
    for _ in range(2):
        x_new = x + t * d
        g_new = grad(x_new)
        y, s = g_new - g, t * d
        ys.append(y)
        ss.append(s)
        gamma = y @ s / (y @ y)
        q, al = -g_new, []
        for si, yi in zip(reversed(ss), reversed(ys)):
            al.append(si @ q / (yi @ si))
            q = q - al[-1] * yi
        r = gamma * q
        for si, yi, ai in zip(ss, ys, reversed(al)):
            r = r + (ai - yi @ r / (yi @ si)) * si
        x, g, d, t = x_new, g_new, r, 0.5
    np.testing.assert_allclose(w.array, x + t * d, rtol=1e-11)
    state = opt.state[w]
    assert len(state["old_dirs"]) == 2 and state["func_evals"] == 3 and state["n_iter"] == 3
    np.testing.assert_allclose(state["H_diag"], ys[-1] @ ss[-1] / (ys[-1] @ ys[-1]), rtol=1e-12)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_converges_to_the_least_squares_solution(line_search_fn):
    w, opt, closure, (a, b, w0) = _lsq_setup(line_search_fn=line_search_fn, history_size=10, max_iter=50,
                                             tolerance_grad=1e-10, tolerance_change=1e-14)
    for _ in range(3):
        opt.step(closure)
    best = np.linalg.lstsq(a, b, rcond=None)[0]
    assert closure().item() == pytest.approx(0.5 * np.sum((a @ best - b) ** 2), rel=1e-9)
    assert np.abs(w.array - best).max() < 1e-3 < np.abs(w0 - best).max()


def test_history_keeps_the_last_pairs_only():
    w, opt, closure, _ = _lsq_setup(history_size=3, max_iter=8, tolerance_grad=0, tolerance_change=0)
    opt.step(closure)
    state = opt.state[w]
    assert state["n_iter"] == 8 and len(state["old_dirs"]) == len(state["old_stps"]) == len(state["ro"]) == 3
    np.testing.assert_allclose(state["ro"], [1 / (y @ s) for y, s in zip(state["old_dirs"], state["old_stps"])])


# ------------------------------------------------------------------ stopping rules and evaluation budget


def test_already_optimal_evaluates_once_and_leaves_the_weights():
    w, opt, closure, (a, b, _) = _lsq_setup(tolerance_grad=1e-6)
    w.array[...] = np.linalg.lstsq(a, b, rcond=None)[0]
    before = w.array.copy()
    opt.step(closure)
    assert np.array_equal(w.array, before)
    assert opt.state[w]["func_evals"] == 1 and opt.state[w]["n_iter"] == 0


@pytest.mark.parametrize("lr", [50.0, 1e-3])
def test_line_search_respects_max_eval(lr):
    """A far too long (or short) first trial step makes the line search zoom (or extrapolate) until the
    evaluation budget is spent. Like PyTorch's, the line search may take one evaluation more than
    max_eval (it gets max_eval − evaluations so far, plus its first trial)."""
    w, opt, closure, _ = _lsq_setup(lr=lr, line_search_fn="strong_wolfe", max_iter=3, max_eval=7)
    calls = []

    def counted():
        calls.append(1)
        return closure()

    opt.step(counted)
    assert opt.param_groups[0]["max_eval"] == 7
    assert opt.state[w]["func_evals"] == len(calls) <= 8
    assert len(calls) > opt.state[w]["n_iter"], "the line search made no extra evaluations"


def test_max_eval_default_and_stop_on_small_change():
    assert eo.LBFGS([Parameter(np.zeros(1))]).param_groups[0]["max_eval"] == 25
    assert eo.LBFGS([Parameter(np.zeros(1))], max_iter=7).param_groups[0]["max_eval"] == 8
    w, opt, closure, _ = _lsq_setup(max_iter=100, tolerance_change=1e-2, tolerance_grad=0)
    opt.step(closure)
    assert opt.state[w]["n_iter"] < 100  # stopped when the loss changed by less than 1e-2


def test_returns_the_first_loss_and_works_under_no_grad():
    w, opt, closure, (a, b, w0) = _lsq_setup(max_iter=4)
    with ember.no_grad():
        loss = opt.step(closure)
    assert isinstance(loss, ember.Tensor)
    np.testing.assert_allclose(loss.item(), 0.5 * np.sum((a @ w0 - b) ** 2))
    assert not np.array_equal(w.array, w0)


def test_parameters_without_gradient_stay_put_and_shapes_are_kept():
    """Several parameters of different shapes form one flat vector; one outside the loss has no gradient."""
    rng = np.random.default_rng(3)
    m = Parameter(rng.normal(size=(3, 4)))
    v = Parameter(rng.normal(size=4))
    unused = Parameter(np.ones((2, 2)))
    target = ember.tensor(rng.normal(size=3))
    opt = eo.LBFGS([m, unused, v], max_iter=30, line_search_fn="strong_wolfe")
    closure = _ember_closure(opt, lambda: ((m @ v - target) ** 2).sum() + (v ** 2).sum() * 0.1)
    first = opt.step(closure).item()
    assert closure().item() < 0.01 * first
    assert np.array_equal(unused.array, np.ones((2, 2))) and m.shape == (3, 4) and v.shape == (4,)


# ------------------------------------------------------------------ wrong use


def test_step_needs_a_closure():
    opt = eo.LBFGS([Parameter(np.zeros(2))])
    with pytest.raises(TypeError, match="needs a closure"):
        opt.step()
    with pytest.raises(TypeError, match="callable closure"):
        opt.step(1.0)


def test_one_parameter_group_only():
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(3))
    with pytest.raises(ValueError, match="parameter groups"):
        eo.LBFGS([{"params": [a]}, {"params": [b], "lr": 0.1}])
    opt = eo.LBFGS([{"params": [a], "lr": 0.5}])  # one group given as a dict is fine
    assert opt.param_groups[0]["lr"] == 0.5
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [b]})


@pytest.mark.parametrize("options,match", [
    (dict(lr=-1.0), "learning rate"), (dict(max_iter=0), "max_iter=0"), (dict(max_iter=2.5), "max_iter"),
    (dict(max_eval=0), "max_eval=0"), (dict(history_size=0), "history_size=0"),
    (dict(tolerance_grad=-1e-7), "tolerance_grad"), (dict(tolerance_change=float("nan")), "tolerance_change"),
    (dict(line_search_fn="armijo"), "line_search_fn='armijo'"),
])
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        eo.LBFGS([Parameter(np.zeros(2))], **options)


# ------------------------------------------------------------------ state_dict


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_state_dict_round_trip_continues_identically(tmp_path, line_search_fn):
    """Save after two steps (plain npz + JSON, as test_resume does), load into a new optimizer over new
    parameters, and both runs take bit-identical further steps."""
    options = dict(line_search_fn=line_search_fn, max_iter=3, max_eval=10, history_size=4, tolerance_grad=0,
                   tolerance_change=0)
    w, opt, closure, _ = _lsq_setup(**options)
    for _ in range(2):
        opt.step(closure)
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0] and {"d", "t", "old_dirs", "old_stps", "ro", "al", "H_diag", "prev_flat_grad",
                                           "prev_loss", "func_evals", "n_iter"} == set(sd["state"][0])
    P.dumps_state_json(sd)  # plain data only
    P.save_checkpoint(tmp_path / "ck.npz", {"opt": sd, "w": w.array})
    ck = P.load_checkpoint(tmp_path / "ck.npz")

    w2, opt2, closure2, _ = _lsq_setup(**options)
    w2.array[...] = ck["w"]
    opt2.load_state_dict(ck["opt"])
    assert opt2.state[w2]["n_iter"] == 6 and isinstance(opt2.state[w2]["func_evals"], int)
    for _ in range(2):
        opt.step(closure)
        opt2.step(closure2)
    assert np.array_equal(w.array, w2.array)
    assert opt2.state[w2]["n_iter"] == 12


def test_load_state_dict_rejects_another_size():
    w, opt, closure, _ = _lsq_setup(max_iter=2)
    opt.step(closure)
    sd = opt.state_dict()
    other = eo.LBFGS([Parameter(np.zeros(5))])
    with pytest.raises(ValueError, match="12 entries, but the parameters have 5"):
        other.load_state_dict(sd)


# ------------------------------------------------------------------ parity with PyTorch


def _torch_closure(torch, opt, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss
    return closure


def _mlp_pair(torch, dtype, options):
    """The shared tanh MLP on its full data set, in both frameworks, with one LBFGS each."""
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    arrays, x, y = [a.astype(dtype) for a in arrays], x.astype(dtype), y.astype(dtype)
    pe, pt = P.ember_params(arrays), P.torch_params(torch, arrays)
    oe, ot = eo.LBFGS(pe, **options), torch.optim.LBFGS(pt, **options)
    xt, yt = torch.tensor(x), torch.tensor(y)

    def torch_loss():
        w1, b1, w2, b2 = pt
        return (((xt @ w1 + b1).tanh() @ w2 + b2 - yt) ** 2).mean()

    return (pe, oe, _ember_closure(oe, lambda: P.ember_loss(pe, x, y))), \
        (pt, ot, _torch_closure(torch, ot, torch_loss)), arrays


@pytest.mark.parametrize("line_search_fn,lr,history_size", [
    (None, 1, 100), (None, 0.3, 3), ("strong_wolfe", 1, 100), ("strong_wolfe", 1, 3),
    ("strong_wolfe", 20.0, 5), ("strong_wolfe", 0.05, 5),
])
def test_matches_pytorch_step_for_step_float64(torch, line_search_fn, lr, history_size):
    """Eight steps of five iterations (40 L-BFGS iterations) on the MLP in float64: the weights, losses and
    evaluation counts agree with PyTorch's after every step (lr 20 makes the line search zoom, 0.05
    extrapolate; history 3 makes the memory roll over)."""
    options = dict(lr=lr, max_iter=5, history_size=history_size, line_search_fn=line_search_fn)
    (pe, oe, ce), (pt, ot, ct), arrays = _mlp_pair(torch, np.float64, options)
    for step in range(8):
        le, lt = oe.step(ce), ot.step(ct)
        assert le.item() == pytest.approx(lt.item(), rel=1e-10, abs=1e-13), f"step {step}: loss"
        for i, (e, t) in enumerate(zip(pe, pt)):
            np.testing.assert_allclose(e.array, t.detach().numpy(), rtol=0, atol=1e-9,
                                       err_msg=f"step {step}: weight {i}")
        se, st = oe.state[pe[0]], ot.state[pt[0]]
        assert (se["func_evals"], se["n_iter"]) == (st["func_evals"], st["n_iter"]), f"step {step}: counters"
    assert max(np.abs(e.array - a).max() for e, a in zip(pe, arrays)) > 0.1, "the weights hardly moved"
    se, st = oe.state[pe[0]], ot.state[pt[0]]
    assert set(se) == set(st)
    assert len(se["old_dirs"]) == len(st["old_dirs"]) == min(history_size, len(st["old_dirs"]))
    np.testing.assert_allclose(float(se["H_diag"]), float(st["H_diag"]), rtol=1e-8)
    np.testing.assert_allclose([float(r) for r in se["ro"]], [float(r) for r in st["ro"]], rtol=1e-8)
    np.testing.assert_allclose(se["prev_flat_grad"], st["prev_flat_grad"].numpy(), atol=1e-9)
    if line_search_fn is None:  # counters that only count iterations: the checks above could not all pass by luck
        assert se["func_evals"] == 40


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_matches_pytorch_float32(torch, line_search_fn):
    """float32, as models are trained: two steps of ten iterations agree within float32 rounding noise."""
    options = dict(max_iter=10, line_search_fn=line_search_fn)
    (pe, oe, ce), (pt, ot, ct), arrays = _mlp_pair(torch, np.float32, options)
    for step in range(2):
        oe.step(ce)
        ot.step(ct)
        for i, (e, t) in enumerate(zip(pe, pt)):
            assert e.array.dtype == np.float32
            np.testing.assert_allclose(e.array, t.detach().numpy(), rtol=0, atol=1e-5,
                                       err_msg=f"step {step}: weight {i}")
    assert oe.state[pe[0]]["func_evals"] == ot.state[pt[0]]["func_evals"]
    assert max(np.abs(e.array - a).max() for e, a in zip(pe, arrays)) > 0.1


def test_least_squares_matches_pytorch_with_line_search(torch):
    """The ill-conditioned least-squares problem, several parameters at once (a matrix and a vector)."""
    a, b, w0 = _least_squares()
    options = dict(max_iter=4, history_size=4, line_search_fn="strong_wolfe")
    we = [Parameter(w0[:8].reshape(2, 4).copy()), Parameter(w0[8:].copy())]
    wt = [torch.tensor(w0[:8].reshape(2, 4).copy(), requires_grad=True), torch.tensor(w0[8:].copy(),
                                                                                        requires_grad=True)]
    oe, ot = eo.LBFGS(we, **options), torch.optim.LBFGS(wt, **options)
    ae, be, at, bt = ember.tensor(a), ember.tensor(b), torch.tensor(a), torch.tensor(b)
    ce = _ember_closure(oe, lambda: ((ae[:, :8] @ we[0].reshape(8) + ae[:, 8:] @ we[1] - be) ** 2).sum())
    ct = _torch_closure(torch, ot, lambda: ((at[:, :8] @ wt[0].reshape(8) + at[:, 8:] @ wt[1] - bt) ** 2).sum())
    for step in range(6):
        oe.step(ce)
        ot.step(ct)
        for e, t in zip(we, wt):
            np.testing.assert_allclose(e.array, t.detach().numpy(), rtol=0, atol=1e-9, err_msg=f"step {step}")
    lstsq = np.linalg.lstsq(a, b, rcond=None)[0]
    assert np.abs(np.concatenate([we[0].array.ravel(), we[1].array]) - lstsq).max() > 1e-3, \
        "converged already: the comparison would only compare optima"


@pytest.mark.parametrize("k,a,s,lr", [(23.6, 1.28, 1.9, 7.72), (26.7, 1.09, 1.3, 2.96)])
def test_line_search_zoom_branches_match_pytorch(torch, k, a, s, lr):
    """A 1-D slope that ends in a steep, wiggly wall: chosen so that the zoom phase moves trial points off both
    ends of the bracket, makes insufficient progress, swaps the bracket's ends, and also extrapolates."""
    we, wt = Parameter(np.zeros(1)), torch.zeros(1, dtype=torch.float64, requires_grad=True)

    def f(w):
        return (-w + s * ((k * (w - a)).exp() + 1).log() / k + 0.3 * (3 * w).sin()).sum()

    oe = eo.LBFGS([we], lr=lr, max_iter=6, line_search_fn="strong_wolfe")
    ot = torch.optim.LBFGS([wt], lr=lr, max_iter=6, line_search_fn="strong_wolfe")
    ce, ct = _ember_closure(oe, lambda: f(we)), _torch_closure(torch, ot, lambda: f(wt))
    for step in range(3):
        oe.step(ce)
        ot.step(ct)
        np.testing.assert_allclose(we.array, wt.detach().numpy(), rtol=0, atol=1e-10, err_msg=f"step {step}")
        assert oe.state[we]["func_evals"] == ot.state[wt]["func_evals"]
    assert abs(we.array[0]) > 0.5
