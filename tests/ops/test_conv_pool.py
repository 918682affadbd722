"""Convolution and pooling: float64 gradchecks over stride/padding/dilation/groups/ceil_mode, random geometries
against PyTorch, fractional pooling's determinism, and the error messages."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import ember
import ember.nn.functional as F
from ember.diagnose import gradcheck
from tests.helpers import assert_close
from tests.ops.cases import CONV_POOL
from tests.ops.harness import check_gradients

NONCONTIG = {"conv", "conv_groups", "max_pool_ceil_pad", "avg_pool_ceil_excl", "adaptive_uneven", "fractional_max_pool"}
VARIANTS = [(c, False) for c in CONV_POOL] + [(c, True) for c in CONV_POOL if c.id in NONCONTIG]


@pytest.mark.parametrize("case,noncontig", VARIANTS,
                         ids=[c.id + ("-noncontiguous" if nc else "") for c, nc in VARIANTS])
def test_gradcheck(case, noncontig):
    check_gradients(case, noncontig)


# --------------------------------------------------------------------------- random geometries against PyTorch

FIXTURE_OK = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def conv_geometry(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    cin = groups * draw(st.integers(1, 2))
    cout = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(max(dh * (kh - 1) + 1 - 2 * ph, 1), 7))
    w = draw(st.integers(max(dw * (kw - 1) + 1 - 2 * pw, 1), 7))
    return dict(x=(draw(st.integers(1, 2)), cin, h, w), w=(cout, cin // groups, kh, kw), stride=(sh, sw),
                padding=(ph, pw), dilation=(dh, dw), groups=groups, bias=draw(st.booleans()))


def _leaf(arr, lib):
    return lib.tensor(arr, requires_grad=True)


@FIXTURE_OK
@given(g=conv_geometry(), seed=st.integers(0, 2**16))
def test_conv2d_random_geometry_matches_pytorch(g, seed, torch):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(g["x"]).astype(np.float32), rng.standard_normal(g["w"]).astype(np.float32)]
    if g["bias"]:
        arrays.append(rng.standard_normal(g["w"][0]).astype(np.float32))
    kw = dict(stride=g["stride"], padding=g["padding"], dilation=g["dilation"], groups=g["groups"])
    xs = [_leaf(a, ember) for a in arrays]
    ts = [_leaf(a, torch) for a in arrays]
    out, ref = F.conv2d(*xs, **kw), torch.nn.functional.conv2d(*ts, **kw)
    assert_close(out, ref, what=f"conv2d {g}")
    v = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    (out * ember.tensor(v)).sum().backward()
    (ref * torch.tensor(v)).sum().backward()
    for i, (a, b) in enumerate(zip(xs, ts)):
        assert_close(a.grad, b.grad, what=f"conv2d gradient of input {i} {g}")


@st.composite
def pool_geometry(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return dict(kernel_size=(kh, kw), stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                padding=(draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))),
                ceil_mode=draw(st.booleans()), size=(draw(st.integers(1, 8)), draw(st.integers(1, 8))),
                dilation=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
                count_include_pad=draw(st.booleans()))


@FIXTURE_OK
@given(g=pool_geometry(), kind=st.sampled_from(["max", "avg"]), seed=st.integers(0, 2**16))
def test_pooling_random_geometry_matches_pytorch(g, kind, seed, torch):
    """Output sizes (ceil_mode windows may hang over the end), values and gradients; where PyTorch
    refuses a geometry, ember must refuse it too."""
    h, w = g["size"]
    rng = np.random.default_rng(seed)
    a = rng.permutation(2 * 2 * h * w).reshape(2, 2, h, w).astype(np.float32) * 0.1  # no ties
    x, t = _leaf(a, ember), _leaf(a, torch)
    common = dict(kernel_size=g["kernel_size"], stride=g["stride"], padding=g["padding"], ceil_mode=g["ceil_mode"])
    if kind == "max":
        extra = dict(dilation=g["dilation"])
        ours, theirs = F.max_pool2d, torch.nn.functional.max_pool2d
    else:
        extra = dict(count_include_pad=g["count_include_pad"])
        ours, theirs = F.avg_pool2d, torch.nn.functional.avg_pool2d
    try:
        ref = theirs(t, **common, **extra)
    except RuntimeError:
        with pytest.raises(RuntimeError, match="too small"):
            ours(x, **common, **extra)
        return
    out = ours(x, **common, **extra)
    assert_close(out, ref, what=f"{kind}_pool2d {g}")
    # a dilated window can miss the input entirely (-inf in both); its gradient is not compared
    assume(bool(np.all(np.isfinite(out.array))))
    v = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    (out * ember.tensor(v)).sum().backward()
    (ref * torch.tensor(v)).sum().backward()
    assert_close(x.grad, t.grad, what=f"{kind}_pool2d gradient {g}")


# --------------------------------------------------------------------------- pooling behaviour


def test_max_pool_ties_send_the_gradient_to_the_first_maximum(torch):
    a = np.ones((1, 1, 3, 3), np.float32)
    x, t = _leaf(a, ember), _leaf(a, torch)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    torch.nn.functional.max_pool2d(t, 2, stride=1).sum().backward()
    assert_close(x.grad, t.grad, what="max_pool2d tie gradient")
    np.testing.assert_array_equal(x.grad.array[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


@pytest.mark.parametrize("layout", ["nchw", "cnhw"])
def test_max_pool_2x2_fast_path_matches_pytorch_with_ties_in_either_memory_layout(layout, torch):
    """The 2×2/stride-2 kernel works on de-interleaved taps in the input's memory order; a conv's output
    arrives as a channel-major (CNHW) view, so both orders are checked, with many ties (first max wins)."""
    rng = np.random.default_rng(3)
    a = rng.integers(-2, 3, size=(3, 5, 6, 8)).astype(np.float32)
    if layout == "cnhw":
        a = np.ascontiguousarray(a.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    x, t = ember.from_numpy(a).requires_grad_(), _leaf(np.ascontiguousarray(a), torch)
    assert x.array.flags.c_contiguous == (layout == "nchw")
    out, ref = F.max_pool2d(x, 2), torch.nn.functional.max_pool2d(t, 2)
    assert_close(out, ref, what=f"max_pool2d 2x2 {layout}")
    v = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    (out * ember.tensor(v)).sum().backward()
    (ref * torch.tensor(v)).sum().backward()
    assert_close(x.grad, t.grad, what=f"max_pool2d 2x2 {layout} gradient")
    with ember.no_grad():
        assert_close(F.max_pool2d(ember.from_numpy(a), 2), ref, what=f"max_pool2d 2x2 {layout} inference")


def test_avg_pool_count_include_pad_changes_the_border_divisor():
    x = ember.ones(1, 1, 2, 2)
    incl = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=True)
    excl = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    np.testing.assert_allclose(incl.array[0, 0], np.full((2, 2), 4 / 9), rtol=1e-6)  # 4 ones over 9 cells
    np.testing.assert_allclose(excl.array[0, 0], np.ones((2, 2)), rtol=1e-6)  # 4 ones over 4 real cells


def test_adaptive_bins_follow_floor_and_ceil():
    a = np.random.default_rng(0).standard_normal((2, 3, 5, 7))
    out = F.adaptive_avg_pool2d(ember.tensor(a, dtype=ember.float64), (3, 4)).array
    ref = np.empty((2, 3, 3, 4))
    for i in range(3):
        for j in range(4):
            h0, h1 = (i * 5) // 3, -(-((i + 1) * 5) // 3)
            w0, w1 = (j * 7) // 4, -(-((j + 1) * 7) // 4)
            ref[:, :, i, j] = a[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    np.testing.assert_allclose(out, ref, rtol=1e-12)


def test_fractional_max_pool_is_deterministic_given_the_seed():
    x = ember.randn(2, 3, 9, 9)

    def pool():
        return F.fractional_max_pool2d(x, 2, output_ratio=(0.7, 0.7))

    ember.manual_seed(11)
    a = pool()
    ember.manual_seed(11)
    b = pool()
    c = pool()  # the generator moved on: new regions
    assert a.shape == (2, 3, 6, 6)
    np.testing.assert_array_equal(a.array, b.array)
    assert not np.array_equal(a.array, c.array)


def test_fractional_max_pool_gradcheck_with_regions_drawn_from_the_seed():
    x = ember.tensor(np.random.default_rng(0).permutation(2 * 2 * 7 * 7).reshape(2, 2, 7, 7) * 0.1,
                     dtype=ember.float64, requires_grad=True)

    def fn(t):
        ember.manual_seed(5)  # the same regions on every call, drawn by ember itself
        return F.fractional_max_pool2d(t, 3, output_size=(4, 3))

    gradcheck(fn, x)


def test_fractional_max_pool_indices_match_pytorch(torch):
    a = np.random.default_rng(1).permutation(2 * 3 * 8 * 7).reshape(2, 3, 8, 7).astype(np.float32)
    samples = np.random.default_rng(2).random((2, 3, 2)).astype(np.float32)
    out, idx = F.fractional_max_pool2d(ember.tensor(a), 3, output_size=(5, 4), return_indices=True,
                                       _random_samples=ember.tensor(samples))
    ref, ridx = torch.nn.functional.fractional_max_pool2d(torch.tensor(a), 3, output_size=(5, 4), return_indices=True,
                                                          _random_samples=torch.tensor(samples))
    np.testing.assert_array_equal(idx.array, ridx.numpy())
    np.testing.assert_array_equal(out.array, ref.numpy())


def test_conv_same_padding_keeps_the_size_for_odd_and_even_kernels():
    x = ember.randn(1, 2, 5, 6)
    for k in (1, 2, 3, 4):
        assert F.conv2d(x, ember.randn(3, 2, k, k), padding="same").shape == (1, 3, 5, 6)
    assert F.conv2d(x, ember.randn(3, 2, 3, 3), padding="valid").shape == (1, 3, 3, 4)


# --------------------------------------------------------------------------- errors name the problem


@pytest.mark.parametrize("call,message", [
    (lambda: F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(4, 2, 3, 3)),
     r"input of shape \(1, 3, 5, 5\) has 3 channels but weight of shape \(4, 2, 3, 3\)"),
    (lambda: F.conv2d(ember.randn(1, 4, 5, 5), ember.randn(3, 2, 3, 3), groups=2),
     r"weight of shape \(3, 2, 3, 3\) has 3 output channels, which groups=2 does not divide"),
    (lambda: F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(4, 3, 3, 3), ember.randn(5)),
     r"bias of shape \(5,\) does not match weight of shape \(4, 3, 3, 3\)"),
    (lambda: F.conv2d(ember.randn(1, 3, 2, 2), ember.randn(4, 3, 3, 3)),
     r"input of shape \(1, 3, 2, 2\) is too small for weight of shape \(4, 3, 3, 3\)"),
    (lambda: F.conv2d(ember.randn(3, 5, 5), ember.randn(4, 3, 3, 3)), r"4-D input.*\(3, 5, 5\)"),
    (lambda: F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(3, 3, 3, 3), groups=0), r"groups must be a positive"),
    (lambda: F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(3, 3, 3, 3), stride=0), r"stride \(0, 0\)"),
    (lambda: F.conv2d(ember.randn(1, 3, 5, 5), ember.randn(3, 3, 3, 3), padding="same", stride=2), r"stride 1"),
    (lambda: F.max_pool2d(ember.randn(1, 1, 4, 4), 2, padding=2), r"padding \(2, 2\) must be at most half"),
    (lambda: F.max_pool2d(ember.randn(1, 1, 2, 2), 3), r"\(1, 1, 2, 2\) is too small for a 3x3 window"),
    (lambda: F.avg_pool2d(ember.randn(4, 4), 2), r"4-D input.*\(4, 4\)"),
    (lambda: F.adaptive_avg_pool2d(ember.randn(1, 1, 4, 4), (2, 2, 2)), r"an int or a pair"),
    (lambda: F.fractional_max_pool2d(ember.randn(1, 1, 5, 5), 3, output_size=(4, 4)),
     r"output 4x4 with kernel 3x3 is too large for input 5x5"),
    (lambda: F.fractional_max_pool2d(ember.randn(1, 1, 5, 5), 2), r"output_size or output_ratio"),
])
def test_conv_and_pool_errors_are_sentences(call, message):
    with pytest.raises((RuntimeError, ValueError), match=message):
        call()
