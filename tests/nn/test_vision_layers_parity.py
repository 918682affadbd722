"""Max pooling with indices and max unpooling (SegNet), the spatial transformer's affine_grid and grid_sample,
the 1-D conv and pooling layers, and the structured initialisers, against torch: outputs, indices and the
gradients of every input and parameter within float32 tolerance."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.init as init
from ember.nn.functional.conv import (adaptive_avg_pool1d, avg_pool1d, conv1d, max_pool1d, max_pool2d,
                                      max_unpool2d)
from ember.nn.functional.vision import affine_grid, grid_sample
from ember.nn.layers.conv import Conv1d
from ember.nn.layers.pooling import AdaptiveAvgPool1d, AvgPool1d, MaxPool1d, MaxPool2d, MaxUnpool2d
from tests.helpers import assert_close
from tests.nn.util import check_parity, copy_to_torch, randn


def _grads(ye, yt, torch, pairs, what, rtol=1e-4, atol=1e-5):
    """Backward one random upstream gradient through both; compare the gradients of each (ember, torch) pair."""
    up = np.random.default_rng(1).standard_normal(ye.shape).astype(np.float32)
    ye.backward(ember.tensor(up))
    yt.backward(torch.from_numpy(up))
    for i, (a, b) in enumerate(pairs):
        assert a.grad is not None, f"{what}: no gradient reached input {i}"
        assert_close(a.grad, b.grad, rtol, atol, what=f"{what} grad {i}")


# --------------------------------------------------------------------------- max pooling indices, unpooling

POOL_CASES = [
    ((2, 3, 8, 8), dict(kernel_size=2)),
    ((2, 2, 7, 9), dict(kernel_size=3, stride=2, padding=1)),
    ((1, 2, 9, 8), dict(kernel_size=(3, 2), stride=(2, 1), dilation=2)),
    ((2, 2, 7, 7), dict(kernel_size=2, ceil_mode=True)),
    ((1, 3, 6, 5), dict(kernel_size=3, stride=1, padding=1)),
]


@pytest.mark.parametrize("shape,kw", POOL_CASES, ids=str)
def test_max_pool2d_return_indices(torch, shape, kw):
    x = randn(*shape)
    x[0, 0, :2, :2] = 1.0  # a tie: the first maximum (row-major) wins in both
    x[-1, -1, -3:, -3:] = -2.0
    layer, tlayer = MaxPool2d(return_indices=True, **kw), torch.nn.MaxPool2d(return_indices=True, **kw)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ye, ie), (yt, it) = layer(xe), tlayer(xt)
    assert_close(ye, yt, what="output")
    np.testing.assert_array_equal(ie.array, it.numpy())
    assert ie.dtype == np.int64 and ye.dtype == np.float32
    _grads(ye, yt, torch, [(xe, xt)], "max_pool2d indices")
    fe, _ = max_pool2d(ember.tensor(x), return_indices=True, **kw)
    assert_close(fe, yt, what="functional output")


def test_max_pool2d_return_indices_unbatched(torch):
    x = randn(3, 6, 5)
    (ye, ie), (yt, it) = MaxPool2d(2, return_indices=True)(ember.tensor(x)), \
        torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    assert_close(ye, yt)
    np.testing.assert_array_equal(ie.array, it.numpy())


@pytest.mark.parametrize("shape,kw", [c for c in POOL_CASES if "dilation" not in c[1]], ids=str)
@pytest.mark.parametrize("sized", [False, True], ids=["default-size", "output_size"])
def test_max_unpool2d(torch, shape, kw, sized):
    x = randn(*shape)
    k, s, p = kw["kernel_size"], kw.get("stride"), kw.get("padding", 0)
    pt, it = torch.nn.functional.max_pool2d(torch.tensor(x), return_indices=True, **kw)
    # overlapping windows can share a maximum: duplicate indices, which PyTorch writes in no fixed order; their
    # pooled values agree, so unpooling the pooled map is well defined, other values only without duplicates
    dup = any(len(np.unique(plane)) < plane.size for plane in it.numpy().reshape(-1, it.shape[2] * it.shape[3]))
    pooled = pt.numpy() if dup else randn(*it.shape, seed=3)
    if not sized:
        default = [(it.shape[2 + d] - 1) * (s or k) - 2 * p + k for d in range(2)]
        if default[0] * default[1] <= it.max():
            pytest.skip("the default output is too small for these indices (ceil_mode overhang)")
    size = shape[2:] if sized else None
    layer, tlayer = MaxUnpool2d(k, s, p), torch.nn.MaxUnpool2d(k, s, p)
    pe, pt = ember.tensor(pooled, requires_grad=True), torch.tensor(pooled, requires_grad=True)
    ye, yt = layer(pe, ember.tensor(it.numpy()), output_size=size), tlayer(pt, it, output_size=size)
    assert_close(ye, yt, what="unpool output")
    _grads(ye, yt, torch, [(pe, pt)], "unpool")
    fe = max_unpool2d(ember.tensor(pooled), ember.tensor(it.numpy()), k, s, p, output_size=size)
    assert_close(fe, yt, what="functional unpool")
    assert repr(layer) == repr(tlayer)


def test_segnet_pool_unpool_roundtrip(torch):
    """The SegNet pattern: pool with indices, unpool with them to the pre-pooling size (odd here)."""
    x = randn(2, 4, 9, 7)
    pool, unpool = MaxPool2d(2, 2, return_indices=True), MaxUnpool2d(2, 2)
    tpool, tunpool = torch.nn.MaxPool2d(2, 2, return_indices=True), torch.nn.MaxUnpool2d(2, 2)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye = unpool(*pool(xe), output_size=xe.shape)
    yt = tunpool(*tpool(xt), output_size=xt.shape)
    assert ye.shape == x.shape
    assert_close(ye, yt)
    _grads(ye, yt, torch, [(xe, xt)], "segnet")


# --------------------------------------------------------------------------- spatial transformer

@pytest.mark.filterwarnings("ignore:Since version 1.3.0, affine_grid behavior")  # torch on unit-size grids
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 5, 7), (2, 1, 1, 4), (2, 2, 4, 1)], ids=str)
def test_affine_grid(torch, align_corners, size):
    theta = randn(2, 2, 3) * 0.7
    te, tt = ember.tensor(theta, requires_grad=True), torch.tensor(theta, requires_grad=True)
    ge = affine_grid(te, size, align_corners=align_corners)
    gt = torch.nn.functional.affine_grid(tt, size, align_corners=align_corners)
    assert ge.dtype == np.float32
    assert_close(ge, gt, what="grid")
    _grads(ge, gt, torch, [(te, tt)], "affine_grid")


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_grid_sample(torch, mode, padding_mode, align_corners):
    x = randn(2, 3, 5, 6)
    grid = randn(2, 4, 7, 2, seed=2) * 1.5  # many points outside [-1, 1] exercise the padding modes
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ge, gt = ember.tensor(grid, requires_grad=True), torch.tensor(grid, requires_grad=True)
    ye = grid_sample(xe, ge, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    yt = torch.nn.functional.grid_sample(xt, gt, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    assert ye.dtype == np.float32
    assert_close(ye, yt, what="grid_sample output")
    _grads(ye, yt, torch, [(xe, xt), (ge, gt)], f"grid_sample {mode}/{padding_mode}", atol=2e-5)


@pytest.mark.parametrize("align_corners", [False, True])
def test_spatial_transformer_end_to_end(torch, align_corners):
    """The STN tutorial's pattern: theta → affine_grid → grid_sample, gradients to the image and theta."""
    x = randn(2, 1, 8, 8)
    theta = np.array([[[0.9, -0.2, 0.1], [0.3, 1.1, -0.2]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], np.float32)
    identity = grid_sample(ember.tensor(x), affine_grid(ember.tensor(theta), x.shape, align_corners=align_corners),
                           align_corners=align_corners)
    np.testing.assert_allclose(identity.array[1], x[1], atol=1e-5)  # the identity transform reproduces the image
    # gradients away from pixel centres, where the bilinear weights have kinks and float rounding picks the side:
    # the identity, and "round" thetas such as 0.9, put points on them
    theta = np.array([[[0.913, -0.217, 0.1043], [0.3071, 1.093, -0.2113]],
                      [[0.8123, 0.1517, -0.0531], [-0.1093, 0.7071, 0.1237]]], np.float32)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    te, tt = ember.tensor(theta, requires_grad=True), torch.tensor(theta, requires_grad=True)
    ye = grid_sample(xe, affine_grid(te, xe.shape, align_corners=align_corners), align_corners=align_corners)
    yt = torch.nn.functional.grid_sample(xt, torch.nn.functional.affine_grid(tt, xt.shape, align_corners=align_corners),
                                         align_corners=align_corners)
    assert_close(ye, yt)
    _grads(ye, yt, torch, [(xe, xt), (te, tt)], "stn", atol=5e-5)


# --------------------------------------------------------------------------- 1-D layers

CONV1D_CASES = [
    ((3, 4, 3), {}, (2, 3, 10)),
    ((3, 4, 3), dict(stride=2, padding=1), (2, 3, 11)),
    ((4, 6, 3), dict(dilation=2, groups=2, bias=False), (2, 4, 12)),
    ((2, 3, 4), dict(padding="same"), (2, 2, 9)),
    ((2, 3, 3), dict(padding="same", dilation=3), (1, 2, 9)),
    ((2, 3, 5), dict(padding="valid"), (2, 2, 9)),
    ((4, 4, 3), dict(groups=4), (2, 4, 8)),
    ((2, 3, 3), {}, (2, 7)),  # unbatched
]


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's note on its own copy
@pytest.mark.parametrize("args,kw,shape", CONV1D_CASES, ids=str)
def test_conv1d(torch, args, kw, shape):
    layer, tlayer = Conv1d(*args, **kw), torch.nn.Conv1d(*args, **kw)
    copy_to_torch(layer, tlayer, torch)
    check_parity(layer, tlayer, torch, randn(*shape), what="Conv1d")
    assert repr(layer) == repr(tlayer)
    assert list(layer.state_dict()) == list(tlayer.state_dict())
    assert layer.weight.shape == tuple(tlayer.weight.shape)
    if len(shape) == 3:
        x, w = randn(*shape), np.array(layer.weight.array)
        b = None if layer.bias is None else ember.tensor(layer.bias.array)
        tb = None if tlayer.bias is None else tlayer.bias.detach()
        assert_close(conv1d(ember.tensor(x), ember.tensor(w), b, tlayer.stride, tlayer.padding, tlayer.dilation,
                            tlayer.groups),
                     torch.nn.functional.conv1d(torch.tensor(x), torch.tensor(w), tb, tlayer.stride, tlayer.padding,
                                                tlayer.dilation, tlayer.groups), what="F.conv1d")


def test_conv1d_default_init_matches_torch_bounds(torch):
    """Kaiming-uniform(a=√5) weight and U(±1/√fan_in) bias, fan_in = C_in/groups·k, as PyTorch's."""
    layer = Conv1d(8, 64, 5, groups=2)
    bound = 1 / np.sqrt(4 * 5)
    assert np.abs(layer.weight.array).max() <= bound and np.abs(layer.weight.array).max() > 0.9 * bound
    assert np.abs(layer.bias.array).max() <= bound and np.abs(layer.bias.array).max() > 0.8 * bound


POOL1D_CASES = [
    ("MaxPool1d", (3,), {}, (2, 3, 10)),
    ("MaxPool1d", (3, 2, 1), dict(dilation=1, ceil_mode=True), (2, 3, 10)),
    ("MaxPool1d", (2,), dict(stride=1, dilation=3), (2, 2, 9)),
    ("MaxPool1d", (2,), {}, (3, 8)),
    ("AvgPool1d", (3,), {}, (2, 3, 10)),
    ("AvgPool1d", (3, 2, 1), dict(count_include_pad=False, ceil_mode=True), (2, 3, 10)),
    ("AvgPool1d", (4, 1, 2), {}, (3, 9)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 10)),
    ("AdaptiveAvgPool1d", (1,), {}, (2, 3, 7)),
    ("AdaptiveAvgPool1d", (3,), {}, (3, 8)),
]


@pytest.mark.parametrize("name,args,kw,shape", POOL1D_CASES, ids=str)
def test_pool1d(torch, name, args, kw, shape):
    ours = {"MaxPool1d": MaxPool1d, "AvgPool1d": AvgPool1d, "AdaptiveAvgPool1d": AdaptiveAvgPool1d}[name]
    layer, tlayer = ours(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    check_parity(layer, tlayer, torch, randn(*shape), what=name)
    assert repr(layer) == repr(tlayer)


def test_pool1d_functional(torch):
    x = randn(2, 3, 11)
    tf = torch.nn.functional
    (ye, ie), (yt, it) = max_pool1d(ember.tensor(x), 3, 2, 1, return_indices=True), \
        tf.max_pool1d(torch.tensor(x), 3, 2, 1, return_indices=True)
    assert_close(ye, yt)
    np.testing.assert_array_equal(ie.array, it.numpy())
    ye, yt = MaxPool1d(3, 2, return_indices=True)(ember.tensor(x)), torch.nn.MaxPool1d(3, 2, return_indices=True)(
        torch.tensor(x))
    np.testing.assert_array_equal(ye[1].array, yt[1].numpy())
    assert_close(avg_pool1d(ember.tensor(x), 4, 3, 2, count_include_pad=False),
                 tf.avg_pool1d(torch.tensor(x), 4, 3, 2, count_include_pad=False))
    assert_close(adaptive_avg_pool1d(ember.tensor(x), 5), tf.adaptive_avg_pool1d(torch.tensor(x), 5))


# --------------------------------------------------------------------------- structured initialisers

def test_sparse_init_like_torch(torch):
    w = ember.zeros(10, 40)
    init.sparse_(w, 0.3, std=0.5)
    tw = torch.nn.init.sparse_(torch.zeros(10, 40), 0.3, std=0.5)
    np.testing.assert_array_equal((w.array == 0).sum(0), (tw.numpy() == 0).sum(0))  # ⌈0.3·10⌉ = 3 per column
    assert w.dtype == np.float32
    assert abs(w.array[w.array != 0].std() - 0.5) < 0.1


@pytest.mark.parametrize("shape", [(3, 5), (6, 2), (4, 2, 3, 3)], ids=str)
def test_orthogonal_like_torch(torch, shape):
    w = init.orthogonal_(ember.zeros(*shape), gain=1.5)
    tw = torch.nn.init.orthogonal_(torch.zeros(*shape), gain=1.5)
    for m in (w.array.reshape(shape[0], -1), tw.numpy().reshape(shape[0], -1)):
        small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(small, 2.25 * np.eye(len(small)), atol=1e-5)
    assert w.dtype == np.float32


@pytest.mark.parametrize("shape,groups", [((4, 4, 3, 3), 1), ((6, 2, 3), 3), ((2, 5, 3, 3, 3), 1),
                                          ((4, 3, 2, 2), 2)], ids=str)
def test_dirac_eye_equal_torch(torch, shape, groups):
    np.testing.assert_array_equal(init.dirac_(ember.ones(*shape), groups).array,
                                  torch.nn.init.dirac_(torch.ones(*shape), groups).numpy())
    np.testing.assert_array_equal(init.eye_(ember.ones(3, 5)).array, torch.nn.init.eye_(torch.ones(3, 5)).numpy())
