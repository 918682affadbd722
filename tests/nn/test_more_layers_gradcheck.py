"""Float64 finite-difference checks of every Function added for the new layers (NOTES §10): per-sample norms,
transposed conv, resampling, the new activations, adaptive max pooling, index padding, embedding lookup and the
vector norm, through their layers and functions, w.r.t. the input and every parameter."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.diagnose.gradcheck import gradcheck
from tests.nn.test_gradcheck import _x, check_layer

LAYERS = [
    ("layernorm", lambda: nn.LayerNorm(4), (3, 4)),
    ("layernorm-2d-shape", lambda: nn.LayerNorm((2, 3)), (2, 2, 2, 3)),
    ("layernorm-no-affine", lambda: nn.LayerNorm(5, elementwise_affine=False), (2, 5)),
    ("groupnorm", lambda: nn.GroupNorm(2, 4), (2, 4, 2, 3)),
    ("groupnorm-1d-no-bias", lambda: nn.GroupNorm(3, 6, bias=False), (2, 6, 2)),
    ("instancenorm-affine", lambda: nn.InstanceNorm2d(2, affine=True), (2, 2, 3, 2)),
    ("instancenorm", lambda: nn.InstanceNorm1d(3), (2, 3, 4)),
    ("convtranspose", lambda: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1), (1, 2, 3, 3)),
    ("convtranspose-groups-dilated", lambda: nn.ConvTranspose2d(4, 2, 2, groups=2, dilation=2, bias=False),
     (1, 4, 3, 2)),
    ("convtranspose-op-ge-stride", lambda: nn.ConvTranspose2d(1, 2, 3, dilation=3, output_padding=2), (1, 1, 2, 3)),
    ("upsample-bilinear", lambda: nn.Upsample(scale_factor=1.5, mode="bilinear"), (1, 2, 3, 4)),
    ("upsample-bilinear-align", lambda: nn.Upsample(size=(5, 3), mode="bilinear", align_corners=True), (1, 2, 3, 4)),
    ("upsample-nearest-fractional", lambda: nn.Upsample(scale_factor=1.7), (1, 2, 3, 4)),
    ("upsample-linear-3d", lambda: nn.Upsample(scale_factor=2, mode="linear"), (2, 2, 3)),
    ("pixelshuffle", lambda: nn.PixelShuffle(2), (1, 8, 2, 3)),
    ("pixelunshuffle", lambda: nn.PixelUnshuffle(2), (1, 2, 4, 2)),
    ("adaptive-maxpool", lambda: nn.AdaptiveMaxPool2d((2, 3)), (1, 2, 5, 5)),
    ("reflectionpad", lambda: nn.ReflectionPad2d((1, 2, 2, 0)), (1, 2, 3, 4)),
    ("replicationpad", lambda: nn.ReplicationPad2d((2, 1, 0, 3)), (1, 2, 3, 4)),
    ("reflectionpad1d", lambda: nn.ReflectionPad1d(2), (2, 3)),
    ("glu", lambda: nn.GLU(1), (2, 4, 3)),
    ("softmin", lambda: nn.Softmin(1), (3, 4)),
]


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer(name, make, shape):
    check_layer(make(), _x(*shape))


@pytest.mark.parametrize("name", ["Hardswish", "Hardsigmoid", "Mish", "LogSigmoid"])
def test_activation(name):
    x = _x(3, 4, scale=3.0)
    x.array[np.abs(np.abs(x.array) - 3) < 1e-3] = 0.5  # keep away from the kinks at ±3
    check_layer(getattr(nn, name)(), x)


def test_threshold():
    x = _x(3, 4)
    x.array[np.abs(x.array - 0.2) < 1e-3] = 0.5
    check_layer(nn.Threshold(0.2, -1.0), x)


def test_circular_pad():
    gradcheck(lambda x: F.pad(x, (1, 2, 2, 1), mode="circular"), _x(1, 2, 3, 4))


def test_layer_norm_weight_and_bias_shapes_of_the_normalised_axes():
    w, b = _x(2, 3, seed=1), _x(2, 3, seed=2)
    gradcheck(lambda x, w, b: F.layer_norm(x, (2, 3), w, b), _x(2, 2, 3), w, b)


def test_instance_norm_with_running_stats_update():
    rm, rv = ember.zeros(3, dtype=ember.float64), ember.ones(3, dtype=ember.float64)
    gradcheck(lambda x: F.instance_norm(x, rm, rv, use_input_stats=True), _x(2, 3, 4))


def test_embedding():
    layer = nn.Embedding(5, 3).double()
    idx = ember.tensor([[0, 1, 4], [1, 1, 3]])
    gradcheck(lambda w: layer(idx), layer.weight)


@pytest.mark.parametrize("kw", [dict(padding_idx=1), dict(scale_grad_by_freq=True)], ids=str)
def test_embedding_gradient_options_are_the_true_gradient_modified_as_pytorch_does(kw):
    """padding_idx zeroes its row's gradient and scale_grad_by_freq divides each row's by its count in the
    batch: deliberate departures from the true derivative, checked against it."""
    idx = ember.tensor([[0, 1, 4], [1, 1, 3]])
    up = ember.tensor(np.random.default_rng(0).standard_normal((2, 3, 3)))
    plain, layer = nn.Embedding(5, 3).double(), nn.Embedding(5, 3, **kw).double()
    (plain(idx) * up).sum().backward()
    (layer(idx) * up).sum().backward()
    want = plain.weight.grad.array.copy()
    if "padding_idx" in kw:
        want[1] = 0
    else:
        want /= np.maximum(np.bincount(idx.array.ravel(), minlength=5), 1)[:, None]
    np.testing.assert_allclose(layer.weight.grad.array, want, rtol=1e-12)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_pairwise_distance(p):
    gradcheck(lambda a, b: F.pairwise_distance(a, b, p=p), _x(3, 4), _x(3, 4, seed=1))


def test_normalize_and_cosine_similarity():
    gradcheck(lambda a: F.normalize(a, dim=-1), _x(3, 4))
    gradcheck(lambda a, b: F.cosine_similarity(a, b, dim=1), _x(3, 4), _x(3, 4, seed=1))


def test_metric_losses():
    a, p, n = _x(4, 3), _x(4, 3, seed=1), _x(4, 3, seed=2)
    gradcheck(lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=3.0, swap=True), a, p, n)
    y = ember.tensor([1, -1, -1, 1])
    gradcheck(lambda a, p: F.cosine_embedding_loss(a, p, y, margin=-0.5), a, p)
