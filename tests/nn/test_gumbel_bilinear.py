"""F.gumbel_softmax (the distribution it samples, straight-through gradients, seeding) and F.bilinear /
nn.Bilinear (gradchecks, PyTorch parity of values, gradients, repr, state and initialisation, errors)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.diagnose import gradcheck
from tests.helpers import assert_close

N = 20_000


def _gen(seed: int = 3):
    return ember.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- gumbel_softmax


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gumbel_softmax_is_a_distribution(dtype):
    logits = ember.tensor(np.random.default_rng(0).standard_normal((6, 5)), dtype=dtype)
    y = F.gumbel_softmax(logits, tau=0.7)
    assert y.shape == (6, 5) and y.dtype == dtype
    assert np.all(y.numpy() > 0)
    np.testing.assert_allclose(y.numpy().sum(-1), 1, rtol=1e-6)


def test_gumbel_max_samples_the_softmax_distribution():
    """argmax of the sample is a draw from softmax(logits): the noise is Gumbel(0, 1)."""
    logits = np.array([1.0, 0.0, -1.0, 2.0], np.float32)
    y = F.gumbel_softmax(ember.tensor(np.tile(logits, (N, 1))), tau=0.5, hard=True).numpy()
    freq = y.sum(0) / N
    p = np.exp(logits) / np.exp(logits).sum()
    se = np.sqrt(p * (1 - p) / N)
    assert np.all(np.abs(freq - p) <= 4.5 * se), (freq, p)


def test_gumbel_softmax_along_another_dim():
    y = F.gumbel_softmax(ember.randn(4, 3, 2), dim=1, hard=True).numpy()
    assert np.all(y.sum(1) == 1) and set(np.unique(y)) == {0.0, 1.0}
    y = F.gumbel_softmax(ember.randn(4, 3), dim=0).numpy()
    np.testing.assert_allclose(y.sum(0), 1, rtol=1e-6)
    assert F.gumbel_softmax(ember.tensor(0.3)).item() == 1.0  # one category


def test_gumbel_softmax_reproducible():
    logits = ember.randn(3, 8)
    ember.manual_seed(11)
    a = F.gumbel_softmax(logits)
    ember.manual_seed(11)
    b = F.gumbel_softmax(logits)
    assert a.tolist() == b.tolist()
    assert F.gumbel_softmax(logits).tolist() != a.tolist()
    c = F.gumbel_softmax(logits, generator=_gen(5))
    d = F.gumbel_softmax(logits, generator=_gen(5))
    assert c.tolist() == d.tolist()


def test_small_tau_approaches_one_hot():
    y = F.gumbel_softmax(ember.randn(200, 6), tau=0.01).numpy()
    assert np.mean(y.max(-1) > 0.99) > 0.9


def test_hard_is_one_hot_with_the_soft_gradient():
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    up = ember.tensor(np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32))
    soft_x, hard_x = ember.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    soft = F.gumbel_softmax(soft_x, tau=0.8, generator=_gen())
    hard = F.gumbel_softmax(hard_x, tau=0.8, hard=True, generator=_gen())  # the same noise
    h = hard.detach().numpy()
    assert set(np.unique(h)) == {0.0, 1.0} and np.all(h.sum(-1) == 1)
    assert np.all(h.argmax(-1) == soft.detach().numpy().argmax(-1))
    (soft * up).sum().backward()
    (hard * up).sum().backward()
    np.testing.assert_allclose(hard_x.grad.numpy(), soft_x.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("tau,dim", [(1.0, -1), (0.5, 0), (2.0, 1)])
def test_gumbel_softmax_gradcheck(tau, dim):
    x = ember.tensor(np.random.default_rng(4).standard_normal((3, 4)), dtype=ember.float64, requires_grad=True)
    gradcheck(lambda t: F.gumbel_softmax(t, tau=tau, dim=dim, generator=_gen(9)), x)  # fixed noise each call


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_parity_given_the_noise(torch, hard):
    """With ember's noise recovered from its sample (G = tau·log y − logits, up to a constant per row that the
    softmax ignores), PyTorch's formula gives the same values and logits gradient."""
    tau = 0.6
    x = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)
    up = np.random.default_rng(4).standard_normal((4, 5)).astype(np.float32)
    xe = ember.tensor(x, requires_grad=True)
    ye = F.gumbel_softmax(xe, tau=tau, hard=hard, generator=_gen(21))
    soft = F.gumbel_softmax(ember.tensor(x), tau=tau, generator=_gen(21)).numpy()
    noise = torch.tensor(tau * np.log(soft.astype(np.float64)) - x, dtype=torch.float32)
    xt = torch.tensor(x, requires_grad=True)
    y_soft = ((xt + noise) / tau).softmax(-1)
    if hard:
        index = y_soft.max(-1, keepdim=True)[1]
        yt = torch.zeros_like(xt).scatter_(-1, index, 1.0) - y_soft.detach() + y_soft
    else:
        yt = y_soft
    assert_close(ye, yt, what="gumbel_softmax value")
    (ye * ember.tensor(up)).sum().backward()
    (yt * torch.tensor(up)).sum().backward()
    assert_close(xe.grad, xt.grad, what="gumbel_softmax gradient")


def test_gumbel_softmax_eps_warns_and_errors(torch):
    with pytest.warns(UserWarning, match="deprecated"):
        F.gumbel_softmax(ember.randn(2, 3), eps=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.gumbel_softmax(ember.randn(2, 3))  # the default eps does not warn
    with pytest.raises(RuntimeError, match="floating point"):
        F.gumbel_softmax(ember.tensor([1, 2]))
    with pytest.raises(IndexError):
        F.gumbel_softmax(ember.randn(2, 3), dim=4)
    with pytest.raises(IndexError):
        torch.nn.functional.gumbel_softmax(torch.randn(2, 3), dim=4)


# ----------------------------------------------------------------------------- bilinear

BILINEAR_SHAPES = [
    ((4, 3), (4, 2), (5, 3, 2), True),
    ((4, 3), (4, 2), (5, 3, 2), False),
    ((3,), (2,), (4, 3, 2), True),  # unbatched
    ((2, 3, 3), (2, 3, 4), (2, 3, 4), True),  # two leading dimensions
    ((0, 3), (0, 2), (5, 3, 2), True),  # empty batch
]


def _bilinear_arrays(s1, s2, sw, bias, dtype, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (s1, s2, sw)]
    if bias:
        arrays.append(rng.standard_normal(sw[0]).astype(dtype))
    return arrays


@pytest.mark.parametrize("s1,s2,sw,bias", BILINEAR_SHAPES[:4], ids=str)
def test_bilinear_gradcheck(s1, s2, sw, bias):
    xs = [ember.tensor(a, requires_grad=True) for a in _bilinear_arrays(s1, s2, sw, bias, np.float64)]
    gradcheck(lambda *t: F.bilinear(*t), *xs)


def test_bilinear_gradcheck_single_inputs():
    a1, a2, w = _bilinear_arrays((3, 2), (3, 4), (2, 2, 4), False, np.float64)
    gradcheck(lambda x: F.bilinear(x, ember.tensor(a2), ember.tensor(w)), ember.tensor(a1, requires_grad=True))
    gradcheck(lambda x: F.bilinear(ember.tensor(a1), x, ember.tensor(w)), ember.tensor(a2, requires_grad=True))
    gradcheck(lambda x: F.bilinear(ember.tensor(a1), ember.tensor(a2), x), ember.tensor(w, requires_grad=True))


def test_bilinear_value_is_the_definition():
    a1, a2, w, b = _bilinear_arrays((6, 3), (6, 4), (5, 3, 4), True, np.float64)
    out = F.bilinear(*(ember.tensor(a) for a in (a1, a2, w, b))).numpy()
    np.testing.assert_allclose(out, np.einsum("ni,kij,nj->nk", a1, w, a2) + b, rtol=1e-12)


@pytest.mark.parametrize("s1,s2,sw,bias", BILINEAR_SHAPES, ids=str)
def test_bilinear_parity(torch, s1, s2, sw, bias):
    arrays = _bilinear_arrays(s1, s2, sw, bias, np.float32, seed=1)
    es = [ember.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    oe, ot = F.bilinear(*es), torch.nn.functional.bilinear(*ts)
    assert oe.dtype == np.float32
    assert_close(oe, ot, what="bilinear value")
    v = np.random.default_rng(2).standard_normal(tuple(ot.shape)).astype(np.float32)
    (oe * ember.tensor(v)).sum().backward()
    (ot * torch.tensor(v)).sum().backward()
    for i, (xe, xt) in enumerate(zip(es, ts)):
        assert_close(xe.grad, xt.grad, what=f"bilinear gradient of input {i}")


BILINEAR_ERRORS = [
    ((3,), (1, 4), (5, 3, 4), 5, "input dimensions do not match: got 1 and 2"),
    ((2, 3), (3, 4), (5, 3, 4), 5, "batch dimensions do not match at dim 0: got 2 and 3"),
    ((2, 2), (2, 4), (5, 3, 4), 5, "input1 size does not match weight size: got 2 but expected 3"),
    ((2, 3), (2, 5), (5, 3, 4), 5, "input2 size does not match weight size: got 5 but expected 4"),
    ((2, 3), (2, 4), (5, 3, 4), 4, "bias size does not match weight size"),
]


@pytest.mark.parametrize("s1,s2,sw,nb,match", BILINEAR_ERRORS)
def test_bilinear_errors(s1, s2, sw, nb, match):
    with pytest.raises(RuntimeError, match=match):
        F.bilinear(ember.ones(*s1), ember.ones(*s2), ember.ones(*sw), ember.ones(nb))


@pytest.mark.parametrize("s1,s2,sw,nb,match", BILINEAR_ERRORS)
def test_bilinear_errors_match_torch(torch, s1, s2, sw, nb, match):
    with pytest.raises(RuntimeError, match=match):
        torch.nn.functional.bilinear(torch.ones(*s1), torch.ones(*s2), torch.ones(*sw), torch.ones(nb))


def test_bilinear_other_errors():
    with pytest.raises(RuntimeError, match="weight must be 3-D"):
        F.bilinear(ember.ones(2, 3), ember.ones(2, 4), ember.ones(3, 4))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.bilinear(ember.ones(2, 3, dtype=ember.float64), ember.ones(2, 4), ember.ones(5, 3, 4))
    with pytest.raises(RuntimeError, match="at least 1 dimension"):
        F.bilinear(ember.tensor(1.0), ember.tensor(1.0), ember.ones(5, 1, 1))


def test_bilinear_layer_parity(torch):
    layer = nn.Bilinear(3, 4, 5)
    tlayer = torch.nn.Bilinear(3, 4, 5)
    assert repr(layer) == repr(tlayer)
    assert list(layer.state_dict()) == list(tlayer.state_dict())
    tlayer.load_state_dict({k: torch.from_numpy(np.array(v.array)) for k, v in layer.state_dict().items()})
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((6, 3)).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32)
    e1, e2 = ember.tensor(x1, requires_grad=True), ember.tensor(x2, requires_grad=True)
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    ye, yt = layer(e1, e2), tlayer(t1, t2)
    assert_close(ye, yt, what="Bilinear output")
    ye.sum().backward()
    yt.sum().backward()
    assert_close(e1.grad, t1.grad, what="input1 grad")
    assert_close(e2.grad, t2.grad, what="input2 grad")
    assert_close(layer.weight.grad, tlayer.weight.grad, what="weight grad")
    assert_close(layer.bias.grad, tlayer.bias.grad, what="bias grad")
    assert repr(nn.Bilinear(3, 4, 5, bias=False)) == repr(torch.nn.Bilinear(3, 4, 5, bias=False))


def test_bilinear_layer_init_and_options():
    layer = nn.Bilinear(16, 8, 64)
    bound = 1 / math.sqrt(16)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert w.shape == (64, 16, 8) and b.shape == (64,) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound  # U(−bound, bound)
    assert np.abs(w).max() > 0.95 * bound  # the bound uses in1_features, not in2 (1/√8 would allow more)
    ember.manual_seed(4)
    first = nn.Bilinear(3, 4, 5).weight.tolist()
    ember.manual_seed(4)
    assert nn.Bilinear(3, 4, 5).weight.tolist() == first
    no_bias = nn.Bilinear(3, 4, 5, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert nn.Bilinear(3, 4, 5, dtype=ember.float64)(ember.ones(2, 3, dtype=ember.float64),
                                                     ember.ones(2, 4, dtype=ember.float64)).dtype == np.float64
    with pytest.raises(ValueError, match="in1_features"):
        nn.Bilinear(0, 4, 5)
    assert "Bilinear" in nn.__dict__ and F.bilinear is ember.nn.functional.bilinear
