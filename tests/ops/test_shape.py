"""Shape and indexing ops: float64 gradchecks, scatter-add backward, clear errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from tests.ops.cases import SHAPE
from tests.ops.harness import check_gradients


@pytest.mark.parametrize("noncontig", [False, True], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("case", SHAPE, ids=[c.id for c in SHAPE])
def test_gradcheck(case, noncontig):
    check_gradients(case, noncontig)


def test_repeated_indices_add_their_gradients():
    x = ember.zeros(4, requires_grad=True)
    x[ember.tensor([0, 0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.array, [3, 0, 1, 0])
    y = ember.zeros(3, 2, requires_grad=True)
    rows, labels = ember.tensor([0, 0, 2, 0]), ember.tensor([1, 1, 0, 0])
    (y[rows, labels] * ember.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(y.grad.array, [[4, 3], [0, 0], [3, 0]])


def test_boolean_mask_selects_and_routes_the_gradient_back():
    x = ember.tensor([[1.0, -2.0], [-3.0, 4.0]], requires_grad=True)
    picked = x[x > 0]
    np.testing.assert_array_equal(picked.array, [1.0, 4.0])
    (picked * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [[2, 0], [0, 2]])


def test_split_and_chunk_sizes_follow_pytorch():
    x = ember.randn(7, 2)
    assert [p.shape[0] for p in ember.split(x, 3)] == [3, 3, 1]
    assert [p.shape[0] for p in x.split([2, 5])] == [2, 5]
    assert [p.shape[0] for p in ember.chunk(x, 3)] == [3, 3, 1]
    assert [p.shape[1] for p in x.chunk(2, dim=1)] == [1, 1]


def test_views_keep_values():
    x = ember.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(x.permute(2, 0, 1).array, np.transpose(x.array, (2, 0, 1)))
    np.testing.assert_array_equal(x.transpose(0, 2).array, np.swapaxes(x.array, 0, 2))
    assert x.flatten(0, 1).shape == (6, 4) and x.unsqueeze(1).shape == (2, 1, 3, 4)
    assert ember.randn(1, 3, 1).squeeze(0).shape == (3, 1)
    assert ember.randn(1, 3, 1).squeeze((0, 2)).shape == (3,)
    assert ember.randn(2, 3).squeeze(0).shape == (2, 3)  # a dim that is not 1 stays, as in PyTorch


@pytest.mark.parametrize("call,message", [
    (lambda: ember.randn(2, 3).reshape(4, 2), r"shape \(4, 2\) is invalid for input of shape \(2, 3\)"),
    (lambda: ember.cat([ember.randn(2, 3), ember.randn(2, 4)]), r"shapes \(2, 3\) and \(2, 4\) differ"),
    (lambda: ember.stack([ember.randn(2, 3), ember.randn(3, 2)]), r"equal shape.*\(2, 3\).*\(3, 2\)"),
    (lambda: ember.randn(2, 3).permute(0, 0), r"not a permutation of the 2 dimensions of shape \(2, 3\)"),
    (lambda: ember.randn(2, 3).expand(4, 3), r"cannot expand shape \(2, 3\) to \(4, 3\)"),
    (lambda: ember.randn(2, 3)[5], r"index 5 is invalid for a tensor of shape \(2, 3\)"),
    (lambda: ember.randn(5).split([2, 2]), r"split sizes \[2, 2\] do not add up to 5"),
    (lambda: F.pad(ember.randn(2, 3), (1,)), r"even length"),
    (lambda: F.pad(ember.randn(2, 3), (1, 1), mode="bogus"), r"valid modes: .*'constant'"),
    (lambda: ember.cat([]), r"non-empty"),
    (lambda: ember.cat([ember.randn(2, 3)] * 2, dim=2), r"dimension 2 is out of range"),
    (lambda: ember.stack([ember.randn(2)] * 2, dim=3), r"dimension 3 is out of range for shape \(2,\)"),
    (lambda: ember.randn(2, 3).transpose(0, 4), r"dimension 4 is out of range.*\[-2, 1\]"),
    (lambda: ember.randn(2).unsqueeze(3), r"dimension 3 is out of range for shape \(2,\).*\[-2, 1\]"),
    (lambda: ember.randn(2, 1).squeeze(2), r"dimension 2 is out of range"),
    (lambda: ember.randn(2, 3).flatten(2), r"dimension 2 is out of range"),
    (lambda: ember.randn(2, 3).flatten(1, 0), r"start_dim 1 comes after end_dim 0"),
    (lambda: ember.randn(2, 3).split(2, dim=2), r"dimension 2 is out of range"),
    (lambda: ember.randn(2, 3).split(0), r"positive"),
    (lambda: ember.randn(2, 3).chunk(0), r"positive"),
    (lambda: ember.softmax(ember.randn(2, 3), dim=2), r"dimension 2 is out of range"),
    (lambda: ember.gather(ember.randn(2, 3), 1, ember.tensor([0, 1])), r"index of shape \(2,\).*\(2, 3\)"),
])
def test_shape_errors_are_sentences(call, message):
    with pytest.raises((RuntimeError, ValueError, IndexError), match=message):
        call()


def test_assignment_into_a_leaf_that_requires_grad_is_refused():
    x = ember.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad cannot be assigned into in place"):
        x[0] = 1.0
    with ember.no_grad():
        x[0] = 1.0
    assert x.array[0] == 1.0


# --------------------------------------------------------------------------- index_select, masked_fill, ...


@pytest.mark.parametrize("call,message", [
    (lambda: ember.randn(3, 4).index_select(1, ember.tensor([[0, 1]])), r"1-D integer tensor, got shape \(1, 2\)"),
    (lambda: ember.randn(3, 4).index_select(1, ember.tensor([0.0])), r"integer tensor.*float32"),
    (lambda: ember.randn(3, 4).index_select(2, ember.tensor([0])), r"dimension 2 is out of range for shape \(3, 4\)"),
    (lambda: ember.randn(3, 4).masked_fill(ember.tensor([1, 0, 1, 0]), 0.0), r"bool tensor, got dtype int64"),
    (lambda: ember.randn(3, 4).masked_fill(ember.ones(2, 3, 4, dtype=ember.bool), 0.0),
     r"mask of shape \(2, 3, 4\) does not broadcast to the tensor's shape \(3, 4\)"),
    (lambda: ember.randn(3, 4).masked_fill(ember.ones(3, dtype=ember.bool), 0.0), r"mask of shape \(3,\)"),
    (lambda: ember.randn(3, 4).masked_fill(ember.ones(4, dtype=ember.bool), ember.zeros(2)), r"0-d tensor"),
    (lambda: ember.randn(3, 4).narrow(1, 3, 2), r"start 3 and length 2 are out of range for dimension 1 of size 4"),
])
def test_index_select_masked_fill_narrow_errors_name_the_problem(call, message):
    with pytest.raises((RuntimeError, IndexError), match=message):
        call()


def test_masked_fill_keeps_dtype_and_takes_a_0d_tensor_value():
    mask = ember.tensor([True, False, True])
    assert ember.arange(3).masked_fill(mask, 7).tolist() == [7, 1, 7]
    y = ember.zeros(3, dtype=ember.float64).masked_fill(mask, ember.tensor(float("-inf")))
    assert y.dtype == np.float64 and y.tolist() == [float("-inf"), 0.0, float("-inf")]


def test_masked_fill_in_place():
    x = ember.zeros(2, 3)
    assert x.masked_fill_(ember.tensor([True, False, True]), 2.0) is x
    np.testing.assert_array_equal(x.array, [[2, 0, 2], [2, 0, 2]])
    w = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="masked_fill_: a leaf tensor that requires grad"):
        w.masked_fill_(ember.tensor([True, False, True]), 1.0)


def test_where_with_the_condition_alone_gives_the_indices_like_nonzero():
    rows, cols = ember.where(ember.tensor([[0, 1], [1, 1]]) > 0)
    assert rows.tolist() == [0, 1, 1] and cols.tolist() == [1, 0, 1] and rows.dtype == np.int64


def test_swapaxes_and_unbind_of_a_module_level_call():
    x = ember.randn(2, 3, 4)
    assert x.swapaxes(0, 2).shape == (4, 3, 2) and x.swapdims(-1, 0).shape == (4, 3, 2)
    assert [t.shape for t in ember.unbind(x, -1)] == [(2, 3)] * 4
