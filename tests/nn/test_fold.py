"""F.unfold / F.fold and nn.Unfold / nn.Fold: PyTorch's layout, adjointness, gradients, errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.diagnose import gradcheck
from tests.helpers import assert_close
from tests.ops.harness import noncontiguous

# (input shape, kwargs): batched and unbatched, int and pair arguments, overlapping, gapped and padded blocks
GEOMETRIES = [
    ((2, 3, 5, 6), dict(kernel_size=3)),
    ((2, 2, 7, 6), dict(kernel_size=(2, 3), dilation=(2, 1), padding=(1, 2), stride=(2, 3))),
    ((1, 2, 6, 6), dict(kernel_size=2, stride=2)),  # non-overlapping patches
    ((1, 1, 5, 5), dict(kernel_size=2, stride=3)),  # gaps between blocks: some pixels in no block
    ((2, 2, 4, 5), dict(kernel_size=(3, 1), padding=(2, 0), dilation=2)),  # padding wider than half the kernel
    ((3, 4, 5), dict(kernel_size=(2, 2), padding=1, stride=(1, 2))),  # unbatched (C, H, W)
]
IDS = [f"{len(s)}d-" + "-".join(f"{k[0]}{v}" for k, v in kw.items()) for s, kw in GEOMETRIES]


def _rand(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _folded_size(shape):
    return tuple(shape[-2:])


def _columns_shape(shape, kw):
    """The shape unfold gives for ``shape`` (worked out independently of ember's helpers)."""
    k, d, p, s = (kw.get(n, dflt) for n, dflt in (("kernel_size", 1), ("dilation", 1), ("padding", 0), ("stride", 1)))
    pair = (lambda v: v if isinstance(v, tuple) else (v, v))
    (kh, kw_), (dh, dw), (ph, pw), (sh, sw) = pair(k), pair(d), pair(p), pair(s)
    h, w = shape[-2:]
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw_ - 1) - 1) // sw + 1
    return tuple(shape[:-3]) + (shape[-3] * kh * kw_, ho * wo)


def test_layout_by_hand():
    """Row (c, i, j), column (y, x) holds x[c, y·s + i, x·s + j]: channel-major, then kernel rows, columns."""
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(1, 2, 3, 4)
    out = F.unfold(ember.tensor(x), kernel_size=(2, 2), stride=(1, 2)).numpy()
    assert out.shape == (1, 2 * 2 * 2, 2 * 2)
    for c in range(2):
        for i in range(2):
            for j in range(2):
                for y in range(2):
                    for xx in range(2):
                        assert out[0, (c * 2 + i) * 2 + j, y * 2 + xx] == x[0, c, y + i, 2 * xx + j]


@pytest.mark.parametrize("shape,kw", GEOMETRIES, ids=IDS)
def test_unfold_fold_are_adjoint(shape, kw):
    """⟨unfold(x), c⟩ = ⟨x, fold(c)⟩ for random x and c: fold is unfold's transpose."""
    x = _rand(shape)
    cols = _rand(_columns_shape(shape, kw), seed=1)
    u = F.unfold(ember.tensor(x), **kw).numpy()
    assert u.shape == cols.shape
    f = F.fold(ember.tensor(cols), _folded_size(shape), **kw).numpy()
    assert f.shape == x.shape
    np.testing.assert_allclose((u * cols).sum(), (x * f).sum(), rtol=1e-10)


def test_fold_of_unfold_averages_back_to_the_input():
    x = _rand((2, 3, 6, 7))
    kw = dict(kernel_size=3, padding=1)
    count = F.fold(F.unfold(ember.ones(2, 3, 6, 7, dtype=ember.float64), **kw), (6, 7), **kw)
    back = F.fold(F.unfold(ember.tensor(x), **kw), (6, 7), **kw) / count
    np.testing.assert_allclose(back.numpy(), x, rtol=1e-12)
    assert count.numpy().max() == 9 and count.numpy().min() == 4  # interior pixels in 9 blocks, corners in 4


def test_unfold_then_matmul_is_a_convolution():
    x = ember.tensor(_rand((2, 3, 6, 5)))
    w = ember.tensor(_rand((4, 3, 3, 2), seed=2))
    cols = F.unfold(x, (3, 2), padding=1, stride=2)
    out = (w.reshape(4, -1) @ cols).reshape(2, 4, 3, 3)
    np.testing.assert_allclose(out.numpy(), F.conv2d(x, w, padding=1, stride=2).numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape,kw", GEOMETRIES, ids=IDS)
def test_unfold_gradcheck(shape, kw):
    x = ember.tensor(_rand(shape), requires_grad=True)
    gradcheck(lambda t: F.unfold(t, **kw), x)


@pytest.mark.parametrize("shape,kw", GEOMETRIES, ids=IDS)
def test_fold_gradcheck(shape, kw):
    c = ember.tensor(_rand(_columns_shape(shape, kw)), requires_grad=True)
    gradcheck(lambda t: F.fold(t, _folded_size(shape), **kw), c)


def test_double_backward_path_through_both():
    """unfold's gradient is fold and fold's is unfold: a loss through both checks the chain (float64)."""
    x = ember.tensor(_rand((1, 2, 5, 5)), requires_grad=True)
    kw = dict(kernel_size=2, stride=1, padding=1)
    gradcheck(lambda t: F.fold(F.unfold(t, **kw) * 2.0, (5, 5), **kw), x)


def _parity(torch, fn_e, fn_t, array, noncontig=False):
    xe = ember.from_numpy(noncontiguous(array) if noncontig else array.copy()).requires_grad_()
    xt = torch.tensor(array, requires_grad=True)
    oe, ot = fn_e(xe), fn_t(xt)
    assert oe.dtype == np.float32
    assert_close(oe, ot, what="output")
    v = np.random.default_rng(3).standard_normal(tuple(ot.shape)).astype(np.float32)
    (oe * ember.tensor(v)).sum().backward()
    (ot * torch.tensor(v)).sum().backward()
    assert xe.grad.dtype == np.float32
    assert_close(xe.grad, xt.grad, what="input gradient")


@pytest.mark.parametrize("noncontig", [False, True], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("shape,kw", GEOMETRIES, ids=IDS)
def test_unfold_parity(torch, shape, kw, noncontig):
    _parity(torch, lambda t: F.unfold(t, **kw), lambda t: torch.nn.functional.unfold(t, **kw),
            _rand(shape, np.float32), noncontig)


@pytest.mark.parametrize("noncontig", [False, True], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("shape,kw", GEOMETRIES, ids=IDS)
def test_fold_parity(torch, shape, kw, noncontig):
    size = _folded_size(shape)
    _parity(torch, lambda t: F.fold(t, size, **kw), lambda t: torch.nn.functional.fold(t, size, **kw),
            _rand(_columns_shape(shape, kw), np.float32), noncontig)


def test_layers_parity_and_repr(torch):
    x = _rand((2, 3, 7, 8), np.float32)
    ue, ut = nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=2), torch.nn.Unfold((2, 3), dilation=(1, 2),
                                                                                     padding=1, stride=2)
    fe, ft = nn.Fold((7, 8), (2, 3), dilation=(1, 2), padding=1, stride=2), torch.nn.Fold((7, 8), (2, 3),
                                                                                          dilation=(1, 2), padding=1,
                                                                                          stride=2)
    _parity(torch, lambda t: fe(ue(t)), lambda t: ft(ut(t)), x)
    assert repr(ue) == repr(ut)
    assert repr(fe) == repr(ft)
    assert repr(nn.Fold(4, 2)) == repr(torch.nn.Fold(4, 2))
    assert list(ue.parameters()) == [] and list(fe.state_dict()) == []


def test_layers_accept_unbatched_input():
    x = ember.tensor(_rand((3, 5, 5)))
    cols = nn.Unfold(2)(x)
    assert cols.shape == (12, 16)
    assert nn.Fold((5, 5), 2)(cols).shape == (3, 5, 5)
    np.testing.assert_array_equal(cols.numpy(), F.unfold(x.unsqueeze(0), 2).numpy()[0])


def test_zero_batch():
    assert F.unfold(ember.zeros(0, 2, 4, 4), 2).shape == (0, 8, 9)
    assert F.fold(ember.zeros(0, 8, 9), 4, 2).shape == (0, 2, 4, 4)


def test_float32_stays_float32_and_no_grad_records_nothing():
    x = ember.randn(1, 2, 4, 4)
    out = F.unfold(x, 2)
    assert out.dtype == np.float32 and not out.requires_grad
    assert F.fold(out, 4, 2).dtype == np.float32


@pytest.mark.parametrize("call,match", [
    (lambda: F.unfold(ember.zeros(1, 2, 3, 3), 4), r"\(0, 0\) array of sliding blocks"),
    (lambda: F.unfold(ember.zeros(1, 2, 3, 3), 0), "kernel_size must be positive"),
    (lambda: F.unfold(ember.zeros(1, 2, 3, 3), 2, padding=-1), "padding must be non-negative"),
    (lambda: F.unfold(ember.zeros(1, 2, 3, 3), (2, 2, 2)), "kernel_size must be an int or a pair"),
    (lambda: F.unfold(ember.zeros(1, 2, 3, 3), 2, stride=0), "stride must be positive"),
    (lambda: F.unfold(ember.zeros(2, 3), 2), r"got shape \(2, 3\)"),
    (lambda: F.unfold(ember.zeros(1, 1, 2, 3, 3), 2), r"got shape \(1, 1, 2, 3, 3\)"),
    (lambda: F.fold(ember.zeros(1, 7, 16), 5, 2), "divisible by the product of kernel_size"),
    (lambda: F.fold(ember.zeros(1, 8, 15), 5, 2), "give 4 \\* 4 sliding blocks.*L = 15"),
    (lambda: F.fold(ember.zeros(8), 5, 2), r"got shape \(8,\)"),
    (lambda: F.fold(ember.zeros(1, 8, 16), (5, 5, 5), 2), "output_size must be an int or a pair"),
    (lambda: F.fold(ember.zeros(1, 8, 16), 5, 2, dilation=0), "dilation must be positive"),
])
def test_errors_name_the_bad_value(call, match):
    with pytest.raises(RuntimeError, match=match):
        call()


@pytest.mark.parametrize("make,match", [
    (lambda: nn.Unfold(0), "Unfold: kernel_size"),
    (lambda: nn.Unfold(2, padding=-1), "Unfold: padding"),
    (lambda: nn.Unfold((2, 2, 2)), "Unfold: kernel_size"),
    (lambda: nn.Fold((4, 4), 2, stride=0), "Fold: stride"),
    (lambda: nn.Fold(0, 2), "Fold: output_size"),
])
def test_layer_arguments_checked_when_built(make, match):
    with pytest.raises(ValueError, match=match):
        make()
