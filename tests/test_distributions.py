"""ember.distributions: values and gradients against torch.distributions, sample moments, seeding,
argument validation, and a VAE's reparameterised step checked by finite differences."""
import subprocess
import sys

import numpy as np
import pytest

import ember
from ember.diagnose import GradcheckError, gradcheck
from ember.distributions import Bernoulli, Categorical, Distribution, Normal, Uniform, kl_divergence, register_kl

RNG = np.random.default_rng(0)


def _param(a: np.ndarray, torch):
    """The same float64 values as an ember leaf and a torch leaf, both requiring grad."""
    return ember.tensor(a, dtype=ember.float64, requires_grad=True), torch.tensor(a, requires_grad=True)


def _grad_check(ours, theirs, e_leaves, t_leaves, torch, what):
    """Values equal, then the gradients of sum(value · w) (w fixed, random) equal."""
    got, want = ours.detach().numpy(), theirs.detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=f"{what}: values")
    w = np.random.default_rng(1).standard_normal(got.shape)
    finite = np.isfinite(want)
    w = np.where(finite, w, 0.0)  # inf entries (KL where q has no mass) carry no gradient to compare
    (ember.where(ember.tensor(finite), ours, 0.0) * ember.tensor(w)).sum().backward()
    (torch.where(torch.tensor(finite), theirs, 0.0) * torch.tensor(w)).sum().backward()
    for i, (e, t) in enumerate(zip(e_leaves, t_leaves)):
        assert e.grad is not None, f"{what}: no gradient reached ember input {i}"
        np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"{what}: gradient of input {i}")


# ----------------------------------------------------------------------------- parity with torch.distributions


def test_normal_log_prob_cdf_entropy_and_gradients_match_torch(torch):
    loc, tloc = _param(RNG.standard_normal((3, 4)), torch)
    scale, tscale = _param(RNG.uniform(0.3, 2.0, (4,)), torch)
    value, tvalue = _param(RNG.standard_normal((2, 3, 4)), torch)
    # one distribution serves three backward passes (scale is broadcast to the batch shape), as in torch
    p, q = Normal(loc, scale), torch.distributions.Normal(tloc, tscale)
    assert p.batch_shape == q.batch_shape == (3, 4) and p.event_shape == q.event_shape == ()
    _grad_check(p.log_prob(value), q.log_prob(tvalue), [loc, scale, value], [tloc, tscale, tvalue], torch, "log_prob")
    loc.grad = scale.grad = tloc.grad = tscale.grad = None
    _grad_check(p.entropy(), q.entropy(), [scale], [tscale], torch, "entropy")
    loc.grad = scale.grad = tloc.grad = tscale.grad = None
    _grad_check(p.cdf(value.detach()), q.cdf(tvalue.detach()), [loc, scale], [tloc, tscale], torch, "cdf")
    for name in ("mean", "mode", "variance", "stddev"):
        np.testing.assert_allclose(getattr(p, name).detach().numpy(), getattr(q, name).detach().numpy(),
                                   rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("given", ["probs", "logits"])
def test_bernoulli_log_prob_entropy_and_gradients_match_torch(torch, given):
    raw = RNG.uniform(0.05, 0.95, (5,)) if given == "probs" else RNG.standard_normal(5) * 3
    value = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    param, tparam = _param(raw, torch)
    p, q = Bernoulli(**{given: param}), torch.distributions.Bernoulli(**{given: tparam})
    _grad_check(p.log_prob(ember.tensor(value, dtype=ember.float64)), q.log_prob(torch.tensor(value)),
                [param], [tparam], torch, "log_prob")
    param, tparam = _param(raw, torch)  # a new pair: the derived parameter's graph is spent, in both libraries
    p, q = Bernoulli(**{given: param}), torch.distributions.Bernoulli(**{given: tparam})
    _grad_check(p.entropy(), q.entropy(), [param], [tparam], torch, "entropy")
    for name in ("probs", "logits", "mean", "variance", "mode"):
        np.testing.assert_allclose(getattr(p, name).detach().numpy(), getattr(q, name).detach().numpy(),
                                   rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("given", ["probs", "logits"])
def test_categorical_log_prob_entropy_and_gradients_match_torch(torch, given):
    raw = RNG.uniform(0.0, 2.0, (2, 3, 5)) if given == "probs" else RNG.standard_normal((2, 3, 5)) * 2
    if given == "probs":
        raw[0, 0, 1] = 0.0  # a category with no mass: entropy must stay finite
    param, tparam = _param(raw, torch)
    p, q = Categorical(**{given: param}), torch.distributions.Categorical(**{given: tparam})
    assert p.batch_shape == q.batch_shape == (2, 3) and p.event_shape == () and p.param_shape == (2, 3, 5)
    value = np.array([[[4, 0, 2], [1, 1, 3]]] * 4)  # (4, 2, 3): a sample shape in front of the batch
    _grad_check(p.log_prob(ember.tensor(value)), q.log_prob(torch.tensor(value)), [param], [tparam], torch,
                "log_prob")
    param, tparam = _param(raw, torch)  # a new pair: the normalisation's graph is spent, in both libraries
    p, q = Categorical(**{given: param}), torch.distributions.Categorical(**{given: tparam})
    _grad_check(p.entropy(), q.entropy(), [param], [tparam], torch, "entropy")
    for name in ("probs", "logits"):
        np.testing.assert_allclose(getattr(p, name).detach().numpy(), getattr(q, name).detach().numpy(),
                                   rtol=1e-12, err_msg=name)
    np.testing.assert_array_equal(p.mode.numpy(), q.mode.numpy())
    assert np.isnan(p.mean.numpy()).all() and p.mean.shape == q.mean.shape
    np.testing.assert_array_equal(p.enumerate_support().numpy(), q.enumerate_support().numpy())


def test_uniform_log_prob_entropy_and_gradients_match_torch(torch):
    low, tlow = _param(RNG.uniform(-2, 0, (4,)), torch)
    high, thigh = _param(RNG.uniform(0.5, 3, (4,)), torch)
    p, q = Uniform(low, high), torch.distributions.Uniform(tlow, thigh)
    v = np.array([-0.1, 0.2, 0.0, 0.4])
    _grad_check(p.log_prob(ember.tensor(v, dtype=ember.float64)), q.log_prob(torch.tensor(v)),
                [low, high], [tlow, thigh], torch, "log_prob")
    low.grad = high.grad = tlow.grad = thigh.grad = None
    _grad_check(p.entropy(), q.entropy(), [low, high], [tlow, thigh], torch, "entropy")
    for name in ("mean", "variance", "stddev"):
        np.testing.assert_allclose(getattr(p, name).detach().numpy(), getattr(q, name).detach().numpy(),
                                   rtol=1e-12, err_msg=name)
    loose_p, loose_q = Uniform(0.0, 1.0, validate_args=False), torch.distributions.Uniform(0.0, 1.0,
                                                                                              validate_args=False)
    outside = [-0.5, 0.0, 0.999, 1.0, 2.0]
    np.testing.assert_array_equal(loose_p.log_prob(ember.tensor(outside)).numpy(),
                                  loose_q.log_prob(torch.tensor(outside)).numpy())


def test_kl_normal_normal_matches_torch_with_gradients_to_both(torch):
    a, ta = _param(RNG.standard_normal(6), torch)
    b, tb = _param(RNG.uniform(0.2, 2, 6), torch)
    c, tc = _param(RNG.standard_normal(6), torch)
    d, td = _param(RNG.uniform(0.2, 2, 6), torch)
    td_ = torch.distributions
    _grad_check(kl_divergence(Normal(a, b), Normal(c, d)), td_.kl_divergence(td_.Normal(ta, tb), td_.Normal(tc, td)),
                [a, b, c, d], [ta, tb, tc, td], torch, "KL(Normal || Normal)")


@pytest.mark.parametrize("given", ["probs", "logits"])
def test_kl_categorical_categorical_matches_torch_including_zero_mass(torch, given):
    if given == "probs":
        rp, rq = RNG.uniform(0.1, 1, (3, 4)), RNG.uniform(0.1, 1, (3, 4))
        rp[0, 2] = 0.0  # p has no mass there: the term is 0
        rq[1, 3] = 0.0  # q has none where p has: KL is inf
    else:
        rp, rq = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    p, tp = _param(rp, torch)
    q, tq = _param(rq, torch)
    ours = kl_divergence(Categorical(**{given: p}), Categorical(**{given: q}))
    theirs = torch.distributions.kl_divergence(torch.distributions.Categorical(**{given: tp}),
                                               torch.distributions.Categorical(**{given: tq}))
    if given == "probs":
        assert np.isinf(ours.detach().numpy()[1]) and np.isfinite(ours.detach().numpy()[[0, 2]]).all()
    _grad_check(ours, theirs, [p, q], [tp, tq], torch, f"KL(Categorical || Categorical) from {given}")


@pytest.mark.parametrize("given", ["probs", "logits"])
def test_kl_bernoulli_bernoulli_matches_torch_including_the_edges(torch, given):
    if given == "probs":
        rp, rq = np.array([0.3, 0.0, 1.0, 0.6, 0.5]), np.array([0.7, 0.4, 0.2, 0.0, 1.0])
    else:
        rp, rq = RNG.standard_normal(5) * 3, RNG.standard_normal(5) * 3
    p, tp = _param(rp, torch)
    q, tq = _param(rq, torch)
    ours = kl_divergence(Bernoulli(**{given: p}), Bernoulli(**{given: q}))
    theirs = torch.distributions.kl_divergence(torch.distributions.Bernoulli(**{given: tp}),
                                               torch.distributions.Bernoulli(**{given: tq}))
    _grad_check(ours, theirs, [p, q], [tp, tq], torch, f"KL(Bernoulli || Bernoulli) from {given}")


def test_kl_uniform_uniform_matches_torch(torch):
    lo, hi = np.array([0.0, 0.0, -1.0]), np.array([1.0, 1.0, 2.0])
    qlo, qhi = np.array([-1.0, 0.5, -3.0]), np.array([2.0, 3.0, 5.0])
    ours = kl_divergence(Uniform(ember.tensor(lo), ember.tensor(hi)), Uniform(ember.tensor(qlo), ember.tensor(qhi)))
    theirs = torch.distributions.kl_divergence(
        torch.distributions.Uniform(torch.tensor(lo), torch.tensor(hi)),
        torch.distributions.Uniform(torch.tensor(qlo), torch.tensor(qhi)))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


# ----------------------------------------------------------------------------- sampling


def test_sample_shapes_dtypes_and_gradients():
    loc = ember.zeros(3, requires_grad=True)
    n = Normal(loc, 1.0)
    s, r = n.sample((5, 2)), n.rsample((5, 2))
    assert s.shape == r.shape == (5, 2, 3) and s.dtype == np.float32
    assert not s.requires_grad and r.requires_grad
    assert Normal(0.0, 1.0).sample().shape == () and Normal(0.0, 1.0).sample(4).shape == (4,)
    c = Categorical(logits=ember.zeros(2, 6))
    assert c.sample((7,)).shape == (7, 2) and c.sample().dtype == np.int64
    b = Bernoulli(probs=ember.full((4,), 0.5, dtype=ember.float64))
    assert b.sample((3,)).shape == (3, 4) and b.sample().dtype == np.float64
    for discrete in (c, b):
        with pytest.raises(NotImplementedError, match="rsample"):
            discrete.rsample()
    u = Uniform(ember.zeros(2, requires_grad=True), 2.0)
    assert u.rsample((3,)).requires_grad and not u.sample((3,)).requires_grad


def test_rsample_gradients_are_the_reparameterisation():
    loc = ember.tensor([1.0, -2.0], requires_grad=True)
    scale = ember.tensor([0.5, 3.0], requires_grad=True)
    ember.manual_seed(5)
    z = Normal(loc, scale).rsample((1000,))
    z.sum().backward()
    ember.manual_seed(5)
    eps = (Normal(loc, scale).sample((1000,)) - loc.detach()) / scale.detach()  # the same noise
    np.testing.assert_allclose(loc.grad.numpy(), [1000.0, 1000.0])
    np.testing.assert_allclose(scale.grad.numpy(), eps.numpy().sum(0), rtol=1e-4, atol=1e-3)
    low, high = ember.tensor(1.0, requires_grad=True), ember.tensor(3.0, requires_grad=True)
    Uniform(low, high).rsample((500,)).mean().backward()
    assert abs(low.grad.item() - 0.5) < 0.05 and abs(high.grad.item() - 0.5) < 0.05  # d mean/d bound = 1/2


def test_sample_moments_over_many_draws():
    n = 200_000
    normal = Normal(ember.tensor([0.0, 3.0]), ember.tensor([1.0, 0.5])).sample((n,)).numpy()
    np.testing.assert_allclose(normal.mean(0), [0.0, 3.0], atol=0.01)
    np.testing.assert_allclose(normal.std(0), [1.0, 0.5], rtol=0.01)
    uni = Uniform(-1.0, 3.0).sample((n,)).numpy()
    assert uni.min() >= -1.0 and uni.max() < 3.0
    np.testing.assert_allclose([uni.mean(), uni.var()], [1.0, 16 / 12], rtol=0.01)
    bern = Bernoulli(probs=ember.tensor([0.1, 0.5, 0.9])).sample((n,)).numpy()
    assert set(np.unique(bern)) <= {0.0, 1.0}
    np.testing.assert_allclose(bern.mean(0), [0.1, 0.5, 0.9], atol=0.005)
    probs = np.array([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25]])
    cat = Categorical(probs=ember.tensor(probs)).sample((n,)).numpy()
    freq = np.stack([np.bincount(cat[:, i], minlength=4) / n for i in range(2)])
    np.testing.assert_allclose(freq, probs, atol=0.005)
    assert freq[0, 1] == 0.0  # a zero-probability category is never drawn


def test_draws_are_reproducible_under_manual_seed():
    dists = [Normal(0.0, 1.0), Uniform(0.0, 1.0), Bernoulli(0.3), Categorical(logits=ember.zeros(5))]

    def draws(seed):
        ember.manual_seed(seed)
        return [d.sample((50,)).numpy() for d in dists]

    first, again, other = draws(0), draws(0), draws(1)
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


# ----------------------------------------------------------------------------- a VAE's step


def test_vae_style_rsample_and_kl_pass_gradcheck_in_float64():
    """z = mu + sigma·eps from the encoder's outputs, a reconstruction term on z and the KL to N(0, 1):
    the analytic gradients with respect to mu and log-variance agree with finite differences."""
    mu = ember.tensor(RNG.standard_normal((3, 2)), dtype=ember.float64, requires_grad=True)
    logvar = ember.tensor(RNG.standard_normal((3, 2)) * 0.5, dtype=ember.float64, requires_grad=True)
    target = ember.tensor(RNG.standard_normal((3, 2)), dtype=ember.float64)

    def loss(mu, logvar):
        ember.manual_seed(11)  # the same eps on every evaluation, as the reparameterisation assumes
        q = Normal(mu, (0.5 * logvar).exp())
        z = q.rsample()
        recon = ((z - target) ** 2).sum(-1)
        kl = kl_divergence(q, Normal(ember.zeros_like(mu), ember.ones_like(mu))).sum(-1)
        return recon + kl - q.log_prob(z).sum(-1) * 0.1

    report = gradcheck(loss, mu, logvar)
    assert report.ok and report.max_abs_error[0] < 1e-6


def test_gradcheck_catches_a_wrong_kl_gradient():
    """The check above can fail: a KL whose gradient is cut from sigma is caught."""
    mu = ember.tensor([0.3, -0.2], dtype=ember.float64, requires_grad=True)
    logvar = ember.tensor([0.1, 0.4], dtype=ember.float64, requires_grad=True)

    def wrong(mu, logvar):
        return kl_divergence(Normal(mu, (0.5 * logvar).exp().detach()), Normal(0.0, 1.0))

    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(wrong, mu, logvar)


# ----------------------------------------------------------------------------- validation and API


@pytest.mark.parametrize("make, match", [
    (lambda: Normal(0.0, 0.0), "scale"),
    (lambda: Normal(ember.zeros(3), ember.tensor([1.0, -1.0, 2.0])), "GreaterThan"),
    (lambda: Normal(float("nan"), 1.0), "loc"),
    (lambda: Bernoulli(probs=ember.tensor([0.5, 1.5])), "Interval"),
    (lambda: Bernoulli(probs=-0.1), "probs"),
    (lambda: Bernoulli(), "Either `probs` or `logits`"),
    (lambda: Bernoulli(probs=0.5, logits=0.0), "not both"),
    (lambda: Categorical(probs=ember.tensor([0.5, -0.1, 0.6])), "Simplex"),
    (lambda: Categorical(probs=ember.tensor(1.0)), "at least one-dimensional"),
    (lambda: Categorical(logits=ember.tensor([0.0, float("nan")])), "logits"),
    (lambda: Uniform(1.0, 1.0), "low < high"),
    (lambda: Normal(ember.zeros(2), ember.ones(3)), "broadcast"),
    (lambda: Normal("0", 1.0), "Tensor or Number"),
])
def test_invalid_parameters_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_invalid_values_and_validate_args():
    with pytest.raises(ValueError, match="support"):
        Bernoulli(0.5).log_prob(ember.tensor(0.5))
    with pytest.raises(ValueError, match="support"):
        Categorical(logits=ember.zeros(3)).log_prob(ember.tensor(3))
    with pytest.raises(ValueError, match="support"):
        Uniform(0.0, 1.0).log_prob(ember.tensor(1.5))
    with pytest.raises(ValueError, match="broadcastable"):
        Normal(ember.zeros(3), 1.0).log_prob(ember.zeros(2))
    with pytest.raises(ValueError, match="must be a Tensor"):
        Normal(0.0, 1.0).log_prob(0.5)
    with np.errstate(invalid="ignore"):  # log of a negative scale
        assert np.isnan(Normal(0.0, -1.0, validate_args=False).log_prob(ember.tensor(0.0)).item())
    Distribution.set_default_validate_args(False)
    try:
        Normal(0.0, -1.0)
        assert Uniform(0.0, 1.0).log_prob(ember.tensor(2.0)).item() == float("-inf")
    finally:
        Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        Normal(0.0, -1.0)


def test_repr_shows_the_given_parameters():
    assert repr(Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0)"
    b = Bernoulli(logits=ember.zeros(3))
    _ = b.probs  # derived lazily; still not shown
    assert repr(b) == "Bernoulli(logits: ember.Size([3]))"
    assert repr(Categorical(probs=ember.ones(2, 4))) == "Categorical(probs: ember.Size([2, 4]))"


def test_register_kl_and_unknown_pairs():
    class Wide(Normal):
        pass

    with pytest.raises(NotImplementedError, match="Normal, q = Uniform"):
        kl_divergence(Normal(0.0, 1.0), Uniform(0.0, 1.0))
    assert kl_divergence(Wide(0.0, 1.0), Normal(0.0, 1.0)).item() == 0.0  # a subclass uses its base's formula

    @register_kl(Wide, Normal)
    def _kl_wide(p, q):
        return ember.tensor(42.0)

    assert kl_divergence(Wide(0.0, 1.0), Normal(0.0, 1.0)).item() == 42.0  # the more specific pair wins
    assert kl_divergence(Normal(0.0, 1.0), Normal(0.0, 1.0)).item() == 0.0


def test_ember_distributions_is_reachable_as_an_attribute_without_an_import():
    code = "import ember; d = ember.distributions.Normal(0.0, 2.0); print(d.stddev.item())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "2.0"
