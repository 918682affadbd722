"""3-D pooling (max, average, adaptive average and max; functional and layers) against torch: outputs, indices
and input gradients on strided, padded, dilated, ceil-mode, count_include_pad=False, divisor_override, uneven
adaptive and unbatched geometries, ties and nan; float64 finite-difference checks; the error messages."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.diagnose import gradcheck
from tests.helpers import assert_close
from tests.nn.util import check_parity, randn


def _grad_parity(torch, fe, ft, x, what, rtol=1e-5, atol=1e-6):
    """Run fe on ember and ft on torch; compare the outputs (and indices, if any) and the input gradients."""
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = fe(xe), ft(xt)
    if isinstance(yt, tuple):
        (ye, ie), (yt, it) = ye, yt
        np.testing.assert_array_equal(ie.numpy(), it.numpy(), err_msg=f"{what} indices")
        assert ie.dtype == np.int64
    assert_close(ye, yt, rtol, atol, what=f"{what} output")
    up = randn(*yt.shape, seed=7)
    ye.backward(ember.tensor(up))
    yt.backward(torch.from_numpy(up))
    assert_close(xe.grad, xt.grad, rtol, atol, what=f"{what} input grad")


MAX_CASES = [
    ((2, 3, 6, 6, 6), dict(kernel_size=2)),
    ((2, 2, 7, 6, 9), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 7, 8, 6), dict(kernel_size=(3, 2, 2), stride=(2, 1, 2), dilation=(2, 2, 1))),
    ((2, 2, 7, 5, 7), dict(kernel_size=2, ceil_mode=True)),
    ((1, 2, 8, 7, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ((1, 3, 4, 5, 6), dict(kernel_size=3, stride=1, padding=1)),
    ((3, 5, 6, 7), dict(kernel_size=2, stride=(1, 2, 2))),  # unbatched
]


@pytest.mark.parametrize("return_indices", [False, True], ids=["values", "indices"])
@pytest.mark.parametrize("shape,kw", MAX_CASES, ids=str)
def test_max_pool3d_matches_torch(torch, shape, kw, return_indices):
    x = randn(*shape)
    x[..., :2, :2, :2] = 1.5  # a tie inside a window: the first maximum (row-major) wins in both
    _grad_parity(torch, lambda t: F.max_pool3d(t, return_indices=return_indices, **kw),
                 lambda t: torch.nn.functional.max_pool3d(t, return_indices=return_indices, **kw), x,
                 f"max_pool3d {shape} {kw}")


@pytest.mark.parametrize("shape,kw", MAX_CASES, ids=str)
def test_max_pool3d_layer_matches_torch(torch, shape, kw):
    check_parity(nn.MaxPool3d(**kw), torch.nn.MaxPool3d(**kw), torch, randn(*shape), what=f"MaxPool3d {kw}")
    layer, tlayer = nn.MaxPool3d(return_indices=True, **kw), torch.nn.MaxPool3d(return_indices=True, **kw)
    _grad_parity(torch, layer, tlayer, randn(*shape, seed=2), f"MaxPool3d indices {kw}")
    assert repr(nn.MaxPool3d(**kw)) == repr(torch.nn.MaxPool3d(**kw))


def test_max_pool3d_without_grad_matches(torch):
    """Inference takes a running maximum instead of recording the winning taps: the same values, nan included."""
    x = randn(2, 2, 6, 5, 7)
    x[1, 1, 2, 2, 3] = np.nan
    with ember.no_grad():
        ye = F.max_pool3d(ember.tensor(x), 3, 2, 1)
    yt = torch.nn.functional.max_pool3d(torch.tensor(x), 3, 2, 1)
    np.testing.assert_array_equal(ye.numpy(), yt.numpy())


def test_max_pool3d_nan_wins_as_in_torch(torch):
    x = randn(1, 2, 4, 4, 4)
    x[0, 0, 1, 0, 1] = np.nan
    x[0, 0, 0, 1, 0] = np.nan  # two nans in one window: torch points at the last one
    x[0, 1, 3, 3, 3] = np.nan
    for fe, ft in ((lambda t: F.max_pool3d(t, 2, return_indices=True),
                    lambda t: torch.nn.functional.max_pool3d(t, 2, return_indices=True)),
                   (lambda t: F.adaptive_max_pool3d(t, (2, 3, 1), return_indices=True),
                    lambda t: torch.nn.functional.adaptive_max_pool3d(t, (2, 3, 1), return_indices=True)),
                   (lambda t: F.adaptive_max_pool3d(t, 1, return_indices=True),
                    lambda t: torch.nn.functional.adaptive_max_pool3d(t, 1, return_indices=True))):
        (ye, ie), (yt, it) = fe(ember.tensor(x)), ft(torch.tensor(x))
        np.testing.assert_array_equal(ye.numpy(), yt.numpy())
        np.testing.assert_array_equal(ie.numpy(), it.numpy())


AVG_CASES = [
    ((2, 3, 6, 6, 6), dict(kernel_size=2)),
    ((2, 2, 7, 6, 9), dict(kernel_size=3, stride=2, padding=1)),
    ((2, 2, 7, 6, 9), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ((1, 2, 7, 5, 8), dict(kernel_size=(3, 2, 3), stride=(2, 2, 1), padding=(1, 1, 0), ceil_mode=True)),
    ((1, 2, 7, 5, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ((2, 2, 7, 5, 7), dict(kernel_size=2, ceil_mode=True)),
    ((1, 2, 5, 6, 7), dict(kernel_size=3, stride=2, padding=1, divisor_override=5)),
    ((1, 2, 5, 6, 7), dict(kernel_size=(2, 3, 2), ceil_mode=True, divisor_override=3)),
    ((3, 5, 6, 7), dict(kernel_size=2, stride=1, padding=1)),  # unbatched
]


@pytest.mark.parametrize("shape,kw", AVG_CASES, ids=str)
def test_avg_pool3d_matches_torch(torch, shape, kw):
    _grad_parity(torch, lambda t: F.avg_pool3d(t, **kw), lambda t: torch.nn.functional.avg_pool3d(t, **kw),
                 randn(*shape), f"avg_pool3d {shape} {kw}")
    check_parity(nn.AvgPool3d(**kw), torch.nn.AvgPool3d(**kw), torch, randn(*shape, seed=3), what=f"AvgPool3d {kw}")


ADAPTIVE_CASES = [
    ((2, 3, 6, 6, 6), 1),  # global
    ((2, 3, 6, 6, 6), (3, 2, 3)),  # even bins
    ((2, 2, 7, 6, 5), (3, 4, 2)),  # uneven, overlapping bins
    ((1, 2, 5, 7, 9), (4, 3, 5)),
    ((2, 2, 7, 6, 5), (None, 4, None)),  # None keeps the input size
    ((1, 2, 3, 4, 5), (5, 6, 7)),  # more bins than cells
    ((2, 9, 10, 11), (2, 3, 4)),  # unbatched
]


@pytest.mark.parametrize("shape,size", ADAPTIVE_CASES, ids=str)
def test_adaptive_avg_pool3d_matches_torch(torch, shape, size):
    _grad_parity(torch, lambda t: F.adaptive_avg_pool3d(t, size),
                 lambda t: torch.nn.functional.adaptive_avg_pool3d(t, size), randn(*shape), f"adaptive_avg {size}")
    check_parity(nn.AdaptiveAvgPool3d(size), torch.nn.AdaptiveAvgPool3d(size), torch, randn(*shape, seed=4),
                 what=f"AdaptiveAvgPool3d {size}")


@pytest.mark.parametrize("shape,size", ADAPTIVE_CASES, ids=str)
def test_adaptive_max_pool3d_matches_torch(torch, shape, size):
    x = randn(*shape)
    x[..., :2, :2, :2] = 0.5  # ties
    for ri in (False, True):
        _grad_parity(torch, lambda t: F.adaptive_max_pool3d(t, size, return_indices=ri),
                     lambda t: torch.nn.functional.adaptive_max_pool3d(t, size, return_indices=ri), x,
                     f"adaptive_max {size} indices={ri}")
    check_parity(nn.AdaptiveMaxPool3d(size), torch.nn.AdaptiveMaxPool3d(size), torch, randn(*shape, seed=5),
                 what=f"AdaptiveMaxPool3d {size}")
    _grad_parity(torch, nn.AdaptiveMaxPool3d(size, return_indices=True),
                 torch.nn.AdaptiveMaxPool3d(size, return_indices=True), randn(*shape, seed=6), "layer indices")


def test_adaptive_max_pool3d_both_scans_agree():
    """Few large bins scan each bin; many small ones scan the taps of the longest bin: the same answer."""
    x = np.random.default_rng(0).integers(0, 4, (2, 3, 9, 8, 7)).astype(np.float32)  # many ties
    from ember.ops.pool3d import adaptive_max_pool3d_indices

    for size in [(2, 3, 2), (5, 6, 4), (1, 8, 2)]:
        ref = np.empty((2, 3) + size, dtype=np.int64)
        for b in np.ndindex(*size):
            lo = [(b[a] * x.shape[2 + a]) // size[a] for a in range(3)]
            hi = [-(-((b[a] + 1) * x.shape[2 + a]) // size[a]) for a in range(3)]
            cell = x[:, :, lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
            i, j, k = np.unravel_index(cell.reshape(2, 3, -1).argmax(axis=2), cell.shape[2:])
            ref[(slice(None), slice(None)) + b] = ((lo[0] + i) * 8 + lo[1] + j) * 7 + lo[2] + k
        np.testing.assert_array_equal(adaptive_max_pool3d_indices(x, size), ref, err_msg=str(size))


# --------------------------------------------------------------------------- float64 finite differences

def _x(*shape, seed=0):
    # distinct values: a max has a unique winner, so finite differences see the same one
    v = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) / 7.0
    return ember.tensor(v, dtype=ember.float64, requires_grad=True)


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True),
                                dict(kernel_size=(2, 3, 2), stride=(2, 1, 2), ceil_mode=True)], ids=str)
def test_max_pool3d_gradcheck(kw):
    gradcheck(lambda x: F.max_pool3d(x, **kw), _x(2, 2, 4, 5, 4))
    gradcheck(lambda x: F.max_pool3d(x, return_indices=True, **kw)[0], _x(1, 2, 5, 4, 4, seed=1))


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=3, stride=2, padding=1, count_include_pad=False, ceil_mode=True),
                                dict(kernel_size=2, divisor_override=3)], ids=str)
def test_avg_pool3d_gradcheck(kw):
    gradcheck(lambda x: F.avg_pool3d(x, **kw), _x(2, 2, 4, 5, 4))


@pytest.mark.parametrize("size", [1, (2, 2, 2), (3, 2, 3), (2, None, 3)], ids=str)
def test_adaptive_pool3d_gradcheck(size):
    gradcheck(lambda x: F.adaptive_avg_pool3d(x, size), _x(2, 2, 4, 4, 5))
    gradcheck(lambda x: F.adaptive_max_pool3d(x, size), _x(2, 2, 4, 4, 5, seed=1))


def test_pool3d_unbatched_gradcheck():
    gradcheck(lambda x: nn.MaxPool3d(2, 1)(x) + nn.AvgPool3d(2, 1)(x), _x(2, 3, 4, 3))


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call,match", [
    (lambda: F.max_pool3d(ember.randn(1, 1, 4, 4), 2), r"too small.*0x2x2"),  # unbatched, D = 1
    (lambda: F.max_pool3d(ember.randn(4, 4, 4), 2), r"5-D \(N, C, D, H, W\) or 4-D \(C, D, H, W\).*\(4, 4, 4\)"),
    (lambda: F.max_pool3d(ember.randn(1, 1, 4, 4, 4), 2, padding=2), r"padding \(2, 2, 2\) must be at most half"),
    (lambda: F.avg_pool3d(ember.randn(1, 1, 4, 1, 4), 2), r"too small.*2x0x2"),
    (lambda: F.avg_pool3d(ember.randn(1, 1, 4, 4, 4), 2, divisor_override=0), r"divisor_override"),
    (lambda: F.max_pool3d(ember.randn(1, 1, 4, 4, 4), (2, 2)), r"triple"),
    (lambda: F.adaptive_avg_pool3d(ember.randn(1, 1, 4, 4, 4), (2, 2)), r"output_size must be an int or a triple"),
    (lambda: F.adaptive_max_pool3d(ember.randn(1, 1, 4, 4, 4), 0), r"output_size must be positive"),
])
def test_pool3d_errors(call, match):
    with pytest.raises((RuntimeError, ValueError), match=match):
        call()


@pytest.mark.parametrize("make,match", [
    (lambda: nn.MaxPool3d(2, padding=2), r"padding 2 should be at most half of kernel_size 2"),
    (lambda: nn.AvgPool3d((3, 3)), r"kernel_size must be an int or a triple"),
    (lambda: nn.AvgPool3d(2, divisor_override=0), r"divisor_override must be a positive integer"),
    (lambda: nn.AdaptiveAvgPool3d((2, 2)), r"output_size must be a positive int or a triple"),
    (lambda: nn.AdaptiveMaxPool3d(0), r"output_size"),
    (lambda: nn.MaxPool3d(2)(ember.randn(4, 4, 4)), r"\(N, C, D, H, W\) or \(C, D, H, W\).*\(4, 4, 4\)"),
])
def test_pool3d_layer_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()
