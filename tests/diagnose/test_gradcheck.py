"""gradcheck itself: it must pass correct gradients and catch a wrong backward, naming the input and the index."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import Function
from ember.diagnose import GradcheckError, gradcheck


class WrongMul(Function):
    """z = a·b with a backward that is wrong for b at one element (index (1, 2)) only."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        gb = g * self.a
        gb = gb.copy()
        gb[1, 2] += 0.5
        return g * self.b, gb


class ForgetsAFactor(Function):
    """z = a², backward claims dz/da = a (the 2 is missing)."""

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, g):
        return (g * self.a,)


def leaf(*shape, seed=0):
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=ember.float64, requires_grad=True)


def test_catches_a_wrong_backward_and_names_the_input_and_index():
    a, b = leaf(3, 4, seed=1), leaf(3, 4, seed=2)
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(3, 4\)\) at index \(1, 2\).*1 of 12 elements differ"):
        gradcheck(lambda x, y: WrongMul.apply(x, y), a, b)


def test_catches_a_gradient_off_by_a_factor():
    with pytest.raises(GradcheckError, match=r"input 0 .* 6 of 6 elements differ"):
        gradcheck(lambda x: ForgetsAFactor.apply(x), leaf(2, 3))


def test_without_raising_the_report_says_what_failed():
    report = gradcheck(lambda x, y: WrongMul.apply(x, y), leaf(3, 4), leaf(3, 4, seed=3), raise_exception=False)
    assert not report.ok
    assert "index (1, 2)" in report.failures[0] and "FAILED" in str(report)
    assert report.max_abs_error[0] < 1e-6 < report.max_abs_error[1]


def test_passes_correct_gradients_and_reports_small_errors():
    a, b = leaf(3, 4), leaf(4, seed=5)
    report = gradcheck(lambda x, y: (x * y).sum(dim=0) / (1 + y * y), a, b)
    assert report.ok and set(report.max_abs_error) == {0, 1}
    assert max(report.max_abs_error.values()) < 1e-7
    assert str(report).startswith("gradcheck passed")


def test_checks_every_output_of_a_tuple_and_skips_non_tensor_arguments():
    x = leaf(6)
    gradcheck(lambda t, k: ember.split(t * t, k), x, 4)
    assert x.grad is not None


def test_perturbs_a_transposed_view_in_place():
    base = np.random.default_rng(0).standard_normal((4, 3))
    x = ember.from_numpy(base.T).requires_grad_()  # (3, 4), not contiguous
    assert not x.array.flags.c_contiguous
    gradcheck(lambda t: (t @ t.T).exp().sum(dim=1), x)
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(3, 4\)\) at index \(1, 2\)"):
        gradcheck(lambda p, q: WrongMul.apply(p, q), leaf(3, 4), x)
    np.testing.assert_array_equal(x.array, base.T)  # every perturbation undone


def test_refuses_what_it_cannot_check():
    with pytest.raises(ValueError, match="float64"):
        gradcheck(lambda t: t * 2, ember.randn(3, requires_grad=True))
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * 2, ember.randn(3, dtype=ember.float64))
    expanded = ember.from_numpy(np.broadcast_to(np.ones(3), (2, 3))).requires_grad_()
    with pytest.raises(ValueError, match="read-only"):
        gradcheck(lambda t: t * 2, expanded)
    with pytest.raises(GradcheckError, match="does not depend"):
        gradcheck(lambda t: ember.ones(2, dtype=ember.float64), leaf(2))


def test_a_nan_gradient_is_a_failure():
    class NaNGrad(Function):
        def forward(self, a):
            return a * 1.0

        def backward(self, g):
            return (g * np.nan,)

    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(lambda t: NaNGrad.apply(t), leaf(3))
