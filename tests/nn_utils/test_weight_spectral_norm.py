"""Weight and spectral normalisation, both APIs (parametrizations and the older hooks), against PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.diagnose import gradcheck
from ember.nn.utils import parametrizations as PZ
from ember.nn.utils import parametrize as P
from ember.nn.utils import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm
from tests.helpers import assert_close

# (name, factory given the nn namespace of either framework, input shape)
LAYERS = [
    ("linear", lambda m: m.Linear(5, 4), (3, 5)),
    ("conv2d", lambda m: m.Conv2d(2, 3, 3, padding=1), (2, 2, 5, 5)),
    ("conv-transpose2d", lambda m: m.ConvTranspose2d(3, 2, 3, stride=2), (2, 3, 4, 4)),
]
IDS = [c[0] for c in LAYERS]


def _pair(torch, make):
    """The same layer in both frameworks (torch's initial values copied into ember's)."""
    mt = make(torch.nn)
    me = make(nn)
    for name, p in mt.named_parameters():
        getattr(me, name).array[...] = p.detach().numpy()
    return me, mt


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _train(torch, me, mt, shape, params, steps=3, check=None):
    """A few SGD steps in both; outputs and the named parameters' gradients compared at each step."""
    opt_e = ember.optim.SGD(me.parameters(), lr=0.05)
    opt_t = torch.optim.SGD(mt.parameters(), lr=0.05)
    for step in range(steps):
        x = _x(shape, seed=step)
        ye, yt = me(ember.tensor(x)), mt(torch.tensor(x))
        assert_close(ye, yt, what=f"output at step {step}")
        opt_e.zero_grad()
        opt_t.zero_grad()
        (ye * ye).mean().backward()
        (yt * yt).mean().backward()
        for name in params:
            ge = dict(me.named_parameters())[name].grad
            gt = dict(mt.named_parameters())[name].grad
            assert ge is not None, f"{name} got no gradient"
            assert_close(ge, gt, what=f"gradient of {name} at step {step}")
        opt_e.step()
        opt_t.step()
        if check:
            check(step)


# ----------------------------------------------------------------------------------------- parametrizations


@pytest.mark.parametrize("dim", [0, 1, None])
@pytest.mark.parametrize("name,make,shape", LAYERS, ids=IDS)
def test_weight_norm_parametrization_parity(torch, name, make, shape, dim):
    me, mt = _pair(torch, make)
    PZ.weight_norm(me, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(mt, dim=dim)
    assert list(me.state_dict()) == list(mt.state_dict())
    assert [k for k, _ in me.named_parameters()] == [k for k, _ in mt.named_parameters()]
    pe, pt = me.parametrizations.weight, mt.parametrizations.weight
    assert pe.original0.shape == tuple(pt.original0.shape)
    assert_close(pe.original0, pt.original0, what="g")
    assert_close(me.weight, mt.weight, what="initial weight")
    _train(torch, me, mt, shape, ["parametrizations.weight.original0", "parametrizations.weight.original1"])
    P.remove_parametrizations(me, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(mt, "weight")
    assert isinstance(me.weight, nn.Parameter) and list(me.state_dict()) == list(mt.state_dict())
    assert_close(me.weight, mt.weight, what="weight after removal")


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=IDS)
def test_spectral_norm_parametrization_parity(torch, name, make, shape):
    me, mt = _pair(torch, make)
    PZ.spectral_norm(me)
    torch.nn.utils.parametrizations.spectral_norm(mt)
    assert list(me.state_dict()) == list(mt.state_dict())
    se, st = me.parametrizations.weight[0], mt.parametrizations.weight[0]
    assert se.dim == st.dim == (1 if name == "conv-transpose2d" else 0)
    assert se._u.shape == tuple(st._u.shape) and se._v.shape == tuple(st._v.shape)
    se._u.array[...] = st._u.numpy()  # the random start differs: take torch's so the iterations agree
    se._v.array[...] = st._v.numpy()

    def check(step):
        assert_close(se._u, st._u, what=f"u after step {step}")
        assert_close(se._v, st._v, what=f"v after step {step}")

    _train(torch, me, mt, shape, ["parametrizations.weight.original"], check=check)
    # eval mode: no power iteration, u and v stay
    me.eval()
    mt.eval()
    u = se._u.numpy().copy()
    x = _x(shape, seed=9)
    assert_close(me(ember.tensor(x)), mt(torch.tensor(x)), what="eval output")
    np.testing.assert_array_equal(se._u.numpy(), u)
    P.remove_parametrizations(me, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(mt, "weight")
    assert list(me.state_dict()) == list(mt.state_dict())
    assert_close(me.weight, mt.weight, what="weight after removal")


def test_spectral_norm_parametrization_divides_by_the_largest_singular_value():
    m = PZ.spectral_norm(nn.Linear(7, 5), n_power_iterations=5)
    for _ in range(20):
        w = m.weight
    assert np.linalg.svd(w.detach().numpy().astype(np.float64), compute_uv=False)[0] == pytest.approx(1.0, abs=1e-4)
    m = PZ.spectral_norm(nn.Conv2d(3, 4, 3))
    assert m.parametrizations.weight[0]._v.shape == (27,)


def test_spectral_norm_of_a_vector_is_exact():
    m = nn.Linear(3, 4)
    PZ.spectral_norm(m, name="bias")
    b = m.parametrizations.bias.original.detach().numpy()
    np.testing.assert_allclose(m.bias.detach().numpy(), b / np.linalg.norm(b), rtol=1e-6)
    assert [k for k, _ in m.named_buffers()] == []


def test_parametrization_state_dict_loads_into_a_fresh_model():
    a = PZ.spectral_norm(nn.Linear(4, 3))
    b = PZ.spectral_norm(nn.Linear(4, 3))
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())


def test_weight_norm_gradcheck_float64():
    """w = g · v / ‖v‖: finite differences in g and v, per-row (dim 0), per-column (dim 1) and whole-tensor norms."""
    rng = np.random.default_rng(0)
    for dim in (0, 1, None):
        m = PZ.weight_norm(nn.Linear(4, 3).double(), dim=dim)
        g, v = m.parametrizations.weight.original0, m.parametrizations.weight.original1
        g.array[...] = rng.uniform(0.5, 2.0, g.shape)  # away from the initial g = ‖v‖
        x = ember.tensor(rng.standard_normal((2, 4)), requires_grad=True)
        gradcheck(lambda inp, gg, vv: m(inp), x, g, v)
    m = weight_norm(nn.Conv2d(2, 3, 2).double())  # the hook API: the pre-hook recomputes the weight each call
    x = ember.tensor(rng.standard_normal((1, 2, 3, 3)))
    gradcheck(lambda gg, vv: m(x), m.weight_g, m.weight_v)


def test_weight_norm_formula():
    m = PZ.weight_norm(nn.Linear(3, 2), dim=0)
    g, v = m.parametrizations.weight.original0, m.parametrizations.weight.original1
    np.testing.assert_allclose(g.detach().numpy()[:, 0], np.linalg.norm(v.detach().numpy(), axis=1), rtol=1e-6)
    with ember.no_grad():
        g.fill_(3.0)
    np.testing.assert_allclose(np.linalg.norm(m.weight.detach().numpy(), axis=1), [3.0, 3.0], rtol=1e-6)


def test_spectral_norm_gradcheck_in_eval_mode():
    """With u, v fixed (eval mode) W / (uᵀWv) is a smooth function of W."""
    m = PZ.spectral_norm(nn.Linear(4, 3).double()).eval()
    gradcheck(lambda w: m.weight, m.parametrizations.weight.original)
    m = spectral_norm(nn.Linear(4, 3).double()).eval()
    x = ember.tensor(np.random.default_rng(1).standard_normal((2, 4)))
    gradcheck(lambda w: m(x), m.weight_orig)


@pytest.mark.parametrize("call,exc,match", [
    (lambda: PZ.spectral_norm(nn.Linear(3, 3), n_power_iterations=0), ValueError, "n_power_iterations"),
    (lambda: PZ.spectral_norm(nn.Linear(3, 3), dim=2), IndexError, "dim 2 is out of range"),
    (lambda: PZ.spectral_norm(nn.Linear(3, 3), name="nope"), ValueError, "no parameter or buffer named 'nope'"),
    (lambda: PZ.weight_norm(nn.Linear(3, 3), dim=3), IndexError, "dim 3 is out of range"),
    (lambda: weight_norm(weight_norm(nn.Linear(3, 3))), RuntimeError, "two weight_norm hooks"),
    (lambda: spectral_norm(spectral_norm(nn.Linear(3, 3))), RuntimeError, "two spectral_norm hooks"),
    (lambda: weight_norm(nn.Linear(3, 3), name="nope"), ValueError, "no parameter named 'nope'"),
    (lambda: remove_weight_norm(nn.Linear(3, 3)), ValueError, "weight_norm of 'weight' not found"),
    (lambda: remove_spectral_norm(nn.Linear(3, 3)), ValueError, "spectral_norm of 'weight' not found"),
    (lambda: spectral_norm(nn.Linear(3, 3), n_power_iterations=-1), ValueError, "n_power_iterations"),
])
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ----------------------------------------------------------------------------------------- hook-based API


@pytest.mark.parametrize("dim", [0, None])
@pytest.mark.parametrize("name,make,shape", LAYERS, ids=IDS)
def test_weight_norm_hook_parity(torch, name, make, shape, dim):
    import warnings

    me, mt = _pair(torch, make)
    weight_norm(me, dim=dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PyTorch deprecates this API in favour of the other
        torch.nn.utils.weight_norm(mt, dim=dim)
    assert list(me.state_dict()) == list(mt.state_dict())
    assert me.weight_g.shape == tuple(mt.weight_g.shape)
    assert not isinstance(me.weight, nn.Parameter)
    _train(torch, me, mt, shape, ["weight_g", "weight_v"])
    remove_weight_norm(me)
    torch.nn.utils.remove_weight_norm(mt)
    assert isinstance(me.weight, nn.Parameter) and me.weight.requires_grad
    assert list(me.state_dict()) == list(mt.state_dict())
    assert_close(me.weight, mt.weight, what="weight after removal")
    assert not me._forward_pre_hooks


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=IDS)
def test_spectral_norm_hook_parity(torch, name, make, shape):
    me, mt = _pair(torch, make)
    spectral_norm(me)
    torch.nn.utils.spectral_norm(mt)
    assert list(me.state_dict()) == list(mt.state_dict())
    assert me.weight_u.shape == tuple(mt.weight_u.shape)
    me.weight_u.array[...] = mt.weight_u.numpy()
    me.weight_v.array[...] = mt.weight_v.numpy()

    def check(step):
        assert_close(me.weight_u, mt.weight_u, what=f"u after step {step}")
        assert_close(me.weight_v, mt.weight_v, what=f"v after step {step}")

    _train(torch, me, mt, shape, ["weight_orig"], check=check)
    me.eval()
    mt.eval()
    u = me.weight_u.numpy().copy()
    x = _x(shape, seed=7)
    assert_close(me(ember.tensor(x)), mt(torch.tensor(x)), what="eval output")
    np.testing.assert_array_equal(me.weight_u.numpy(), u)
    remove_spectral_norm(me)
    torch.nn.utils.remove_spectral_norm(mt)
    assert list(me.state_dict()) == list(mt.state_dict())
    assert isinstance(me.weight, nn.Parameter)
    assert_close(me.weight, mt.weight, what="weight after removal")


def test_spectral_norm_hook_backward_through_two_forwards():
    """The GAN pattern D(real) − D(fake): the second forward updates u, v in place, the first graph must still
    backpropagate with the values it used."""
    m = spectral_norm(nn.Linear(4, 3))
    a, b = m(ember.randn(2, 4)).sum(), m(ember.randn(2, 4)).sum()
    (a - b).backward()
    assert m.weight_orig.grad is not None and np.isfinite(m.weight_orig.grad.numpy()).all()
    m = PZ.spectral_norm(nn.Linear(4, 3))
    a, b = m(ember.randn(2, 4)).sum(), m(ember.randn(2, 4)).sum()
    (a - b).backward()
    assert np.isfinite(m.parametrizations.weight.original.grad.numpy()).all()


def test_submodules_are_importable_as_in_pytorch():
    import ember.nn.utils.parametrizations as a
    import ember.nn.utils.parametrize as b

    assert nn.utils.parametrizations is a and nn.utils.parametrize is b
    assert nn.utils.weight_norm is weight_norm and nn.utils.spectral_norm is spectral_norm
