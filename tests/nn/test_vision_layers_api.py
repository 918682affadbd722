"""The new vision layers' and functions' argument checks, reprs, state and dtypes (no torch needed): max pooling
with indices and unpooling, affine_grid and grid_sample, the 1-D conv and pooling layers, and sparse_."""
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


def _t(*shape, dtype=np.float32):
    return ember.tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype))


REPRS = [
    (lambda: MaxPool2d(2, return_indices=True), "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, "
                                                "ceil_mode=False)"),
    (lambda: MaxUnpool2d(2), "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"),
    (lambda: MaxUnpool2d((3, 2), 1, 1), "MaxUnpool2d(kernel_size=(3, 2), stride=(1, 1), padding=(1, 1))"),
    (lambda: MaxPool1d(3, 2, 1), "MaxPool1d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)"),
    (lambda: AvgPool1d(3), "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"),
    (lambda: AdaptiveAvgPool1d(4), "AdaptiveAvgPool1d(output_size=4)"),
    (lambda: Conv1d(2, 4, 3), "Conv1d(2, 4, kernel_size=(3,), stride=(1,))"),
    (lambda: Conv1d(2, 4, 3, 2, 1, 2, 2, bias=False),
     "Conv1d(2, 4, kernel_size=(3,), stride=(2,), padding=(1,), dilation=(2,), groups=2, bias=False)"),
    (lambda: Conv1d(2, 4, 3, padding="same"), "Conv1d(2, 4, kernel_size=(3,), stride=(1,), padding=same)"),
]


@pytest.mark.parametrize("make,text", REPRS, ids=[r[1].split("(")[0] + str(i) for i, r in enumerate(REPRS)])
def test_repr(make, text):
    assert repr(make()) == text


def test_conv1d_state_and_dtype():
    layer = Conv1d(4, 6, 5, groups=2)
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.shape == (6, 2, 5) and layer.bias.shape == (6,)
    assert layer(_t(2, 4, 9)).dtype == np.float32
    assert layer(_t(2, 4, 9)).shape == (2, 6, 5)
    assert Conv1d(4, 6, 4, padding="same")(_t(2, 4, 9)).shape == (2, 6, 9)
    assert Conv1d(4, 6, 3, dtype=ember.float64).weight.dtype == np.float64


def test_pool_indices_and_unpool_shapes_dtypes():
    out, idx = MaxPool2d(2, return_indices=True)(_t(2, 3, 7, 6))
    assert out.shape == idx.shape == (2, 3, 3, 3) and out.dtype == np.float32 and idx.dtype == np.int64
    assert not idx.requires_grad
    up = MaxUnpool2d(2)(out, idx)
    assert up.shape == (2, 3, 6, 6) and up.dtype == np.float32
    assert MaxUnpool2d(2)(out, idx, output_size=(2, 3, 7, 6)).shape == (2, 3, 7, 6)
    assert MaxUnpool2d(2)(out[0], idx[0], output_size=(7, 6)).shape == (3, 7, 6)  # unbatched
    y, i = MaxPool1d(2, return_indices=True)(_t(3, 7))
    assert y.shape == i.shape == (3, 3)


def test_grid_ops_dtypes():
    theta = _t(2, 2, 3)
    grid = affine_grid(theta, (2, 3, 4, 5))
    assert grid.shape == (2, 4, 5, 2) and grid.dtype == np.float32
    assert grid_sample(_t(2, 3, 6, 6), grid).dtype == np.float32
    assert affine_grid(_t(1, 2, 3, dtype=np.float64), (1, 1, 2, 2)).dtype == np.float64


ERRORS = [
    (lambda: max_unpool2d(_t(1, 2, 3, 3), ember.tensor(np.zeros((1, 2, 3, 2), np.int64)), 2),
     r"indices of shape \(1, 2, 3, 2\) must have the input's shape \(1, 2, 3, 3\)"),
    (lambda: max_unpool2d(_t(1, 1, 2, 2), ember.tensor(np.full((1, 1, 2, 2), 16, np.int64)), 2),
     r"invalid max index 16 \(output volumes are of size 4x4\)"),
    (lambda: max_unpool2d(_t(1, 1, 2, 2), ember.tensor(np.zeros((1, 1, 2, 2), np.int64)), 2, output_size=(7, 4)),
     r"invalid output_size \(7, 4\): dimension 0 must lie strictly between 2 and 6"),
    (lambda: max_unpool2d(_t(1, 1, 2, 2), ember.tensor(np.zeros((1, 1, 2, 2), np.int64)), 2, output_size=(4,)),
     r"output_size must have 2, 3 or 4 entries"),
    (lambda: max_unpool2d(_t(2, 2), ember.tensor(np.zeros((2, 2), np.int64)), 2),
     r"expects a \(N, C, H, W\) or \(C, H, W\) input, got shape \(2, 2\)"),
    (lambda: max_pool2d(_t(3, 4), 2, return_indices=True), r"4-D input \(N, C, H, W\), got shape \(3, 4\)"),
    (lambda: MaxUnpool2d(0), "kernel_size must be a positive integer, got 0"),
    (lambda: MaxUnpool2d(2, padding=-1), "padding must be a non-negative integer, got -1"),
    (lambda: affine_grid(_t(2, 2, 2), (2, 1, 4, 4)), r"Nx2x3 .* got theta of shape \(2, 2, 2\)"),
    (lambda: affine_grid(_t(3, 2, 3), (2, 1, 4, 4)), r"theta of shape \(3, 2, 3\) has 3 matrices but .* N = 2"),
    (lambda: affine_grid(_t(1, 2, 3), (1, 4, 4)), r"size must be \(N, C, H, W\), got \(1, 4, 4\)"),
    (lambda: affine_grid(_t(1, 2, 3), (1, 1, 2, 4, 4)), "only 4-D sizes"),
    (lambda: grid_sample(_t(1, 1, 4, 4), _t(1, 2, 2, 2), mode="cubic"),
     r"mode must be one of \('bilinear', 'nearest'\), got 'cubic'"),
    (lambda: grid_sample(_t(1, 1, 4, 4), _t(1, 2, 2, 2), mode="bicubic"), "'bicubic' is not supported"),
    (lambda: grid_sample(_t(1, 1, 4, 4), _t(1, 2, 2, 2), padding_mode="wrap"),
     r"padding_mode must be one of \('zeros', 'border', 'reflection'\), got 'wrap'"),
    (lambda: grid_sample(_t(1, 1, 4, 4), _t(1, 2, 2, 3)), r"grid of shape \(N, H_out, W_out, 2\), got shape \(1, 2, 2, 3\)"),
    (lambda: grid_sample(_t(2, 1, 4, 4), _t(1, 2, 2, 2)),
     r"grid of shape \(1, 2, 2, 2\) and input of shape \(2, 1, 4, 4\) must have the same batch size"),
    (lambda: grid_sample(_t(4, 4), _t(1, 2, 2, 2)), r"4-D input \(N, C, H, W\), got shape \(4, 4\)"),
    (lambda: Conv1d(3, 4, 3, groups=2), r"in_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: Conv1d(2, 4, (3, 3)), r"kernel_size must be an int or a 1-tuple, got \(3, 3\)"),
    (lambda: Conv1d(2, 4, 3, padding="full"), "padding must be an int, 'same' or 'valid'; got 'full'"),
    (lambda: Conv1d(2, 4, 3, stride=2, padding="same"), "padding='same' is not supported for strided"),
    (lambda: Conv1d(2, 4, 3, padding_mode="circular"), "padding_mode 'circular' is not supported"),
    (lambda: Conv1d(2, 4, 3)(_t(1, 3, 8)), r"input of shape \(1, 3, 8\) has 3 channels, expected in_channels=2"),
    (lambda: Conv1d(2, 4, 3)(_t(1, 2, 3, 8)), r"\(N, C, L\) or \(C, L\) input, got shape \(1, 2, 3, 8\)"),
    (lambda: conv1d(_t(1, 2, 8), _t(4, 2, 1, 3)), r"3-D weight \(C_out, C_in/groups, k\), got shape \(4, 2, 1, 3\)"),
    (lambda: conv1d(_t(1, 3, 8), _t(4, 2, 3)), "has 3 channels but weight"),
    (lambda: MaxPool1d(2, padding=2), "padding 2 should be at most half of kernel_size 2"),
    (lambda: MaxPool1d(2)(_t(2, 2, 2, 4)), r"\(N, C, L\) or \(C, L\) input, got shape \(2, 2, 2, 4\)"),
    (lambda: AvgPool1d(0), "kernel_size must be a positive integer, got 0"),
    (lambda: AdaptiveAvgPool1d(0), "output_size must be a positive integer, got 0"),
    (lambda: AdaptiveAvgPool1d((2, 2)), r"output_size must be an int or a 1-tuple, got \(2, 2\)"),
    (lambda: max_pool1d(_t(2, 8), 2), r"3-D input \(N, C, L\), got shape \(2, 8\)"),
    (lambda: avg_pool1d(_t(1, 2, 8), (2, 2)), r"kernel_size must be an int or a 1-tuple for a 1-D op"),
    (lambda: adaptive_avg_pool1d(_t(1, 2, 8), 0), "output_size must be positive, got 0"),
    (lambda: init.sparse_(ember.zeros(2, 3, 4), 0.1), r"only tensors with 2 dimensions .* shape \(2, 3, 4\)"),
    (lambda: init.sparse_(ember.zeros(2, 3), 1.5), "sparsity must be between 0 and 1, got 1.5"),
]


@pytest.mark.parametrize("call,message", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors(call, message):
    with pytest.raises((RuntimeError, ValueError, NotImplementedError, TypeError), match=message):
        call()


def test_sparse_zeros_per_column():
    w = init.sparse_(ember.zeros(7, 50), 0.5)
    assert ((w.array == 0).sum(0) == 4).all()  # ⌈0.5·7⌉
    assert len({tuple(np.flatnonzero(col == 0)) for col in w.array.T}) > 10  # rows drawn per column
    assert 0.005 < w.array[w.array != 0].std() < 0.02
