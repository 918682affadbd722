"""The everyday tensor API beyond the differentiable cases of cases.py: results without a gradient
(argsort, nonzero, unique, logical ops, ...), integer inputs, in-place methods and their graph rules,
and the errors for bad input. Where PyTorch has the op, the result is compared with it."""
from __future__ import annotations

import numpy as np
import pytest

import ember

V = [[3.0, 1.0, 2.0, 1.0], [0.0, 5.0, 5.0, -1.0]]


def _same(e, t):
    """Same values and (PyTorch-named) dtype."""
    assert str(e.dtype) == str(t.dtype).replace("torch.", ""), (e.dtype, t.dtype)
    assert e.shape == tuple(t.shape), (e.shape, tuple(t.shape))
    np.testing.assert_allclose(np.asarray(e.array, np.float64), t.numpy().astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("fn", [
    lambda lib, x: lib.argsort(x, dim=1),
    lambda lib, x: x.argsort(dim=0, descending=True),
    lambda lib, x: lib.sort(x, dim=1, descending=True, stable=True).indices,
    lambda lib, x: lib.sort(x, stable=True)[1],
    lambda lib, x: x.nonzero(),
    lambda lib, x: lib.argwhere(x),
    lambda lib, x: lib.count_nonzero(x),
    lambda lib, x: x.count_nonzero(dim=1),
    lambda lib, x: lib.median(x, dim=1).indices,
    lambda lib, x: lib.logical_and(x, x > 1),
    lambda lib, x: x.logical_or(lib.zeros(4)),
    lambda lib, x: lib.logical_xor(x, x < 3),
    lambda lib, x: lib.logical_not(x),
    lambda lib, x: lib.isclose(x, x + 1e-7),
    lambda lib, x: lib.isclose(x, x * 1.01, rtol=0.0, atol=0.02),
    lambda lib, x: lib.cumsum(x.long(), dim=1),
    lambda lib, x: lib.cumsum(x > 1, 0),
    lambda lib, x: lib.cumprod(x.int(), 1),
    lambda lib, x: lib.floor(x.long()),
    lambda lib, x: lib.reciprocal(x.long() + 2),
    lambda lib, x: lib.sin(x.long()),
    lambda lib, x: lib.atan2(x.long(), lib.ones(4, dtype=lib.int64)),
    lambda lib, x: lib.round(lib.tensor([0.5, 1.5, 2.5, -0.5, -2.5])),
    lambda lib, x: lib.repeat_interleave(lib.tensor([2, 0, 1])),
    lambda lib, x: lib.take(x.long(), lib.tensor([-1, 0])),
    lambda lib, x: lib.tril(x.long()),
    lambda lib, x: lib.scatter(x.long(), 1, lib.tensor([[1], [0]]), 9),
    lambda lib, x: lib.roll(x.long(), -1, 1),
    lambda lib, x: lib.diag(x.long(), 2),
], ids=lambda f: "")
def test_matches_pytorch_without_gradients(fn, torch):
    _same(fn(ember, ember.tensor(V)), fn(torch, torch.tensor(V)))


@pytest.mark.parametrize("kw", [{}, {"return_inverse": True}, {"return_counts": True},
                                {"return_inverse": True, "return_counts": True}, {"dim": 0}, {"dim": 1}])
def test_unique_matches_pytorch(kw, torch):
    data = [[3, 1, 3], [2, 1, 3], [3, 1, 3]]
    e, t = ember.unique(ember.tensor(data), **kw), torch.unique(torch.tensor(data), **kw)
    e, t = (e, t) if isinstance(t, tuple) else ((e,), (t,))
    assert len(e) == len(t)
    for a, b in zip(e, t):
        _same(a, b)


def test_nonzero_as_tuple_indexes_back(torch):
    x = ember.tensor(V)
    rows, cols = x.nonzero(as_tuple=True)
    assert (x[rows, cols] != 0).all()
    for a, b in zip(ember.nonzero(x, as_tuple=True), torch.nonzero(torch.tensor(V), as_tuple=True)):
        _same(a, b)


def test_sort_is_stable_for_ties_both_ways():
    x = ember.tensor([2.0, 1.0, 2.0, 1.0])
    assert x.sort().indices.tolist() == [1, 3, 0, 2]
    assert x.sort(descending=True).indices.tolist() == [0, 2, 1, 3]
    assert ember.tensor([3, 0, 2], dtype=ember.uint8).sort(descending=True).values.tolist() == [3, 2, 0]
    many = np.random.default_rng(0).integers(0, 3, 64)  # long enough that an unstable sort reorders ties
    assert ember.tensor(many).argsort(descending=True).tolist() == np.argsort(-many, kind="stable").tolist()


def test_sort_gradient_reaches_where_each_value_came_from():
    x = ember.tensor([3.0, 1.0, 2.0], requires_grad=True)
    v, _ = x.sort()
    (v * ember.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


def test_median_is_the_lower_of_the_middle_pair(torch):
    data = [4.0, 1.0, 3.0, 2.0]
    assert ember.median(ember.tensor(data)).item() == torch.median(torch.tensor(data)).item() == 2.0


def test_var_mean_and_aminmax_return_named_results():
    x = ember.tensor(V)
    v, m = ember.var_mean(x, dim=1, correction=0)
    assert np.allclose(v.array, np.var(V, axis=1)) and np.allclose(m.array, np.mean(V, axis=1))
    r = x.aminmax(dim=1)
    assert r.min.tolist() == [1.0, -1.0] and r.max.tolist() == [3.0, 5.0]


# --------------------------------------------------------------------------- in place


@pytest.mark.parametrize("name,args", [
    ("relu_", ()), ("exp_", ()), ("abs_", ()), ("sqrt_", ()), ("neg_", ()), ("sigmoid_", ()), ("tanh_", ()),
    ("clamp_min_", (0.5,)), ("clamp_max_", (0.5,)), ("pow_", (2,)), ("floor_", ()), ("round_", ()),
    ("ceil_", ()), ("trunc_", ()), ("frac_", ()), ("sin_", ()), ("cos_", ()), ("reciprocal_", ()), ("log_", ()),
    ("square_", ()), ("sign_", ()), ("erf_", ()), ("rsqrt_", ()),
])
def test_inplace_unary_matches_pytorch_and_returns_self(name, args, torch):
    data = [[0.3, 1.7], [2.5, 4.0]]
    e, t = ember.tensor(data), torch.tensor(data)
    assert getattr(e, name)(*args) is e
    getattr(t, name)(*args)
    _same(e, t)


def test_inplace_unary_follows_the_inplace_rules():
    w = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="exp_: a leaf tensor that requires grad"):
        w.exp_()
    with pytest.raises(RuntimeError, match="relu_: a tensor in the autograd graph"):
        (w * 2).relu_()
    with ember.no_grad():
        w.mul_(-1).relu_()
    assert w.tolist() == [0.0, 0.0]


def test_inplace_unary_refuses_a_result_it_cannot_store():
    with pytest.raises(RuntimeError, match="exp_: the result has dtype float32.*int64"):
        ember.tensor([1, 2]).exp_()


def test_scatter_inplace(torch):
    for lib in (ember, torch):
        x = lib.zeros(2, 3)
        x.scatter_(1, lib.tensor([[2], [0]]), lib.tensor([[5.0], [6.0]]))
        x.scatter_add_(1, lib.tensor([[2, 2], [1, 1]]), lib.ones(2, 2))
        if lib is ember:
            e = x
    _same(e, x)
    w = ember.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scatter_: a leaf tensor"):
        w.scatter_(1, ember.tensor([[0], [0]]), 1.0)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("call,match", [
    (lambda: ember.cumsum(ember.ones(2, 3), dim=2), r"dimension 2 is out of range for shape \(2, 3\)"),
    (lambda: ember.scatter(ember.ones(2, 3), 1, ember.tensor([[0.5]]), 1.0), "index must be an integer"),
    (lambda: ember.scatter(ember.ones(2, 3), 1, ember.tensor([[3]]), 1.0), "index out of range"),
    (lambda: ember.scatter(ember.ones(2, 3), 1, ember.tensor([0]), 1.0), "as many dimensions"),
    (lambda: ember.scatter(ember.ones(2, 3), 1, ember.tensor([[0]]), 1.0, reduce="max"), "valid options: None, 'add'"),
    (lambda: ember.scatter_add(ember.ones(2, 3), 1, ember.tensor([[0, 1]]), ember.ones(1, 1)), "no larger than src"),
    (lambda: ember.take(ember.ones(2, 3), ember.tensor([6])), "out of range for a tensor of 6 elements"),
    (lambda: ember.tril(ember.ones(3)), r"at least 2 dimensions, got shape \(3,\)"),
    (lambda: ember.diag(ember.ones(2, 2, 2)), "1-D or 2-D"),
    (lambda: ember.dot(ember.ones(3), ember.ones(4)), r"shapes \(3,\) and \(4,\)"),
    (lambda: ember.outer(ember.ones(3, 1), ember.ones(4)), r"shapes \(3, 1\) and \(4,\)"),
    (lambda: ember.roll(ember.ones(3), (1, 2), 0), "same length"),
    (lambda: ember.movedim(ember.ones(2, 3), (0, 0), (0, 1)), "repeated dimension"),
    (lambda: ember.repeat_interleave(ember.ones(3), ember.tensor([1, 2])), "length 1 or 3"),
    (lambda: ember.masked_select(ember.ones(3), ember.tensor([1, 0, 1])), "must be a bool tensor"),
    (lambda: ember.masked_select(ember.ones(3), ember.tensor([True, False])), r"\(3,\).*\(2,\)"),
    (lambda: ember.logical_and(ember.ones(3), ember.ones(2)), r"\(3,\) and \(2,\)"),
    (lambda: ember.einsum("ij,jk->ik", ember.ones(2, 3)), "names 2 operands, got 1"),
    (lambda: ember.einsum("ij,jk->ik", ember.ones(2, 3), ember.ones(4, 2)), "label 'j' has size 3"),
    (lambda: ember.einsum("ii->i", ember.ones(2, 2)), "repeated within 'ii'"),
    (lambda: ember.einsum("ij->ik", ember.ones(2, 2)), "output subscripts 'ik'"),
    (lambda: ember.einsum("ijk->i", ember.ones(2, 2)), r"shape \(2, 2\) \(2 dimensions\)"),
    (lambda: ember.median(ember.ones(0)), "empty"),
    (lambda: ember.frac(ember.tensor([1, 2])), "floating point"),
    (lambda: ember.lerp(ember.ones(2), ember.ones(2), ember.tensor([1, 2])), "weight must be"),
])
def test_bad_input_names_the_problem(call, match):
    with pytest.raises((RuntimeError, IndexError, ValueError, TypeError), match=match):
        call()


def test_einsum_keeps_float32_and_promotes_mixed_dtypes():
    a, b = ember.ones(2, 3), ember.ones(3, dtype=ember.float64)
    assert ember.einsum("ij,j->i", a, a[0]).dtype == np.float32
    assert ember.einsum("ij,j->i", a, b).dtype == np.float64


def test_torch_level_functions_take_out_like_pytorch():
    # the Tensors tutorial: torch.matmul(tensor, tensor.T, out=y3), torch.mul(tensor, tensor, out=z3)
    tensor = ember.ones(4, 4)
    y3 = ember.rand(4, 4)
    keep = y3.array
    assert ember.matmul(tensor, tensor.T, out=y3) is y3 and y3.array is keep  # written in place
    np.testing.assert_array_equal(y3.numpy(), np.full((4, 4), 4.0))
    z3 = ember.rand_like(tensor)
    ember.mul(tensor, tensor * 2, out=z3)
    np.testing.assert_array_equal(z3.numpy(), np.full((4, 4), 2.0))
    grown = ember.empty(0)
    assert ember.cat([tensor, tensor], dim=0, out=grown).shape == (8, 4)  # resized, silently when empty
    with pytest.warns(UserWarning, match="resized"):
        ember.add(tensor, 1, out=ember.zeros(3))
    doubles = ember.zeros(4, 4, dtype=ember.float64)
    ember.add(tensor, tensor, out=doubles)
    assert doubles.dtype == ember.float64 and float(doubles.sum()) == 32.0
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type int64"):
        ember.mul(tensor, tensor, out=ember.zeros(4, 4, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="out=... arguments don't support automatic differentiation"):
        ember.mul(ember.ones(2, requires_grad=True), 2.0, out=ember.zeros(2))
    assert (tensor * tensor).shape == (4, 4) and ember.mul(tensor, 3).shape == (4, 4)  # without out= unchanged
