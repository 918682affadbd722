"""cdist: float64 gradchecks for every kind of p, float32 parity with PyTorch (values and both gradients), the
zero-distance convention, both computation modes, chunking, and the errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.diagnose import gradcheck
from ember.ops import cdist as cdist_module
from tests.helpers import assert_close

PS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, np.inf]
SHAPES = [((4, 3), (5, 3)), ((2, 4, 3), (2, 6, 3)), ((2, 1, 3, 2), (4, 5, 2)), ((3, 2), (2, 1, 4, 2))]


def _pair(shape1, shape2, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape1).astype(dtype), rng.standard_normal(shape2).astype(dtype)


def _reference(a: np.ndarray, b: np.ndarray, p: float) -> np.ndarray:
    d = np.abs(a[..., :, None, :] - b[..., None, :, :])
    if p == 0:
        return (d != 0).sum(-1).astype(a.dtype)
    if p == np.inf:
        return d.max(-1)
    return (d ** p).sum(-1) ** (1 / p)


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_values_match_reference(p, shapes):
    a, b = _pair(*shapes, np.float64)
    out = ember.cdist(ember.tensor(a), ember.tensor(b), p=p)
    np.testing.assert_allclose(out.numpy(), _reference(a, b, p), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_gradcheck(p, shapes):
    a, b = _pair(*shapes, np.float64, seed=1)
    x1, x2 = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    gradcheck(lambda u, v: ember.cdist(u, v, p=p, compute_mode="donot_use_mm_for_euclid_dist"), x1, x2)


@pytest.mark.parametrize("shapes", SHAPES[:2], ids=str)
def test_gradcheck_matrix_product_mode(shapes):
    a, b = _pair(*shapes, np.float64, seed=2)
    x1, x2 = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    gradcheck(lambda u, v: ember.cdist(u, v, compute_mode="use_mm_for_euclid_dist"), x1, x2)


def _parity(torch, a, b, p, mode="use_mm_for_euclid_dist_if_necessary", rtol=1e-4, atol=1e-5, upstream_seed=3):
    e1, e2 = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    t1, t2 = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    oe, ot = ember.cdist(e1, e2, p=p, compute_mode=mode), torch.cdist(t1, t2, p=p, compute_mode=mode)
    assert oe.dtype == np.float32
    assert_close(oe, ot, rtol, atol, what=f"cdist p={p} values")
    v = np.random.default_rng(upstream_seed).standard_normal(tuple(ot.shape)).astype(np.float32)
    (oe * ember.tensor(v)).sum().backward()
    (ot * torch.tensor(v)).sum().backward()
    for name, ge, gt in (("x1", e1.grad, t1.grad), ("x2", e2.grad, t2.grad)):
        gt = np.zeros(ge.shape, np.float32) if gt is None else gt
        assert ge.dtype == np.float32
        assert_close(ge, gt, rtol, atol, what=f"cdist p={p} gradient of {name}")


@pytest.mark.parametrize("p", PS)
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_parity(torch, p, shapes):
    _parity(torch, *_pair(*shapes, np.float32, seed=4), p)


@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
def test_parity_large_sets_each_mode(torch, mode):
    """More than 25 rows: PyTorch's default switches to the matrix-product form; so does ember's."""
    a, b = _pair((2, 40, 5), (2, 30, 5), np.float32, seed=5)
    _parity(torch, a * 3, b * 3, 2.0, mode, rtol=1e-4, atol=2e-4)


@pytest.mark.parametrize("p", PS)
def test_zero_distance_has_zero_gradient(torch, p):
    """Coinciding points: PyTorch's subgradient 0 (not nan), in both modes."""
    a = np.array([[1.0, -2.0, 0.5], [0.0, 0.0, 0.0]], np.float32)
    b = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -1.0], [0.0, 0.0, 0.0]], np.float32)
    x1 = ember.tensor(a, requires_grad=True)
    x2 = ember.tensor(b, requires_grad=True)
    d = ember.cdist(x1, x2, p=p, compute_mode="donot_use_mm_for_euclid_dist")
    assert d.array[0, 0] == 0 and d.array[1, 2] == 0
    g = np.zeros((2, 3), np.float32)
    g[0, 0] = g[1, 2] = 1.0  # only the zero distances
    d.backward(ember.tensor(g))
    assert np.all(x1.grad.numpy() == 0) and np.all(x2.grad.numpy() == 0)
    _parity(torch, a, b, p, "donot_use_mm_for_euclid_dist")
    if p == 2:
        _parity(torch, a, b, p, "use_mm_for_euclid_dist")


def test_inf_norm_ties_each_get_the_full_gradient(torch):
    a = np.array([[1.0, -1.0, 0.5]], np.float32)
    x = ember.tensor(a, requires_grad=True)
    ember.cdist(x, ember.zeros(1, 3), p=float("inf")).sum().backward()
    assert x.grad.tolist() == [[1.0, -1.0, 0.0]]
    _parity(torch, a, np.zeros((1, 3), np.float32), np.inf)


@pytest.mark.parametrize("p", [0.5, 1.0, 1.5, 3.0])
def test_equal_coordinates(torch, p):
    """A coordinate where the points agree: for p < 1 its gradient is 0 (|0|^(p−1) is infinite), as PyTorch."""
    a = np.array([[1.0, 0.0, 0.5], [2.0, -1.0, 3.0]], np.float32)
    b = np.array([[0.0, 0.0, 0.0], [2.0, 1.0, 1.0]], np.float32)
    _parity(torch, a, b, p)


@pytest.mark.parametrize("shape1,shape2", [((0, 3), (5, 3)), ((4, 3), (0, 3)), ((3, 0), (5, 0)),
                                           ((2, 0, 3), (2, 4, 3))])
@pytest.mark.parametrize("p", [1.0, 2.0, np.inf])
def test_empty(torch, shape1, shape2, p):
    a, b = np.ones(shape1, np.float32), np.ones(shape2, np.float32)
    e = ember.cdist(ember.tensor(a), ember.tensor(b), p=p)
    t = torch.cdist(torch.tensor(a), torch.tensor(b), p=p)
    assert e.shape == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_exact_mode_is_exact_for_close_points():
    """donot_use_mm: differences first, so close points keep their precision (the product form loses it)."""
    a = (np.ones((30, 4)) * 1000).astype(np.float32)
    b = a + np.float32(1e-3)
    exact = ember.cdist(ember.tensor(a), ember.tensor(b), compute_mode="donot_use_mm_for_euclid_dist")
    truth = np.sqrt(((a.astype(np.float64) - b) ** 2).sum(-1))[:, None] * np.ones((1, 30))
    np.testing.assert_allclose(exact.numpy(), truth, rtol=1e-3)


def test_blocks_give_the_same_result(monkeypatch):
    """The difference block is built a few rows at a time; tiny blocks must not change values or gradients."""
    a, b = _pair((2, 9, 4), (2, 7, 4), np.float64, seed=6)
    for p in (1.0, 3.0, np.inf):
        results = []
        for chunk in (1 << 22, 5):
            monkeypatch.setattr(cdist_module, "_CHUNK", chunk)
            x1, x2 = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
            d = ember.cdist(x1, x2, p=p)
            d.backward(ember.tensor(np.arange(d.numel(), dtype=np.float64).reshape(d.shape)))
            results.append((d.detach().numpy(), x1.grad.numpy(), x2.grad.numpy()))
        for r0, r1 in zip(*results):
            np.testing.assert_allclose(r0, r1, rtol=1e-12, atol=1e-12)


def test_gradient_of_one_input_only():
    a, b = _pair((3, 2), (4, 2), np.float64)
    x1 = ember.tensor(a, requires_grad=True)
    gradcheck(lambda u: ember.cdist(u, ember.tensor(b), p=1.5), x1)
    assert not ember.cdist(ember.tensor(a), ember.tensor(b)).requires_grad


@pytest.mark.parametrize("args,kw,exc,match", [
    (((3,), (5, 3)), {}, RuntimeError, "at least 2D tensors, X1 got: 1D"),
    (((3, 4), (5,)), {}, RuntimeError, "at least 2D tensors, X2 got: 1D"),
    (((3, 4), (5, 3)), {}, RuntimeError, "same number of columns. X1: 4 X2: 3"),
    (((3, 4), (5, 4)), {"p": -1.0}, RuntimeError, "non-negative p"),
    (((3, 4), (5, 4)), {"p": float("nan")}, RuntimeError, "non-negative p"),
    (((3, 4), (5, 4)), {"compute_mode": "foo"}, ValueError, "foo is not a valid value for compute_mode"),
    (((2, 3, 4), (3, 5, 4)), {}, RuntimeError, "batch dimensions"),
])
def test_errors(args, kw, exc, match):
    a, b = (ember.ones(*s) for s in args)
    with pytest.raises(exc, match=match):
        ember.cdist(a, b, **kw)


def test_dtype_errors():
    with pytest.raises(RuntimeError, match="floating-point dtypes, X1 got: int64"):
        ember.cdist(ember.ones(3, 2, dtype=ember.int64), ember.ones(3, 2, dtype=ember.int64))
    with pytest.raises(RuntimeError, match="same dtype.*float32 and float64"):
        ember.cdist(ember.ones(3, 2), ember.ones(3, 2, dtype=ember.float64))
    with pytest.raises(TypeError, match="must be a Tensor"):
        ember.cdist([[1.0]], ember.ones(1, 1))


def test_errors_match_torch(torch):
    for s1, s2, kw in [((3,), (5, 3), {}), ((3, 4), (5, 3), {}), ((3, 4), (5, 4), {"p": -1.0}),
                       ((2, 3, 4), (3, 5, 4), {})]:
        with pytest.raises(RuntimeError):
            torch.cdist(torch.ones(*s1), torch.ones(*s2), **kw)
        with pytest.raises(RuntimeError):
            ember.cdist(ember.ones(*s1), ember.ones(*s2), **kw)
    with pytest.raises(ValueError):
        torch.cdist(torch.ones(2, 2), torch.ones(2, 2), compute_mode="foo")
