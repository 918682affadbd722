"""Gradient clipping (NOTES §4): clip_grad_norm_ / clip_grad_value_, against hand computations and PyTorch."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
from ember.nn import Parameter
from ember.nn.utils import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm


def _params(grads, dtype=np.float32):
    params = []
    for g in grads:
        p = Parameter(np.zeros(np.shape(g), dtype))
        p.grad = ember.tensor(np.array(g, dtype))
        params.append(p)
    return params


def test_clip_grad_norm_rescales_all_gradients_together():
    params = _params([[3.0, 0.0], [[0.0, 4.0]]])  # joint 2-norm 5
    total = clip_grad_norm_(params, max_norm=1.0)
    assert isinstance(total, ember.Tensor) and total.shape == () and total.dtype == np.float32
    assert total.item() == pytest.approx(5.0)
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.array, [3 * coef, 0.0], rtol=1e-6)
    np.testing.assert_allclose(params[1].grad.array, [[0.0, 4 * coef]], rtol=1e-6)
    assert get_total_norm([p.grad for p in params]).item() == pytest.approx(1.0, rel=1e-5)


def test_small_gradients_are_left_alone():
    params = _params([[0.3, -0.4]])
    before = params[0].grad.array.copy()
    assert clip_grad_norm_(params, max_norm=1.0).item() == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad.array, before)


@pytest.mark.parametrize("norm_type,expected", [(1.0, 7.0), (2.0, 5.0), (3.0, (27 + 64) ** (1 / 3)),
                                                (float("inf"), 4.0), ("inf", 4.0)])
def test_norm_types(norm_type, expected):
    params = _params([[3.0], [-4.0]])
    assert clip_grad_norm_(params, 100.0, norm_type=norm_type).item() == pytest.approx(expected, rel=1e-6)


def test_parameters_without_gradients_a_single_tensor_and_generators():
    a, b = _params([[6.0, 8.0]])[0], Parameter(np.ones(2, np.float32))
    assert clip_grad_norm_((p for p in [a, b]), 5.0).item() == pytest.approx(10.0)
    assert b.grad is None
    np.testing.assert_allclose(a.grad.array, [3.0, 4.0], rtol=1e-6)
    c = _params([[0.0, 2.0]])[0]
    assert clip_grad_norm_(c, 1.0).item() == pytest.approx(2.0)
    assert clip_grad_norm_([b], 1.0).item() == 0.0


def test_non_finite_norm():
    params = _params([[1.0, np.inf]])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(params[0].grad.array, [1.0, np.inf])  # untouched by the failed call
    assert clip_grad_norm_(params, 1.0).item() == np.inf  # without the check: scaled by 0, inf·0 = nan (PyTorch too)
    np.testing.assert_array_equal(params[0].grad.array, [0.0, np.nan])
    params = _params([[1.0, np.nan]])
    assert math.isnan(clip_grad_norm_(params, 1.0).item())


def test_clip_grad_value_clamps_in_place():
    params = _params([[-3.0, 0.5, 2.0], [[10.0]]])
    arr = params[0].grad.array
    assert clip_grad_value_(params, 1.0) is None
    assert params[0].grad.array is arr
    np.testing.assert_array_equal(arr, [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(params[1].grad.array, [[1.0]])


def test_float64_gradients_keep_their_dtype():
    params = _params([[3.0, 4.0]], dtype=np.float64)
    total = clip_grad_norm_(params, 1.0)
    assert total.dtype == np.float64 and params[0].grad.array.dtype == np.float64


def test_clip_grads_with_norm_uses_the_given_norm():
    params = _params([[1.0, 1.0]])
    clip_grads_with_norm_(params, 1.0, ember.tensor(10.0))
    np.testing.assert_allclose(params[0].grad.array, [0.1, 0.1], rtol=1e-5)


def test_clipping_tames_an_exploding_step():
    """With clipping, one huge gradient moves the weights by at most lr·max_norm."""
    w = Parameter(np.zeros(3, np.float32))
    opt = ember.optim.SGD([w], lr=0.1)
    w.grad = ember.tensor(np.array([1e6, -1e6, 1e6], np.float32))
    clip_grad_norm_([w], max_norm=1.0)
    opt.step()
    assert np.linalg.norm(w.array) <= 0.1 + 1e-6


@pytest.mark.parametrize("call,error,match", [
    (lambda p: clip_grad_norm_(p, -1.0), ValueError, "max_norm"),
    (lambda p: clip_grad_norm_(p, 1.0, norm_type=0), ValueError, "norm_type"),
    (lambda p: clip_grad_norm_(p, 1.0, norm_type="two"), ValueError, "norm_type"),
    (lambda p: clip_grad_norm_([np.ones(2)], 1.0), TypeError, "ember Tensors"),
    (lambda p: clip_grad_value_(p, -0.5), ValueError, "clip_value"),
])
def test_wrong_use(call, error, match):
    with pytest.raises(error, match=match):
        call(_params([[1.0, 2.0]]))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_parity_with_pytorch(torch, norm_type, max_norm):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=s).astype(np.float32) * 3 for s in [(5, 7), (7,), (3, 2, 2)]]
    ours = _params(grads)
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g.copy())
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-6)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.array, t.grad.numpy(), rtol=1e-6, atol=1e-7)

    ours = _params(grads)
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g.copy())
    clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.grad.array, t.grad.numpy())
