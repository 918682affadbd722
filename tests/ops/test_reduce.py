"""Reductions: float64 gradchecks, tie rules, argmax/argmin, variance flags, stability."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.diagnose import gradcheck
from tests.helpers import assert_close
from tests.ops.cases import REDUCE
from tests.ops.harness import check_gradients


@pytest.mark.parametrize("noncontig", [False, True], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("case", REDUCE, ids=[c.id for c in REDUCE])
def test_gradcheck(case, noncontig):
    check_gradients(case, noncontig)


@st.composite
def shape_and_dims(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    dims = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=len(shape),
                         unique_by=lambda d: d % len(shape)))
    return shape, tuple(dims), draw(st.booleans())


@settings(max_examples=30, deadline=None)
@given(sdk=shape_and_dims(), op=st.sampled_from(["sum", "mean", "amax", "var_biased", "logsumexp"]),
       seed=st.integers(0, 2**16))
def test_reductions_over_any_dims(sdk, op, seed):
    shape, dims, keepdim = sdk
    x = ember.tensor(np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.3,
                     dtype=ember.float64, requires_grad=True)
    fn = {
        "sum": lambda t: t.sum(dim=dims, keepdim=keepdim),
        "mean": lambda t: t.mean(dim=dims, keepdim=keepdim),
        "amax": lambda t: ember.amax(t, dim=dims, keepdim=keepdim),
        "var_biased": lambda t: t.var(dim=dims, unbiased=False, keepdim=keepdim),
        "logsumexp": lambda t: ember.logsumexp(t, dim=dims, keepdim=keepdim),
    }[op]
    ref = {"sum": np.sum, "mean": np.mean, "amax": np.max, "var_biased": np.var,
           "logsumexp": lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims))}[op]
    np.testing.assert_allclose(fn(x).array, ref(x.array, axis=dims, keepdims=keepdim), rtol=1e-12, atol=1e-12)
    gradcheck(fn, x)


# --------------------------------------------------------------------------- ties (documented in ember/ops/reduce.py)

TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], np.float32)


def test_full_max_and_min_share_the_gradient_evenly_between_ties(torch):
    for name in ("max", "min"):
        x = ember.tensor(TIES, requires_grad=True)
        t = torch.tensor(TIES, requires_grad=True)
        getattr(x, name)().backward()
        getattr(t, name)().backward()
        assert_close(x.grad, t.grad, what=f"{name}() gradient with ties")
    x = ember.tensor(TIES, requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.array, [[0, 0.5, 0.5], [0, 0, 0]])


def test_max_over_a_dim_sends_the_gradient_to_the_first_maximum_it_returns(torch):
    for name in ("max", "min"):
        x = ember.tensor(TIES, requires_grad=True)
        t = torch.tensor(TIES, requires_grad=True)
        values, indices = getattr(x, name)(dim=1)
        tv, ti = getattr(t, name)(dim=1)
        np.testing.assert_array_equal(indices.array, ti.numpy())
        assert indices.dtype == np.int64
        values.sum().backward()
        tv.sum().backward()
        assert_close(x.grad, t.grad, what=f"{name}(dim) gradient with ties")
    x = ember.tensor(TIES, requires_grad=True)
    x.max(dim=1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.array, [[0, 1, 0], [1, 0, 0]])


def test_amax_shares_ties_evenly_like_pytorch(torch):
    x = ember.tensor(TIES, requires_grad=True)
    t = torch.tensor(TIES, requires_grad=True)
    ember.amax(x, dim=1).sum().backward()
    torch.amax(t, dim=1).sum().backward()
    assert_close(x.grad, t.grad, what="amax(dim) gradient with ties")


def test_argmax_argmin_are_int64_without_grad_and_pick_the_first(torch):
    x = ember.tensor(TIES, requires_grad=True)
    for name in ("argmax", "argmin"):
        for kw in ({}, {"dim": 0}, {"dim": 1}, {"dim": -1, "keepdim": True}):
            out = getattr(ember, name)(x, **kw)
            ref = getattr(torch, name)(torch.tensor(TIES), **kw)
            assert out.dtype == np.int64 and not out.requires_grad
            assert out.shape == tuple(ref.shape), (name, kw)
            np.testing.assert_array_equal(out.array, ref.numpy())


# --------------------------------------------------------------------------- var / std


@pytest.mark.parametrize("unbiased,ddof", [(True, 1), (False, 0)])
def test_var_std_unbiased_flag(unbiased, ddof):
    a = np.random.default_rng(0).standard_normal((4, 5))
    x = ember.tensor(a, dtype=ember.float64)
    np.testing.assert_allclose(x.var(unbiased=unbiased).item(), a.var(ddof=ddof))
    np.testing.assert_allclose(x.std(dim=1, unbiased=unbiased).array, a.std(axis=1, ddof=ddof))
    np.testing.assert_allclose(ember.var(x, dim=0, correction=2).array, a.var(axis=0, ddof=2))
    assert x.var().item() == pytest.approx(a.var(ddof=1))  # unbiased by default, as PyTorch


def test_mean_of_integers_asks_for_a_float_and_sum_of_integers_is_int64():
    with pytest.raises(RuntimeError, match="floating point"):
        ember.arange(4).mean()
    assert ember.arange(4).sum().dtype == np.int64
    assert ember.tensor([True, False, True]).sum().item() == 2


def test_dim_out_of_range_is_a_clear_error():
    with pytest.raises(IndexError, match="dimension 2 is out of range for a tensor with 2 dimensions"):
        ember.randn(2, 3).sum(dim=2)


# --------------------------------------------------------------------------- stability and zeros


def test_logsumexp_is_stable_for_large_logits():
    x = ember.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], requires_grad=True)
    out = ember.logsumexp(x, dim=1)
    np.testing.assert_allclose(out.array, [1e4, -1e4 + np.log(3)], rtol=1e-6)
    out.sum().backward()
    assert np.all(np.isfinite(x.grad.array))
    np.testing.assert_allclose(x.grad.array, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)


def test_prod_gradient_with_zeros_matches_pytorch(torch):
    a = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]], np.float32)
    for kw in ({"dim": 1}, {"dim": 0}, {}):
        x = ember.tensor(a, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        x.prod(**kw).sum().backward()
        t.prod(**kw).sum().backward()
        assert_close(x.grad, t.grad, what=f"prod{kw} gradient with zeros")


def test_sum_and_mean_honour_dtype_like_pytorch():
    x = ember.tensor([[1.5, 2.25], [3.0, 4.0]], requires_grad=True)
    s = x.sum(dtype=ember.float64)
    assert s.dtype == np.float64 and ember.sum(x, 1, dtype=ember.float64).dtype == np.float64
    s.backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert ember.arange(4).mean(dtype=ember.float32).item() == 1.5
    assert ember.tensor([1, 2], dtype=ember.int32).sum(dtype=ember.int32).dtype == np.int64  # integer sums stay int64
