"""multinomial, bincount and histc: seeded reproducibility, the distributions drawn, PyTorch's dtypes, values and
errors (bincount and histc values compared with torch, exactly)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.diagnose import gradcheck

N = 20_000


def _within(freq: np.ndarray, prob: np.ndarray, n: int, k: float = 4.5) -> None:
    """Observed frequencies within k standard errors of the probabilities (a false alarm ~1e-5 per category)."""
    se = np.sqrt(prob * (1 - prob) / n)
    assert np.all(np.abs(freq - prob) <= k * se + 1e-12), f"frequencies {freq} vs probabilities {prob} (se {se})"


# ----------------------------------------------------------------------------- multinomial


def test_multinomial_shapes_and_dtype():
    p = ember.tensor([0.2, 0.3, 0.5], requires_grad=True)
    s = ember.multinomial(p, 2)
    assert s.shape == (2,) and s.dtype == np.int64 and not s.requires_grad
    s = ember.multinomial(ember.rand(4, 6), 3, replacement=True)
    assert s.shape == (4, 3) and s.dtype == np.int64
    assert ember.multinomial(ember.ones(0, 3), 2).shape == (0, 2)
    assert p.multinomial(7, True).shape == (7,)  # the Tensor method


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_multinomial_accepts_every_float_dtype(dtype):
    s = ember.multinomial(ember.tensor([0.0, 1.0, 0.0], dtype=dtype), 5, replacement=True)
    assert s.tolist() == [1] * 5


@pytest.mark.parametrize("replacement", [False, True])
def test_multinomial_reproducible_with_manual_seed(replacement):
    p = ember.rand(3, 10)
    ember.manual_seed(123)
    a = ember.multinomial(p, 6, replacement)
    ember.manual_seed(123)
    b = ember.multinomial(p, 6, replacement)
    assert a.tolist() == b.tolist()
    c = ember.multinomial(p, 6, replacement)  # the stream moved on
    assert a.tolist() != c.tolist()


def test_multinomial_generator_is_its_own_stream():
    p = ember.rand(50)
    a = ember.multinomial(p, 20, generator=ember.Generator().manual_seed(7))
    b = ember.multinomial(p, 20, generator=ember.Generator().manual_seed(7))
    assert a.tolist() == b.tolist()
    ember.manual_seed(0)
    before = ember.rand(3).tolist()
    ember.manual_seed(0)
    ember.multinomial(p, 20, generator=ember.Generator().manual_seed(7))
    assert ember.rand(3).tolist() == before, "drawing from generator= must leave the global stream alone"
    with pytest.raises(TypeError, match="generator"):
        ember.multinomial(p, 2, generator=7)


def test_multinomial_with_replacement_frequencies():
    w = np.array([1.0, 2.0, 0.0, 3.0, 4.0])  # weights, not normalised; category 2 has weight 0
    s = ember.multinomial(ember.tensor(w), N, replacement=True).numpy()
    freq = np.bincount(s, minlength=5) / N
    assert freq[2] == 0
    _within(freq, w / w.sum(), N)


def test_multinomial_rows_are_independent_distributions():
    w = np.array([[0.7, 0.1, 0.2, 0.0], [0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.25, 0.25]])
    s = ember.multinomial(ember.tensor(w), N, replacement=True).numpy()
    for r in range(3):
        _within(np.bincount(s[r], minlength=4) / N, w[r] / w[r].sum(), N)


def test_multinomial_without_replacement_never_repeats_and_follows_sequential_draws():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    s = ember.multinomial(ember.tensor(np.tile(p, (N, 1))), 4).numpy()
    assert all(sorted(row) == [0, 1, 2, 3] for row in s[:2000]), "a row without replacement repeated a category"
    assert np.all(np.sort(s, axis=1) == np.arange(4))
    _within(np.bincount(s[:, 0], minlength=4) / N, p, N)  # first draw ~ p
    # second draw: P(j) = Σ_{i≠j} p_i·p_j/(1 − p_i)
    second = np.array([sum(p[i] * p[j] / (1 - p[i]) for i in range(4) if i != j) for j in range(4)])
    _within(np.bincount(s[:, 1], minlength=4) / N, second, N)


def test_multinomial_without_replacement_zero_weights_come_last():
    for _ in range(20):
        s = ember.multinomial(ember.tensor([0.0, 1.0, 0.0, 3.0]), 4).tolist()
        assert sorted(s[:2]) == [1, 3] and s[2:] == [0, 2]
    assert ember.multinomial(ember.tensor([[0.0, 0.0, 5.0]]), 1, replacement=True).tolist() == [[2]]


def test_multinomial_first_and_last_category_reachable_with_replacement():
    s = ember.multinomial(ember.tensor([1.0, 1e-30, 1.0]), 2000, replacement=True).numpy()
    assert set(np.unique(s)) <= {0, 1, 2} and {0, 2} <= set(np.unique(s))


MULTINOMIAL_ERRORS = [
    (np.ones((2, 2, 2)), 1, False, "1 or 2 dim"),
    (np.float32(1.0), 1, False, "1 or 2 dim"),
    (np.array([1, 2, 3]), 1, False, "floating-point"),
    (np.ones(3), 0, True, "n_sample <= 0"),
    (np.ones(3), 4, False, "without replacement"),
    (np.array([0.2, -0.1, 0.5]), 1, False, "element < 0"),
    (np.array([0.2, np.nan, 0.5]), 2, False, "element < 0"),
    (np.array([0.2, -0.1, 0.5]), 2, True, "entry < 0"),
    (np.array([0.2, -0.1, 0.5]), 1, True, "element < 0"),
    (np.array([0.2, np.inf, 0.5]), 2, True, "infinity or NaN"),
    (np.array([0.0, 0.0, 0.0]), 1, False, r"sum of probabilities <= 0"),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), 2, True, r"sum of probabilities <= 0"),
    (np.ones((2, 0)), 2, True, r"sum of probabilities <= 0"),
]


@pytest.mark.parametrize("data,n,replacement,match", MULTINOMIAL_ERRORS)
def test_multinomial_errors(data, n, replacement, match):
    with pytest.raises(RuntimeError, match=match):
        ember.multinomial(ember.tensor(data), n, replacement)


def test_multinomial_error_names_the_bad_row():
    with pytest.raises(RuntimeError, match="row 1"):
        ember.multinomial(ember.tensor([[1.0, 0.0], [0.0, 0.0]]), 1)
    with pytest.raises(RuntimeError, match=r"row 0, category 1 is -2"):
        ember.multinomial(ember.tensor([[1.0, -2.0]]), 1)


def test_multinomial_argument_types():
    with pytest.raises(TypeError, match="must be int"):
        ember.multinomial(ember.ones(3), 2.0)
    with pytest.raises(TypeError, match="must be int"):
        ember.multinomial(ember.ones(3), True)
    with pytest.raises(TypeError, match="must be a Tensor"):
        ember.multinomial([0.5, 0.5], 1)


@pytest.mark.parametrize("data,n,replacement,match", MULTINOMIAL_ERRORS)
def test_multinomial_errors_match_torch(torch, data, n, replacement, match):
    with pytest.raises(RuntimeError, match=match):
        torch.multinomial(torch.tensor(data), n, replacement)


@pytest.mark.parametrize("shape,n,replacement", [((5,), 3, False), ((5,), 9, True), ((3, 4), 4, False),
                                                 ((3, 4), 1, True), ((0, 4), 2, True)])
def test_multinomial_shape_dtype_parity(torch, shape, n, replacement):
    p = np.random.default_rng(0).random(shape).astype(np.float32) + 0.1
    e, t = ember.multinomial(ember.tensor(p), n, replacement), torch.multinomial(torch.tensor(p), n, replacement)
    assert tuple(e.shape) == tuple(t.shape) and str(t.dtype) == "torch.int64" and e.dtype == np.int64
    one_hot = np.eye(shape[-1], dtype=np.float32)[np.arange(shape[0]) % shape[-1]] if len(shape) == 2 else None
    if one_hot is not None and replacement:  # deterministic rows: the same values
        assert ember.multinomial(ember.tensor(one_hot), n, True).tolist() == \
            torch.multinomial(torch.tensor(one_hot), n, True).tolist()


# ----------------------------------------------------------------------------- bincount


BINCOUNT_CASES = [
    (np.array([1, 3, 3, 0, 7]), None, 0),
    (np.array([1, 3, 3]), None, 6),
    (np.array([4, 4]), None, 2),
    (np.array([], dtype=np.int64), None, 0),
    (np.array([], dtype=np.int64), None, 3),
    (np.array([1, 2, 2], dtype=np.uint8), None, 0),
    (np.array([1, 2, 2], dtype=np.int32), None, 0),
    (np.array([1, 2, 2], dtype=np.int16), None, 0),
    (np.array([1, 3, 3]), np.array([0.5, 2.0, 3.25], np.float32), 0),
    (np.array([1, 3, 3]), np.array([0.5, 2.0, 3.25], np.float64), 5),
    (np.array([1, 3, 3]), np.array([0.5, 2.0, 3.25], np.float16), 0),
    (np.array([1, 3, 3]), np.array([1, 2, 3], np.int64), 0),
    (np.array([1, 3, 3]), np.array([1, 2, 3], np.int32), 0),
    (np.array([1, 3, 3]), np.array([True, False, True]), 0),
    (np.array([], dtype=np.int64), np.array([], np.float32), 2),
]


def _bincount(lib, x, w, minlength):
    return lib.bincount(lib.tensor(x), None if w is None else lib.tensor(w), minlength)


@pytest.mark.parametrize("x,w,minlength", BINCOUNT_CASES)
def test_bincount_matches_numpy(x, w, minlength):
    out = _bincount(ember, x, w, minlength)
    expected = np.bincount(x.astype(np.int64), None if w is None else w.astype(np.float64), minlength)
    np.testing.assert_array_equal(out.numpy(), expected)
    assert out.dtype == (np.int64 if w is None or not x.size else np.float32 if w.dtype == np.float32 else np.float64)


@pytest.mark.parametrize("x,w,minlength", BINCOUNT_CASES)
def test_bincount_parity(torch, x, w, minlength):
    e, t = _bincount(ember, x, w, minlength), _bincount(torch, x, w, minlength)
    assert str(t.dtype) == f"torch.{e.dtype}"
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_bincount_method_and_gradient():
    x = ember.tensor([2, 0, 2, 1])
    assert x.bincount(minlength=4).tolist() == [1, 1, 2, 0]
    w = ember.tensor([0.5, 1.0, 2.0, -1.0], dtype=ember.float64, requires_grad=True)
    gradcheck(lambda w: ember.bincount(x, w, 5), w)
    w.grad = None
    out = ember.bincount(x, w)
    out.backward(ember.tensor([10.0, 20.0, 30.0], dtype=ember.float64))
    assert w.grad.tolist() == [30.0, 10.0, 30.0, 20.0]  # each weight gets the gradient of its bin
    w16 = ember.tensor([1.0, 2.0, 3.0, 4.0], dtype=ember.float16, requires_grad=True)
    ember.bincount(x, w16).sum().backward()
    assert w16.grad.dtype == np.float16 and w16.grad.tolist() == [1.0] * 4


@pytest.mark.parametrize("x,kw,exc,match", [
    (np.array([1, -3, 3]), {}, RuntimeError, "non-negative integral.*-3"),
    (np.array([[1, 3]]), {}, RuntimeError, "1-d non-negative integral.*2-d"),
    (np.array(3), {}, RuntimeError, "1-d non-negative integral"),
    (np.array([1.0, 3.0]), {}, RuntimeError, "integral.*float"),
    (np.array([True, False]), {}, RuntimeError, "integral.*bool"),
    (np.array([1, 3]), {"minlength": -1}, RuntimeError, "minlength should be >= 0"),
    (np.array([1, 3]), {"weights": np.ones(3, np.float32)}, RuntimeError, "same length as input"),
    (np.array([1, 3]), {"weights": np.ones((1, 2), np.float32)}, RuntimeError, "weights should be 1-d"),
])
def test_bincount_errors(x, kw, exc, match):
    if "weights" in kw:
        kw = dict(kw, weights=ember.tensor(kw["weights"]))
    with pytest.raises(exc, match=match):
        ember.bincount(ember.tensor(x), **kw)


def test_bincount_minlength_must_be_int():
    with pytest.raises(TypeError, match="minlength"):
        ember.bincount(ember.tensor([1]), minlength=2.5)


# ----------------------------------------------------------------------------- histc


def _edges_data() -> np.ndarray:
    """Values on and near bin edges, where a different formula would put them in another bin."""
    rng = np.random.default_rng(3)
    on = (rng.integers(0, 50, 400) / 7).astype(np.float32)
    near = np.nextafter(on, np.float32(np.inf)).astype(np.float32)
    return np.concatenate([on, near, np.linspace(0, 1, 101, dtype=np.float32)])


HISTC_CASES = [
    (np.random.default_rng(0).standard_normal(1000).astype(np.float32), 10, 0, 0),
    (np.random.default_rng(1).standard_normal(1000).astype(np.float32), 7, -1, 1.5),
    (_edges_data(), 7, 0, 50 / 7),
    (_edges_data(), 100, 0, 1),
    (_edges_data(), 3, 0, 0),
    (np.linspace(0, 1, 11, dtype=np.float32), 10, 0, 1),
    (np.array([1.0, 2.0, 1.0, 4.0, 2.5], np.float32), 4, 0, 3),
    (np.array([1.0, 2.0], np.float32), 4, 5, 5),  # min == max: the data's range
    (np.array([2.0, 2.0], np.float32), 4, 0, 0),  # constant data: widened by 1 each side
    (np.array([], np.float32), 4, 0, 0),
    (np.array([1.0, np.nan, 0.5], np.float32), 4, 0, 2),  # nan ignored with an explicit range
    (np.array([1.0, np.inf, -np.inf], np.float32), 4, 0, 2),
    (np.random.default_rng(2).standard_normal((3, 40)), 6, 0, 0),  # float64, 2-D
    (np.random.default_rng(4).standard_normal(200).astype(np.float16), 5, -1, 1),
    (np.array(0.5, np.float32), 3, 0, 1),  # 0-d
]


@pytest.mark.parametrize("x,bins,lo,hi", HISTC_CASES)
def test_histc_parity(torch, x, bins, lo, hi):
    e = ember.histc(ember.tensor(x), bins=bins, min=lo, max=hi)
    t = torch.histc(torch.tensor(x), bins=bins, min=lo, max=hi)
    assert e.dtype == x.dtype and str(t.dtype) == f"torch.{x.dtype}" and e.shape == (bins,)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_histc_counts_and_rules():
    x = ember.tensor([1.0, 2.0, 1.0, 4.0, 2.5])
    assert ember.histc(x, bins=4, min=0, max=3).tolist() == [0.0, 2.0, 1.0, 1.0]  # 4 is outside
    assert x.histc(4).tolist() == [2.0, 1.0, 1.0, 1.0]  # default range: [1, 4], max in the last bin
    assert ember.histc(ember.tensor([3.0, 3.0]), bins=2).tolist() == [0.0, 2.0]  # [2, 4]: 3 is the middle edge
    assert ember.histc(ember.randn(1000)).shape == (100,)
    assert float(ember.histc(ember.randn(1000)).sum()) == 1000
    assert not ember.histc(ember.randn(5, requires_grad=True), 3).requires_grad


@pytest.mark.parametrize("x,kw,exc,match", [
    (np.ones(3, np.float32), {"bins": 0}, RuntimeError, "bins must be > 0"),
    (np.ones(3, np.float32), {"bins": -2}, RuntimeError, "bins must be > 0"),
    (np.ones(3, np.float32), {"bins": 4, "min": 3, "max": 1}, RuntimeError, "max must be larger than min"),
    (np.array([1, 2, 3]), {"bins": 4}, RuntimeError, "floating point"),
    (np.array([1.0, np.nan], np.float32), {"bins": 4}, RuntimeError, "not finite"),
    (np.array([1.0, np.inf], np.float32), {"bins": 4}, RuntimeError, "not finite"),
    (np.array([1.0, 2.0], np.float32), {"bins": 4, "min": 0, "max": np.inf}, RuntimeError, "not finite"),
    (np.ones(3, np.float32), {"bins": 4.0}, TypeError, "bins"),
    (np.ones(3, np.float32), {"min": "a"}, TypeError, "min"),
])
def test_histc_errors(x, kw, exc, match):
    with pytest.raises(exc, match=match):
        ember.histc(ember.tensor(x), **kw)
