"""Float64 finite-difference checks of the Functions added for unpooling, the spatial transformer and the 1-D
layers: max pooling with indices (a per-plane gather), max unpooling, grid_sample (bilinear w.r.t. input and
grid, nearest w.r.t. input) under every padding mode and both corner conventions, affine_grid w.r.t. theta,
and the 1-D conv and pooling layers w.r.t. their input and parameters."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.diagnose.gradcheck import gradcheck
from ember.nn.functional.conv import max_pool2d, max_unpool2d
from ember.nn.functional.vision import affine_grid, grid_sample
from ember.nn.layers.conv import Conv1d
from ember.nn.layers.pooling import AdaptiveAvgPool1d, AvgPool1d, MaxPool1d, MaxPool2d
from tests.nn.test_gradcheck import _x, check_layer


@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True)], ids=str)
def test_max_pool2d_with_indices(kw):
    gradcheck(lambda x: max_pool2d(x, return_indices=True, **kw)[0], _x(2, 2, 5, 6))


def test_max_unpool2d():
    x = _x(1, 3, 6, 6)
    _, idx = max_pool2d(x, 2, return_indices=True)
    gradcheck(lambda p: max_unpool2d(p, idx, 2, output_size=(7, 7)), _x(1, 3, 3, 3, seed=1))


def test_pool_unpool_chain():
    gradcheck(lambda x: max_unpool2d(*MaxPool2d(2, return_indices=True)(x), 2), _x(2, 2, 4, 6))


@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_bilinear(padding_mode, align_corners):
    x, grid = _x(2, 2, 4, 5), _x(2, 3, 4, 2, seed=1, scale=0.8)
    gradcheck(lambda a, g: grid_sample(a, g, "bilinear", padding_mode, align_corners), x, grid)


@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_nearest_input(padding_mode):
    grid = ember.tensor(np.random.default_rng(1).standard_normal((2, 3, 4, 2)) * 0.8, dtype=ember.float64)
    gradcheck(lambda a: grid_sample(a, grid, "nearest", padding_mode), _x(2, 2, 4, 5))


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_into_grid_sample(align_corners):
    theta = ember.tensor(np.array([[[0.913, -0.217, 0.1043], [0.3071, 1.093, -0.2113]]]), dtype=ember.float64,
                         requires_grad=True)
    gradcheck(lambda t: affine_grid(t, (1, 1, 3, 4), align_corners), theta)
    gradcheck(lambda a, t: grid_sample(a, affine_grid(t, (1, 2, 4, 3), align_corners), align_corners=align_corners),
              _x(1, 2, 5, 5), theta)


LAYERS = [
    ("conv1d", lambda: Conv1d(2, 3, 3, stride=2, padding=1), (2, 2, 7)),
    ("conv1d-same-dilated-groups", lambda: Conv1d(4, 2, 2, padding="same", dilation=3, groups=2), (1, 4, 6)),
    ("conv1d-unbatched", lambda: Conv1d(2, 2, 3, bias=False), (2, 5)),
    ("maxpool1d", lambda: MaxPool1d(3, 2, 1), (2, 2, 7)),
    ("avgpool1d", lambda: AvgPool1d(3, 2, 1, count_include_pad=False, ceil_mode=True), (2, 2, 8)),
    ("adaptiveavgpool1d", lambda: AdaptiveAvgPool1d(3), (2, 2, 7)),
]


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer(name, make, shape):
    check_layer(make(), _x(*shape))
