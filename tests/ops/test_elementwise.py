"""Elementwise arithmetic, matmul, comparisons: float64 gradchecks and the behaviour around them."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import ember
from ember.diagnose import gradcheck
from tests.helpers import assert_close
from tests.ops.cases import ELEMENTWISE
from tests.ops.harness import check_gradients


@pytest.mark.parametrize("noncontig", [False, True], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("case", ELEMENTWISE, ids=[c.id for c in ELEMENTWISE])
def test_gradcheck(case, noncontig):
    check_gradients(case, noncontig)


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5),
    "maximum": ember.maximum,
    "minimum": ember.minimum,
    "pow": lambda a, b: (a * a + 0.5) ** b,
}


@settings(max_examples=30, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2**16))
def test_broadcast_gradients_are_summed_to_each_input_shape(shapes, op, seed):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a = ember.tensor(rng.standard_normal(sa), dtype=ember.float64, requires_grad=True)
    b = ember.tensor(rng.standard_normal(sb), dtype=ember.float64, requires_grad=True)
    out = BINARY[op](a, b)
    assert out.shape == shapes.result_shape
    gradcheck(BINARY[op], a, b)
    assert a.grad.shape == sa and b.grad.shape == sb


def test_python_scalars_keep_float32():
    x = ember.randn(3, requires_grad=True)
    for y in (x + 1, 2.5 * x, x / 3, 1 - x, x ** 2, 2.0 ** x, ember.maximum(x, 0.5), x.clamp(-1, 1)):
        assert y.dtype == np.float32
    y = (x * np.float64(2.0) + np.ones(3)).sum()  # NumPy float64 operands take the tensor's dtype
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_integer_tensors_stay_integer_without_grad():
    i = ember.arange(4)
    assert (i + 1).dtype == np.int64 and (i * i).dtype == np.int64
    assert not (i + 1).requires_grad


@pytest.mark.parametrize("op,ref", [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                                     ("gt", np.greater), ("ge", np.greater_equal)])
def test_comparisons_give_bool_tensors_without_grad(op, ref):
    a = ember.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]], requires_grad=True)
    b = ember.tensor([2.0, 2.0, 2.0], requires_grad=True)
    for other, other_np in ((b, b.array), (2.0, 2.0)):
        out = getattr(ember, op)(a, other)
        assert out.dtype == np.bool_
        assert not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.array, ref(a.array, other_np))
    op_sym = {"eq": "__eq__", "ne": "__ne__", "lt": "__lt__", "le": "__le__", "gt": "__gt__", "ge": "__ge__"}[op]
    np.testing.assert_array_equal(getattr(a, op_sym)(b).array, ref(a.array, b.array))


def test_maximum_minimum_split_the_gradient_on_ties(torch):
    a_np = np.array([1.0, 2.0, 3.0], np.float32)
    b_np = np.array([1.0, 5.0, 0.0], np.float32)
    for name in ("maximum", "minimum"):
        a, b = ember.tensor(a_np, requires_grad=True), ember.tensor(b_np, requires_grad=True)
        getattr(ember, name)(a, b).sum().backward()
        ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
        getattr(torch, name)(ta, tb).sum().backward()
        assert a.grad.array[0] == b.grad.array[0] == 0.5  # tie: half each
        assert_close(a.grad, ta.grad, what=f"{name} tie gradient of a")
        assert_close(b.grad, tb.grad, what=f"{name} tie gradient of b")


def test_clamp_passes_the_gradient_at_the_boundary_and_abs_has_zero_slope_at_zero(torch):
    v = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0], np.float32)
    x, t = ember.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    (ember.clamp(x, -1.0, 1.0) + ember.abs(x)).sum().backward()
    (torch.clamp(t, -1.0, 1.0) + torch.abs(t)).sum().backward()
    assert_close(x.grad, t.grad, what="clamp + abs gradient")
    np.testing.assert_array_equal(x.grad.array, [-1, 0, 1, 2, 2, 1])


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="min or max"):
        ember.clamp(ember.randn(3))


def test_pow_edge_cases_match_pytorch(torch):
    # d/da a^0 = 0 (not 0·0^−1 = nan); d/db a^b = 0 at a = 0, b ≥ 0
    a_np = np.array([0.0, 0.0, 1.5, 2.0], np.float32)
    b_np = np.array([0.0, 2.0, 0.0, 3.0], np.float32)
    a, b = ember.tensor(a_np, requires_grad=True), ember.tensor(b_np, requires_grad=True)
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    (a ** b).sum().backward()
    (ta ** tb).sum().backward()
    assert_close(a.grad, ta.grad, what="d/da a^b")
    assert_close(b.grad, tb.grad, what="d/db a^b")
    x = ember.tensor([0.0, 1.0], requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [0.0, 0.0])


def test_where_condition_takes_no_gradient_and_accepts_scalars():
    x = ember.randn(2, 3, requires_grad=True)
    cond = x > 0
    y = ember.where(cond, x, -x)  # |x|
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.array, np.where(cond.array, 1.0, -1.0))
    np.testing.assert_array_equal(ember.where(ember.tensor([True, False]), 1.0, 2.0).array, [1.0, 2.0])


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"\(2, 3\) and \(4, 5\)"):
        ember.randn(2, 3) @ ember.randn(4, 5)
    with pytest.raises(RuntimeError, match=r"\(3,\) and \(4,\)"):
        ember.matmul(ember.randn(3), ember.randn(4))
    with pytest.raises(RuntimeError, match=r"\(2, 3, 4\) and \(5, 4, 6\).*batch"):
        ember.matmul(ember.randn(2, 3, 4), ember.randn(5, 4, 6))
    with pytest.raises(RuntimeError, match=r"at least 1 dimension.*\(\) and \(3,\)"):
        ember.matmul(ember.tensor(2.0), ember.randn(3))


def test_broadcast_mismatch_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"add: shapes \(3,\) and \(4,\) cannot be broadcast"):
        ember.randn(3) + ember.randn(4)
    with pytest.raises(RuntimeError, match=r"mul: shapes \(2, 3\) and \(2,\)"):
        ember.randn(2, 3) * ember.randn(2)


def test_matmul_batched_gradient_shapes():
    a = ember.randn(4, 1, 2, 3, requires_grad=True)
    b = ember.randn(5, 3, 2, requires_grad=True)
    (a @ b).sum().backward()
    assert a.grad.shape == (4, 1, 2, 3) and b.grad.shape == (5, 3, 2)
    v = ember.randn(3, requires_grad=True)
    (v @ v).backward()
    assert_close(v.grad, 2 * v.array, what="d(v·v)/dv")


# --------------------------------------------------------------------------- type promotion (PyTorch's rules)


@pytest.mark.parametrize("make,dtype", [
    (lambda: ember.randn(3) + ember.arange(3), np.float32),  # NumPy would give float64
    (lambda: ember.arange(3) * 0.5, np.float32),
    (lambda: 0.5 * ember.arange(3), np.float32),
    (lambda: ember.arange(3) / 2, np.float32),  # true division of integers
    (lambda: ember.arange(3) / ember.arange(1, 4), np.float32),
    (lambda: ember.arange(3) ** 0.5, np.float32),
    (lambda: ember.randn(3) * ember.tensor(2.0, dtype=ember.float64), np.float32),  # a 0-d tensor does not widen
    (lambda: ember.arange(3) + ember.tensor(2.0, dtype=ember.float64), np.float64),  # ... unless of a higher kind
    (lambda: ember.randn(3) * ember.randn(3, dtype=ember.float64), np.float64),
    (lambda: ember.arange(3, dtype=ember.int32) + ember.tensor(1), np.int32),
    (lambda: ember.tensor([True, False]) + ember.tensor(2), np.int64),
    (lambda: ember.sqrt(ember.tensor([4, 9])), np.float32),
    (lambda: ember.exp(ember.arange(2)), np.float32),
    (lambda: ember.where(ember.tensor([True, False]), 1.0, 0.0), np.float32),
    (lambda: ember.where(ember.tensor([True, False]), 1, 0), np.int64),
    (lambda: ember.where(ember.tensor([True, False]), ember.randn(2), ember.tensor(0.0, dtype=ember.float64)),
     np.float32),
    (lambda: ember.tensor(np.array([255], np.uint8)) / 255, np.float32),
])
def test_mixed_dtypes_promote_like_pytorch(make, dtype):
    assert make().dtype == dtype


def test_promotion_keeps_the_gradient_and_its_dtype():
    x = ember.randn(3, requires_grad=True)
    (x * ember.arange(3) + x.double()).sum().backward()  # float32·int64 → float32, then + float64
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.array, np.arange(3) + 1.0)


# --------------------------------------------------------------------------- augmented assignment


def test_augmented_assignment_updates_in_place_under_no_grad():
    lin = ember.nn.Linear(3, 2)
    before = lin.weight.array.copy()
    lin(ember.randn(4, 3)).sum().backward()
    with ember.no_grad():
        for p in lin.parameters():
            p -= 0.1 * p.grad  # the classic manual SGD step: must change the module's own parameter
    np.testing.assert_allclose(lin.weight.array, before - 0.1 * lin.weight.grad.array)
    assert lin.weight.requires_grad and lin.weight.is_leaf
    x = ember.zeros(3)
    view = x[1:]
    x += 1
    x *= 3
    x /= 2
    assert x.tolist() == [1.5, 1.5, 1.5] and view.tolist() == [1.5, 1.5]  # views see the update, as in PyTorch


def test_augmented_assignment_in_the_graph_is_recorded_out_of_place():
    a = ember.ones(2, requires_grad=True)
    h = a * 2
    h += a  # a residual: h = h + a, recorded
    total = ember.zeros(())
    total += h.sum()  # accumulating a loss into a tensor that does not require grad
    total.backward()
    np.testing.assert_array_equal(a.grad.array, [3.0, 3.0])


def test_augmented_assignment_errors_name_the_problem():
    w = ember.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\+=: a leaf tensor that requires grad cannot be modified in place"):
        w += 1
    with pytest.raises(RuntimeError, match=r"shape \(3,\) in place with an operand of shape \(2, 3\)"):
        x = ember.zeros(3)
        x += ember.ones(2, 3)
    with pytest.raises(RuntimeError, match="cannot be stored in place in a tensor of dtype int64"):
        i = ember.arange(3)
        i += 0.5
