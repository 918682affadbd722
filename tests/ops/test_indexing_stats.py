"""ember/ops/indexing.py: index_add/copy/fill, scatter_reduce, NaN-aware reductions, quantiles, mode, kthvalue,
searching, any/all, sgn, heaviside, logspace and the random draws.

Differentiable ops are gradient-checked in float64 and compared with PyTorch in float32 (values, dtypes,
shapes and the gradients for a random upstream gradient); random draws are checked for reproducibility,
ranges and moments (their numbers differ from PyTorch's by design)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.diagnose import gradcheck
from tests.helpers import assert_close

RNG = np.random.default_rng(1234)


def _arr(*shape, dtype=np.float32, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape).astype(dtype)


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _dtype_name(t) -> str:
    return str(t.dtype).replace("torch.", "") if not isinstance(t.dtype, np.dtype) else t.dtype.name


def parity(torch, fn, *arrays, grad=True, rtol=1e-4, atol=1e-5, what="op"):
    """``fn(lib, *tensors)`` in ember and in PyTorch: the same values, dtypes and shapes, and (``grad``) the same
    gradients of every floating input for a random upstream gradient."""
    arrays = [np.asarray(a) if isinstance(a, np.generic) else a for a in arrays]
    need = [grad and isinstance(a, np.ndarray) and a.dtype.kind == "f" for a in arrays]
    xe = [ember.tensor(a, requires_grad=n) if isinstance(a, np.ndarray) else a for a, n in zip(arrays, need)]
    xt = [torch.tensor(a, requires_grad=n) if isinstance(a, np.ndarray) else a for a, n in zip(arrays, need)]
    oe, ot = _as_tuple(fn(ember, *xe)), _as_tuple(fn(torch, *xt))
    assert len(oe) == len(ot)
    v = None
    loss_e = loss_t = 0
    for k, (a, b) in enumerate(zip(oe, ot)):
        assert _dtype_name(a) == _dtype_name(b), f"{what} output {k}: dtype {a.dtype} vs PyTorch {b.dtype}"
        assert tuple(a.shape) == tuple(b.shape), f"{what} output {k}: shape {a.shape} vs PyTorch {tuple(b.shape)}"
        assert_close(a.detach().numpy(), b.detach().numpy(), rtol=rtol, atol=atol, what=f"{what} output {k}")
        if grad and b.requires_grad:
            assert a.requires_grad, f"{what} output {k} should require grad"
            v = RNG.standard_normal(tuple(b.shape)).astype(np.float32)
            loss_e = loss_e + (a * ember.tensor(v)).sum()
            loss_t = loss_t + (b * torch.tensor(v)).sum()
    if v is None:
        return oe
    loss_e.backward()
    loss_t.backward()
    for i, (a, b) in enumerate(zip(xe, xt)):
        if need[i]:
            ge = np.zeros(a.shape, np.float32) if a.grad is None else a.grad.numpy()
            gt = np.zeros(tuple(b.shape), np.float32) if b.grad is None else b.grad.numpy(force=True)
            assert_close(ge, gt, rtol=rtol, atol=atol, what=f"{what} gradient of input {i}")
    return oe


def leaves(*arrays):
    return [ember.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]


# ----------------------------------------------------------------------------- index_add / index_copy / index_fill


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("alpha", [1, 2.5])
def test_index_add_parity(torch, dim, alpha):
    x = _arr(4, 5, 3)
    n = x.shape[dim]
    idx = np.array([0, n - 1, 0, 1, 0], np.int64)  # repeats accumulate
    shape = list(x.shape)
    shape[dim] = len(idx)
    parity(torch, lambda L, a, s: L.index_add(a, dim, L.tensor(idx), s, alpha=alpha), x, _arr(*shape),
           what="index_add")
    parity(torch, lambda L, a, s: a.index_add(dim, L.tensor(idx.astype(np.int32)), s, alpha=alpha), x,
           _arr(*shape), what="Tensor.index_add")


def test_index_add_integers_and_0d(torch):
    x, s = np.arange(12).reshape(3, 4), np.arange(8).reshape(2, 4)
    parity(torch, lambda L, a, b: L.index_add(a, 0, L.tensor([2, 2]), b, alpha=3), x, s, grad=False)
    parity(torch, lambda L, a, b: L.index_add(a, 0, L.tensor([0]), b), np.float32(2.0), np.float32(3.0))
    with pytest.raises(RuntimeError, match="alpha must be an integer"):
        ember.index_add(ember.tensor(x), 0, ember.tensor([0]), ember.tensor(s[:1]), alpha=0.5)


def test_index_copy_and_fill_parity(torch):
    x = _arr(4, 3)
    parity(torch, lambda L, a, s: L.index_copy(a, 0, L.tensor([3, 0]), s), x, _arr(2, 3), what="index_copy")
    parity(torch, lambda L, a, s: a.index_copy(1, L.tensor([2, 0]), s), x, _arr(4, 2), what="Tensor.index_copy")
    # a repeated index: the last write wins; every source slice still gets the gradient of its position
    parity(torch, lambda L, a, s: L.index_copy(a, 0, L.tensor([1, 1]), s), x, _arr(2, 3), what="index_copy repeats")
    parity(torch, lambda L, a: L.index_fill(a, 1, L.tensor([0, -1]), -1.5), x, what="index_fill number")
    # a 0-d tensor value gets the sum of the gradient over the filled positions, each counted once
    parity(torch, lambda L, a, v: a.index_fill(0, L.tensor([0, 0, 2]), v), x, np.float32(0.25),
           what="index_fill tensor value")
    parity(torch, lambda L, a: L.index_fill(a, 0, L.tensor([1]), 7), np.arange(6).reshape(3, 2), grad=False)


def test_index_ops_gradcheck():
    x, s, v = leaves(_arr(4, 3), _arr(4, 5), 0.5)
    idx = ember.tensor([1, 3, 1, 0, 1])
    gradcheck(lambda a, b: ember.index_add(a, 1, ember.tensor([2, 0, 2, 2, 1]), b, alpha=-2.0), x, s)
    gradcheck(lambda a, b: ember.index_add(a.t(), 1, idx, b), x, leaves(_arr(3, 5))[0])
    gradcheck(lambda a, b: ember.index_copy(a, 1, ember.tensor([2, 0]), b), x, leaves(_arr(4, 2))[0])
    gradcheck(lambda a, c: ember.index_fill(a, 0, ember.tensor([3, 1, 3]), c), x, v)


def test_index_ops_errors():
    x = ember.zeros(3, 2)
    with pytest.raises(RuntimeError, match="Expected dtype int32/int64 for index but got: float32"):
        x.index_add(0, ember.tensor([0.0, 1.0]), ember.ones(2, 2))
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x.index_add(0, ember.tensor([0, 3]), ember.ones(2, 2))
    with pytest.raises(IndexError, match="index -1 is out of bounds"):
        x.index_copy(0, ember.tensor([-1]), ember.ones(1, 2))
    with pytest.raises(RuntimeError, match=r"self \(float32\) and source \(float64\) must have the same scalar"):
        x.index_add(0, ember.tensor([0, 1]), ember.ones(2, 2, dtype=ember.float64))
    with pytest.raises(RuntimeError, match=r"Number of indices \(2\) should be equal to source.size\(dim\): \(3\)"):
        x.index_copy(0, ember.tensor([0, 1]), ember.ones(3, 2))
    with pytest.raises(RuntimeError, match=r"self.shape = \[3, 2\] source.shape = \[2, 3\]"):
        x.index_add(0, ember.tensor([0, 1]), ember.ones(2, 3))
    with pytest.raises(IndexError, match="Index is supposed to be a vector"):
        x.index_add(0, ember.tensor([[0, 1]]), ember.ones(2, 2))
    with pytest.raises(RuntimeError, match="only supports a 0-dimensional value tensor"):
        x.index_fill(0, ember.tensor([0]), ember.tensor([1.0, 2.0]))
    with pytest.raises(IndexError, match="dimension 2 is out of range"):
        x.index_fill(2, ember.tensor([0]), 1.0)


def test_index_inplace_methods():
    x = ember.zeros(3, 2)
    view = x[1:]
    out = x.index_add_(0, ember.tensor([1, 1, 2]), ember.ones(3, 2), alpha=2)
    assert out is x and x.tolist() == [[0, 0], [4, 4], [2, 2]] and view.tolist() == [[4, 4], [2, 2]]
    assert x.index_copy_(1, ember.tensor([0]), ember.full((3, 1), 9.0)) is x
    assert x.tolist() == [[9, 0], [9, 4], [9, 2]]
    assert x.index_fill_(0, ember.tensor([-1]), -1).tolist() == [[9, 0], [9, 4], [-1, -1]]
    w = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="index_fill_: a leaf tensor that requires grad"):
        w.index_fill_(0, ember.tensor([0]), 0.0)
    with ember.no_grad():
        w.index_fill_(0, ember.tensor([0]), 0.0)
    assert w.tolist() == [0, 1] and w.grad_fn is None


def test_index_add_inplace_into_a_buffer_carries_the_gradient(torch):
    """GNN-style aggregation: buf = zeros(n, f); buf.index_add_(0, dst, messages) must reach the messages."""
    msg, idx = _arr(5, 3), np.array([0, 2, 0, 1, 2])
    grads = []
    for L in (ember, torch):
        m = L.tensor(msg, requires_grad=True)
        buf = L.zeros(3, 3)
        buf.index_add_(0, L.tensor(idx), m * 2)
        assert buf.requires_grad
        (buf * L.arange(9.0).reshape(3, 3)).sum().backward()
        grads.append(m.grad.numpy())
    assert_close(grads[0], grads[1], what="gradient through index_add_")


def test_inplace_change_of_a_saved_value_is_caught():
    x = ember.ones(3)
    w = ember.ones(3, requires_grad=True)
    y = (w * x).sum()  # Mul keeps x for w's gradient
    x.index_fill_(0, ember.tensor([0]), 5.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


# ----------------------------------------------------------------------------- scatter_reduce


REDUCES = ["sum", "prod", "mean", "amax", "amin"]


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_parity(torch, reduce, include_self):
    x, src = _arr(3, 4), _arr(3, 5)
    idx = np.array([[0, 0, 1, 3, 0], [2, 2, 2, 2, 0], [1, 3, 1, 3, 1]])
    parity(torch, lambda L, a, s: L.scatter_reduce(a, 1, L.tensor(idx), s, reduce, include_self=include_self),
           x, src, what=f"scatter_reduce {reduce}")
    # an index smaller than src, along dim 0, through the Tensor method (PyTorch's backward fails there: the
    # gradients are checked by test_scatter_reduce_gradcheck)
    idx0 = np.array([[1, 0], [1, 1]])
    parity(torch, lambda L, a, s: a.scatter_reduce(0, L.tensor(idx0), s, reduce, include_self=include_self),
           x, src, grad=False, what=f"Tensor.scatter_reduce {reduce}")


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_scatter_reduce_ties_split_the_gradient_as_pytorch(torch, reduce, include_self):
    x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], np.float32)
    src = np.array([[10.0, 5.0, 3.0, 3.0, 3.0], [1.0, 2.0, 6.0, 6.0, 6.0]], np.float32)
    if reduce == "amin":
        x, src = -x, -src
    idx = np.array([[0, 0, 1, 1, 0], [2, 2, 2, 2, 2]])
    parity(torch, lambda L, a, s: L.scatter_reduce(a, 1, L.tensor(idx), s, reduce, include_self=include_self),
           x, src, what=f"{reduce} ties")


def test_scatter_reduce_prod_with_zeros_and_integer_mean(torch):
    x = np.array([2.0, 0.0, 3.0, 4.0], np.float32)
    src = np.array([0.0, 4.0, 5.0, 0.0, 2.0, 0.0], np.float32)
    idx = np.array([0, 0, 1, 2, 2, 2])
    for inc in (True, False):
        parity(torch, lambda L, a, s: L.scatter_reduce(a, 0, L.tensor(idx), s, "prod", include_self=inc), x, src,
               what=f"prod with zeros include_self={inc}")
        # integer mean rounds down (floor), as PyTorch
        parity(torch, lambda L, a, s: L.scatter_reduce(a, 0, L.tensor([0, 0, 1]), s, "mean", include_self=inc),
               np.array([1, 2, 3]), np.array([-4, -3, 5]), grad=False)


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradcheck(reduce, include_self):
    x, src = leaves(RNG.permutation(12).reshape(3, 4) * 0.3 + 0.1, RNG.permutation(15).reshape(3, 5) * 0.2 + 0.05)
    idx = ember.tensor([[0, 0, 1, 3, 0], [2, 2, 2, 2, 0], [1, 3, 1, 3, 1]])
    gradcheck(lambda a, s: ember.scatter_reduce(a, 1, idx, s, reduce, include_self=include_self), x, src)
    small = ember.tensor([[1, 0], [1, 1]])  # src entries no index reaches get 0
    gradcheck(lambda a, s: ember.scatter_reduce(a, 0, small, s, reduce, include_self=include_self), x, src)


def test_scatter_reduce_inplace_and_errors():
    x = ember.tensor([1.0, 2.0, 3.0])
    assert x.scatter_reduce_(0, ember.tensor([0, 0]), ember.tensor([5.0, 7.0]), "amax") is x
    assert x.tolist() == [7.0, 2.0, 3.0]
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, amax or amin, got max"):
        x.scatter_reduce(0, ember.tensor([0]), ember.tensor([1.0]), "max")
    with pytest.raises(TypeError, match="argument 'src' must be Tensor"):
        x.scatter_reduce(0, ember.tensor([0]), 1.0, "sum")
    with pytest.raises(IndexError, match="out of range"):
        x.scatter_reduce(0, ember.tensor([3]), ember.tensor([1.0]), "sum")


# ----------------------------------------------------------------------------- nan_to_num, nansum, nanmean


def _with_specials(*shape, dtype=np.float32):
    a = _arr(*shape, dtype=dtype)
    flat = a.reshape(-1)
    flat[[1, 4, 7]] = [np.nan, np.inf, -np.inf]
    flat[-2] = np.nan
    return a


def test_nan_to_num_parity(torch):
    a = _with_specials(3, 4)
    parity(torch, lambda L, x: L.nan_to_num(x), a, grad=False)  # ±max·v would overflow the loss
    parity(torch, lambda L, x: x.nan_to_num(nan=1.5, posinf=100.0, neginf=-7.0), a)
    parity(torch, lambda L, x: L.nan_to_num(x, posinf=3.0), _with_specials(8, dtype=np.float16), grad=False)
    parity(torch, lambda L, x: L.nan_to_num(x), np.arange(4), grad=False)
    x = ember.tensor(a)
    assert x.nan_to_num_() is x and np.isfinite(x.numpy()).all()
    gradcheck(lambda x: ember.nan_to_num(x, nan=2.0, posinf=9.0, neginf=-1.0) * 3,
              *leaves(_with_specials(3, 4, dtype=np.float64)))


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 1), False), (-1, False)])
def test_nansum_nanmean_parity(torch, dim, keepdim):
    a = _with_specials(3, 4)
    a[np.isinf(a)] = 1.0
    parity(torch, lambda L, x: L.nansum(x, dim, keepdim), a, what="nansum")
    parity(torch, lambda L, x: x.nanmean(dim, keepdim), a, what="nanmean")
    parity(torch, lambda L, x: L.nansum(x, dim, keepdim, dtype=L.float64), a, what="nansum dtype")


def test_nanmean_of_no_values(torch):
    """A slice of NaNs only: nanmean is NaN (as PyTorch), and its gradient 0 (PyTorch's is NaN there: 0/0)."""
    a = _with_specials(3, 4)
    a[np.isinf(a)] = 1.0
    a[:, 2] = np.nan
    parity(torch, lambda L, x: L.nanmean(x, 0), a, grad=False)
    x = ember.tensor(a, requires_grad=True)
    ember.nanmean(x, 0).backward(ember.ones(4))
    expected = np.where(np.isnan(a), 0, 1 / np.maximum((~np.isnan(a)).sum(0), 1))
    assert np.array_equal(x.grad.numpy(), expected.astype(np.float32))


def test_nansum_nanmean_integers_and_gradcheck(torch):
    parity(torch, lambda L, x: L.nansum(x), np.arange(5), grad=False)
    parity(torch, lambda L, x: L.nansum(x, 0), np.array([True, True, False]), grad=False)
    with pytest.raises(RuntimeError, match="nanmean\\(\\): expected input to have floating point"):
        ember.nanmean(ember.tensor([1, 2]))
    a = _with_specials(3, 4, dtype=np.float64)
    a[np.isinf(a)] = 0.5
    x = leaves(a)[0]
    gradcheck(lambda t: ember.nansum(t, 1), x)
    gradcheck(lambda t: ember.nanmean(t, 0, keepdim=True), x)
    gradcheck(lambda t: ember.nanmean(t), x)


# ----------------------------------------------------------------------------- quantile, nanquantile


INTERPOLATIONS = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
@pytest.mark.parametrize("dim,keepdim", [(None, False), (None, True), (1, False), (0, True), (-1, True)])
def test_quantile_parity(torch, interpolation, dim, keepdim):
    a = _arr(4, 7, 3)
    for q in (0.3, np.array([0.0, 0.05, 0.25, 0.35, 0.5, 0.7, 1.0], np.float32), np.float32(0.45)):
        for name in ("quantile", "nanquantile"):
            parity(torch, lambda L, x, *qq: getattr(L, name)(x, qq[0] if qq else q, dim, keepdim,
                                                              interpolation=interpolation),
                   a, *((q,) if isinstance(q, np.ndarray) or isinstance(q, np.floating) else ()),
                   what=f"{name} q={q} {interpolation}")


def test_quantile_rank_rounding_matches_pytorch(torch):
    """Ranks are computed in the input's precision: 0.35·10 is 3.5 in float32, so 'nearest' picks 4 and
    'lower' 3, as PyTorch."""
    q = np.array([0.7, 0.05, 0.25, 0.35, 0.45], np.float32)
    for interpolation in INTERPOLATIONS:
        parity(torch, lambda L, x, qq: L.quantile(x, qq, interpolation=interpolation), np.arange(11, dtype=np.float32),
               q, grad=False)


def test_quantile_with_nans(torch):
    a = _arr(3, 6)
    a[0, 1] = a[1, [0, 3, 5]] = np.nan
    a[2] = np.nan
    for interpolation in INTERPOLATIONS:
        parity(torch, lambda L, x: L.quantile(x, 0.4, dim=1, interpolation=interpolation), a)
        parity(torch, lambda L, x: x.nanquantile(L.tensor([0.1, 0.9]), dim=1, keepdim=True,
                                                 interpolation=interpolation), a)


@pytest.mark.parametrize("interpolation", INTERPOLATIONS)
def test_quantile_gradcheck(interpolation):
    x = leaves(RNG.permutation(24).reshape(4, 6) * 0.37)[0]  # distinct values: the order survives the nudges
    q = ember.tensor([0.1, 0.5, 0.83], dtype=ember.float64)
    gradcheck(lambda t: ember.quantile(t, q, dim=1, interpolation=interpolation), x)
    gradcheck(lambda t: ember.nanquantile(t, 0.66, interpolation=interpolation), x)


def test_quantile_errors():
    x = ember.rand(3, 4)
    with pytest.raises(RuntimeError, match=r"q must be in the range \[0, 1\] but got 1.5"):
        ember.quantile(x, 1.5)
    with pytest.raises(RuntimeError, match=r"q values must be in the range \[0, 1\]"):
        ember.quantile(x, ember.tensor([-0.1, 0.5]))
    with pytest.raises(RuntimeError, match="input tensor must be either float or double dtype"):
        ember.quantile(x.long(), 0.5)
    with pytest.raises(RuntimeError, match="q tensor must be same dtype as the input tensor"):
        ember.quantile(x, ember.tensor([0.5], dtype=ember.float64))
    with pytest.raises(RuntimeError, match="q must be a scalar or 1D tensor"):
        ember.quantile(x, ember.tensor([[0.5]]))
    with pytest.raises(RuntimeError, match="input tensor must be non-empty"):
        ember.quantile(ember.zeros(0), 0.5)
    with pytest.raises(RuntimeError, match="interpolation must be one of linear, lower, higher, midpoint or nearest"):
        ember.quantile(x, 0.5, interpolation="foo")
    with pytest.raises(IndexError, match="dimension 2 is out of range"):
        ember.nanquantile(x, 0.5, dim=2)


# ----------------------------------------------------------------------------- mode, kthvalue


def test_mode_parity(torch):
    ints = RNG.integers(0, 4, (5, 9))
    for dim in (0, 1, -1):
        for keepdim in (False, True):
            parity(torch, lambda L, x: L.mode(x, dim, keepdim), ints, grad=False, what=f"mode ints dim={dim}")
    floats = RNG.integers(-3, 3, (4, 10)).astype(np.float32) / 2
    parity(torch, lambda L, x: x.mode(1), floats, what="mode floats")
    parity(torch, lambda L, x: L.mode(x), np.array([3.0, 1, 3, 1, 2, 2, 5], np.float32), what="smallest mode")
    parity(torch, lambda L, x: L.mode(x, 0), np.float32(2.0), what="mode 0-d")
    vi = ember.mode(ember.tensor([[1, 2, 2]]), 1)
    assert vi.values.tolist() == [2] and vi.indices.tolist() == [2]
    with pytest.raises(IndexError, match="Expected reduction dim 0 to have non-zero size"):
        ember.mode(ember.zeros(0))


def test_kthvalue_parity_and_gradcheck(torch):
    a = RNG.permutation(28).reshape(4, 7).astype(np.float32)  # no ties: the indices are defined
    for k in (1, 4, 7):
        parity(torch, lambda L, x: L.kthvalue(x, k, 1), a, what=f"kthvalue k={k}")
        parity(torch, lambda L, x: x.kthvalue(min(k, 4), 0, True), a, what=f"kthvalue dim 0 k={k}")
    parity(torch, lambda L, x: L.kthvalue(x, 3), np.array([3.0, np.nan, 1.0], np.float32), what="NaN is largest")
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range for dimension 1"):
        ember.kthvalue(ember.tensor(a), 8, 1)
    with pytest.raises(RuntimeError, match="selected number k out of range"):
        ember.kthvalue(ember.tensor(a), 0)
    gradcheck(lambda t: ember.kthvalue(t, 2, 1)[0], *leaves(a))
    # distinct values (a nudge would break a tie): the mode is the smallest, the gradient goes to it
    gradcheck(lambda t: ember.mode(t, 0)[0], *leaves(np.array([[1.0, 2.0], [0.5, 3.0], [4.0, 2.5]])))


# ----------------------------------------------------------------------------- searchsorted, bucketize, isin


def test_searchsorted_bucketize_parity(torch):
    seq = np.array([1, 3, 3, 5, 7])
    vals = np.array([[3, 6], [9, 0]])
    for right in (False, True):
        parity(torch, lambda L, s, v: L.searchsorted(s, v, right=right), seq, vals, grad=False)
        parity(torch, lambda L, s, v: L.searchsorted(s, v, side="right" if right else "left", out_int32=True),
               seq, vals, grad=False)
        parity(torch, lambda L, v, b: L.bucketize(v, b, right=right), vals, seq, grad=False)
        parity(torch, lambda L, b: L.bucketize(3, b, right=right), seq, grad=False)
        parity(torch, lambda L, s: L.searchsorted(s, 3, right=right), seq, grad=False)
    seq2 = np.array([[1.0, 3, 5, 7], [2, 4, 6, 8]], np.float32)
    parity(torch, lambda L, s, v: L.searchsorted(s, v, side="right"), seq2, np.array([[3.0, 6, 9], [3, 6, 9]],
                                                                                      np.float32), grad=False)
    parity(torch, lambda L, s, v: L.searchsorted(s, v, sorter=L.tensor([1, 3, 0, 2])), np.array([5, 1, 7, 3]),
           np.array([3, 6]), grad=False)


def test_searchsorted_errors():
    s = ember.tensor([1, 3])
    with pytest.raises(RuntimeError, match="side and right can't be set to opposites"):
        ember.searchsorted(s, ember.tensor([2]), right=True, side="left")
    with pytest.raises(RuntimeError, match="side can only be 'left' or 'right' but got middle"):
        ember.searchsorted(s, ember.tensor([2]), side="middle")
    with pytest.raises(RuntimeError, match=r"boundaries tensor \[2, 4\] and input value tensor \[3\]"):
        ember.searchsorted(ember.zeros(2, 4), ember.zeros(3))
    with pytest.raises(RuntimeError, match=r"boundaries tensor must be 1 dimension, but got dim\(2\)"):
        ember.bucketize(ember.tensor([1, 2]), ember.tensor([[1, 5]]))


def test_isin_parity(torch):
    e, t = np.array([[1, 2], [3, 4]]), np.array([2, 3, 9])
    for invert in (False, True):
        parity(torch, lambda L, a, b: L.isin(a, b, invert=invert), e, t, grad=False)
        parity(torch, lambda L, a: L.isin(a, 2, invert=invert), e, grad=False)
        parity(torch, lambda L, b: L.isin(3, b, invert=invert), t, grad=False)
    parity(torch, lambda L, a, b: L.isin(a, b), np.array([1.0, 2.5], np.float32), np.array([2.5]), grad=False)
    with pytest.raises(TypeError, match="at least one"):
        ember.isin(1, 2)


# ----------------------------------------------------------------------------- any, all, sgn, heaviside, logspace


def test_any_all_parity(torch):
    a = (RNG.random((3, 4, 2)) < 0.3).astype(np.float32)
    for name in ("any", "all"):
        for args in ((), (1,), (-1, True), ((0, 2),), ((0, 1), True)):
            parity(torch, lambda L, x: getattr(L, name)(x, *args), a, grad=False, what=f"{name}{args}")
            parity(torch, lambda L, x: getattr(x, name)(*args), a > 0.5, grad=False)
        parity(torch, lambda L, x: getattr(L, name)(x), np.array([0, 3], np.uint8), grad=False, what="uint8")
        parity(torch, lambda L, x: getattr(L, name)(x, 0, True), np.float32(2.0), grad=False, what="0-d")


def test_sgn_and_heaviside_parity(torch):
    a = np.array([-1.5, 0.0, 2.0, -0.0], np.float32)
    parity(torch, lambda L, x: L.sgn(x), a)  # gradient 0
    parity(torch, lambda L, x: x.sgn(), np.array([-2, 0, 3]), grad=False)
    parity(torch, lambda L, x: L.sgn(x), np.array([True, False]), grad=False)
    x = ember.tensor(a)
    assert x.sgn_() is x and x.tolist() == [-1, 0, 1, 0]
    vals = np.array([0.5], np.float32)
    parity(torch, lambda L, x, v: L.heaviside(x, v), np.array([-1.0, 0.0, 2.0, np.nan], np.float32), vals,
           grad=False)
    parity(torch, lambda L, x, v: x.heaviside(v), np.array([[-1], [0], [3]]), np.array([7, 8]), grad=False)
    with pytest.raises(RuntimeError, match="heaviside is not yet implemented for tensors with different dtypes"):
        ember.heaviside(ember.tensor([1.0]), ember.tensor([1]))
    y = ember.heaviside(ember.tensor([-1.0, 0.0], requires_grad=True), ember.tensor(0.5))
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="the derivative for 'heaviside' is not implemented"):
        y.sum().backward()
    z = ember.tensor([-1.0, 0.0, 4.0])
    assert z.heaviside_(ember.tensor(0.5)) is z and z.tolist() == [0.0, 0.5, 1.0]


def test_logspace_parity(torch):
    for args, kw in (((0, 3, 4), {}), ((0, 3, 4), {"base": 2}), ((-1, 1, 5), {"dtype": "float64"}),
                     ((0, 2, 1), {}), ((0, 2, 0), {}), ((0, 3, 4), {"dtype": "int64"}), ((1.5, -0.5, 6), {})):
        e = ember.logspace(*args, **{k: getattr(ember, v) if k == "dtype" else v for k, v in kw.items()})
        t = torch.logspace(*args, **{k: getattr(torch, v) if k == "dtype" else v for k, v in kw.items()})
        assert _dtype_name(e) == _dtype_name(t) and tuple(e.shape) == tuple(t.shape)
        assert_close(e.numpy(), t.numpy(), rtol=1e-6, what=f"logspace{args}{kw}")
    assert ember.logspace(0, 1, 3, requires_grad=True).requires_grad


# ----------------------------------------------------------------------------- random draws


def _repeatable(draw):
    ember.manual_seed(11)
    a = draw()
    ember.manual_seed(11)
    b = draw()
    assert np.array_equal(a, b, equal_nan=True), "ember.manual_seed must make the draw repeatable"
    assert not np.array_equal(draw(), a), "the stream must move on"
    return a


def test_normal_forms(torch):
    m, s = ember.tensor([[0.0], [10.0]]), ember.tensor([1.0, 2.0, 0.0])
    for e, t in ((ember.normal(m, s), torch.normal(torch.zeros(2, 1), torch.ones(3))),
                 (ember.normal(m, 1.0), torch.normal(torch.zeros(2, 1), 1.0)),
                 (ember.normal(2.0, s), torch.normal(2.0, torch.ones(3))),
                 (ember.normal(0.0, 1.0, (2, 3)), torch.normal(0.0, 1.0, (2, 3))),
                 (ember.normal(mean=0, std=1, size=[4]), torch.normal(mean=0, std=1, size=[4])),
                 (ember.normal(m.double(), 1.0), torch.normal(torch.zeros(2, 1).double(), 1.0)),
                 (ember.normal(0.0, 1.0, (2,), dtype=ember.float64), torch.normal(0.0, 1.0, (2,),
                                                                                 dtype=torch.float64))):
        assert tuple(e.shape) == tuple(t.shape) and _dtype_name(e) == _dtype_name(t)
    x = ember.normal(m, s).numpy()
    assert np.all(x[:, 2] == [0.0, 10.0])  # std 0: exactly the mean
    _repeatable(lambda: ember.normal(m, s).numpy())
    _repeatable(lambda: ember.normal(0.0, 1.0, (5,)).numpy())
    g1, g2 = ember.Generator().manual_seed(3), ember.Generator().manual_seed(3)
    assert np.array_equal(ember.normal(m, s, generator=g1).numpy(), ember.normal(m, s, generator=g2).numpy())
    big = ember.normal(ember.full((200_000,), 3.0), 2.0).numpy()
    assert abs(big.mean() - 3.0) < 0.02 and abs(big.std() - 2.0) < 0.02
    out = ember.empty(3)
    assert ember.normal(0.0, 1.0, (3,), out=out) is out


def test_normal_gradients_are_zero_as_pytorch(torch):
    grads = []
    for L in (ember, torch):
        m, s = L.tensor([1.0, 2.0], requires_grad=True), L.tensor([1.0, 2.0], requires_grad=True)
        y = L.normal(m, s)
        assert y.requires_grad
        (y * 3).sum().backward()
        grads.append((m.grad.numpy(), s.grad.numpy()))
    assert np.array_equal(grads[0][0], grads[1][0]) and np.array_equal(grads[0][1], grads[1][1])


def test_normal_errors():
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        ember.normal(ember.zeros(2), -1.0)
    with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
        ember.normal(ember.zeros(2), ember.tensor([1.0, -1.0]))
    with pytest.raises(TypeError, match="needs size"):
        ember.normal(0.0, 1.0)
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        ember.normal(ember.zeros(2), ember.ones(3))


def test_bernoulli(torch):
    p = np.array([0.0, 0.2, 0.5, 0.9, 1.0], np.float32)
    draws = _repeatable(lambda: ember.bernoulli(ember.tensor(np.tile(p, (20_000, 1)))).numpy())
    assert draws.dtype == np.float32 and set(np.unique(draws)) <= {0.0, 1.0}
    assert np.all(np.abs(draws.mean(0) - p) < 0.015) and draws[:, 0].max() == 0 and draws[:, -1].min() == 1
    half = ember.bernoulli(ember.zeros(50_000, dtype=ember.float64), 0.5)
    assert half.dtype == np.float64 and abs(half.numpy().mean() - 0.5) < 0.015
    assert ember.tensor(p).bernoulli().shape == (5,)
    for L in (ember, torch):  # recorded, with a zero gradient, as PyTorch
        q = L.tensor([0.5, 0.2], requires_grad=True)
        b = L.bernoulli(q)
        assert b.requires_grad
        b.sum().backward()
        assert q.grad.tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="p_in >= 0 && p_in <= 1"):
        ember.bernoulli(ember.tensor([1.5]))
    with pytest.raises(RuntimeError, match="bernoulli_ expects p to be in \\[0, 1\\], but got p=1.5"):
        ember.zeros(2).bernoulli_(1.5)
    with pytest.raises(RuntimeError, match="floating point"):
        ember.bernoulli(ember.tensor([1, 0]))


def test_inplace_random_fills():
    x = ember.zeros(100_000, dtype=ember.float64)
    b = _repeatable(lambda: x.bernoulli_(0.3).numpy().copy())
    assert abs(b.mean() - 0.3) < 0.01
    pt = ember.tensor([0.0, 1.0, 1.0])
    assert ember.zeros(3).bernoulli_(pt).tolist() == [0.0, 1.0, 1.0]
    assert ember.zeros(3, dtype=ember.int64).bernoulli_(1.0).tolist() == [1, 1, 1]
    e = _repeatable(lambda: x.exponential_(4.0).numpy().copy())
    assert e.min() >= 0 and abs(e.mean() - 0.25) < 0.005
    g = x.geometric_(0.25).numpy()
    assert g.min() >= 1 and np.all(g == np.round(g)) and abs(g.mean() - 4.0) < 0.06
    assert ember.zeros(4, dtype=ember.int64).geometric_(0.5).numpy().min() >= 1
    ln = x.log_normal_(1.0, 0.5).numpy()
    assert ln.min() > 0 and abs(np.median(ln) - np.e) < 0.03
    c = x.cauchy_(2.0, 0.5).numpy()
    assert abs(np.median(c) - 2.0) < 0.02 and abs(np.quantile(c, 0.75) - 2.5) < 0.03
    r = x.random_(3, 7).numpy()
    assert set(np.unique(r)) == {3.0, 4.0, 5.0, 6.0}
    assert set(np.unique(x.random_(3).numpy())) == {0.0, 1.0, 2.0}
    f32 = ember.zeros(1000).random_().numpy()
    assert f32.min() >= 0 and f32.max() <= 2 ** 24 and f32.max() > 2 ** 20
    i8 = ember.zeros(1000, dtype=ember.int8).random_().numpy()
    assert i8.min() >= 0 and i8.max() == 127
    assert set(ember.zeros(100, dtype=ember.bool).random_().tolist()) == {True, False}
    assert ember.zeros(5, dtype=ember.int64).random_(**{"from": -3, "to": -1}).numpy().max() <= -2


def test_inplace_random_fill_errors():
    x = ember.zeros(2)
    with pytest.raises(RuntimeError, match="exponential_ expects lambda > 0.0, but found lambda=0"):
        x.exponential_(0)
    with pytest.raises(RuntimeError, match="dtype must be a floating point but you specified int64"):
        ember.zeros(2, dtype=ember.int64).exponential_()
    with pytest.raises(RuntimeError, match=r"geometric_ expects p to be in \(0, 1\), but got p=1"):
        x.geometric_(1)
    with pytest.raises(RuntimeError, match="log_normal_ expects std > 0.0, but found std=0"):
        x.log_normal_(1, 0)
    with pytest.raises(RuntimeError, match="cauchy_ expects sigma > 0.0, but found sigma=-1"):
        x.cauchy_(0, -1)
    with pytest.raises(RuntimeError, match="random_ expects 'from' to be less than 'to', but got from=5 >= to=2"):
        x.random_(5, 2)
    with pytest.raises(RuntimeError, match=r"random_: the range \[0, 999\] does not fit dtype int8"):
        ember.zeros(2, dtype=ember.int8).random_(1000)
    with pytest.raises(RuntimeError, match="does not broadcast"):
        x.bernoulli_(ember.tensor([0.5, 0.5, 0.5]))
    w = ember.zeros(2, requires_grad=True)
    for fill in (lambda: w.bernoulli_(), lambda: w.exponential_(), lambda: w.random_(3), lambda: w.cauchy_()):
        with pytest.raises(RuntimeError, match="a leaf tensor that requires grad cannot be modified in place"):
            fill()
