"""Float64 finite-difference checks (NOTES §10) of every layer and loss: input and parameter gradients."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.diagnose.gradcheck import gradcheck


def _x(*shape, seed=0, scale=1.0):
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape) * scale, dtype=ember.float64,
                        requires_grad=True)


def check_layer(layer, x, seed_each_call=False):
    """Gradcheck ``layer`` w.r.t. its input and every parameter (float64). With ``seed_each_call`` the
    global generator is reseeded before each forward so random layers draw the same mask every time."""
    layer = layer.double()
    params = [p for _, p in layer.named_parameters()]

    def fn(inp, *ps):
        if seed_each_call:
            ember.manual_seed(123)
        return layer(inp)

    gradcheck(fn, x, *params)


LAYERS = [
    ("linear", lambda: nn.Linear(4, 3), (2, 4)),
    ("linear-3d-nobias", lambda: nn.Linear(4, 3, bias=False), (2, 2, 4)),
    ("conv", lambda: nn.Conv2d(2, 3, 3, padding=1), (2, 2, 5, 4)),
    ("conv-strided-dilated", lambda: nn.Conv2d(2, 2, 3, stride=2, dilation=2, padding=2, bias=False), (1, 2, 6, 6)),
    ("conv-groups", lambda: nn.Conv2d(4, 4, 3, padding="same", groups=2), (1, 4, 4, 4)),
    ("maxpool", lambda: nn.MaxPool2d(3, 2, padding=1, ceil_mode=True), (1, 2, 6, 5)),
    ("avgpool", lambda: nn.AvgPool2d(3, 2, padding=1, count_include_pad=False), (1, 2, 5, 5)),
    ("adaptive-avgpool", lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 5)),
    ("batchnorm1d", lambda: nn.BatchNorm1d(3), (5, 3)),
    ("batchnorm1d-3d", lambda: nn.BatchNorm1d(2), (3, 2, 4)),
    ("batchnorm2d", lambda: nn.BatchNorm2d(2), (3, 2, 3, 3)),
    ("batchnorm2d-no-affine", lambda: nn.BatchNorm2d(2, affine=False), (3, 2, 2, 3)),
    ("lrn", lambda: nn.LocalResponseNorm(3, alpha=0.5, beta=0.75, k=1.0), (2, 5, 2, 2)),
    ("lrn-even", lambda: nn.LocalResponseNorm(4, alpha=0.3, beta=0.5, k=2.0), (1, 6, 3)),
    ("prelu-channels", lambda: nn.PReLU(3), (2, 3, 4)),
    ("prelu-shared", lambda: nn.PReLU(), (2, 3)),
    ("flatten", lambda: nn.Flatten(), (2, 2, 3)),
    ("unflatten", lambda: nn.Unflatten(1, (2, 3)), (2, 6)),
]


@pytest.mark.parametrize("name,make,shape", LAYERS, ids=[c[0] for c in LAYERS])
def test_layer_train(name, make, shape):
    check_layer(make(), _x(*shape))


@pytest.mark.parametrize("name", ["batchnorm1d", "batchnorm2d"])
def test_batchnorm_eval(name):
    _, make, shape = next(c for c in LAYERS if c[0] == name)
    layer = make().double()
    layer(_x(*shape, seed=7, scale=2.0))  # move the running statistics away from (0, 1)
    layer.eval()
    layer.weight.array[:] = np.linspace(0.5, 2.0, layer.num_features)
    check_layer(layer, _x(*shape))


ACTS = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus", "Hardtanh"]


@pytest.mark.parametrize("name", ACTS)
def test_activation(name):
    x = _x(3, 4, scale=2.0)
    x.array[np.abs(x.array) < 1e-3] = 0.5  # keep away from kinks
    x.array[np.abs(np.abs(x.array) - 1) < 1e-3] = 0.5
    check_layer(getattr(nn, name)(), x)


@pytest.mark.parametrize("layer", [nn.Softmax(1), nn.LogSoftmax(-1), nn.GELU("tanh"), nn.ELU(0.3)],
                         ids=["softmax", "logsoftmax", "gelu-tanh", "elu-0.3"])
def test_activation_options(layer):
    check_layer(layer, _x(3, 4))


@pytest.mark.parametrize("layer", [nn.Dropout(0.4), nn.Dropout2d(0.5), nn.StochasticDepth(0.5, "row"),
                                   nn.StochasticDepth(0.3, "batch"), nn.Linear(4, 3, dropconnect=0.5),
                                   nn.DropConnect(nn.Linear(4, 3), 0.3),
                                   nn.DropConnect(nn.Conv2d(4, 2, 1), 0.3),
                                   nn.FractionalMaxPool2d(2, output_size=3)],
                         ids=["dropout", "dropout2d", "depth-row", "depth-batch", "linear-dropconnect",
                              "dropconnect-linear", "dropconnect-conv", "fractional-maxpool"])
def test_random_layers_with_a_fixed_mask(layer):
    check_layer(layer, _x(2, 4, 5, 4) if not isinstance(layer, nn.Linear) and "Linear" not in repr(layer)
                else _x(3, 4), seed_each_call=True)


LOSSES = [
    ("cross_entropy", lambda x: F.cross_entropy(x, ember.tensor([0, 2, 1])), (3, 4)),
    ("cross_entropy-all-options", lambda x: F.cross_entropy(
        x, ember.tensor([0, 2, 1]), weight=ember.tensor([1.0, 2.0, 0.5, 1.0], dtype=ember.float64),
        ignore_index=2, label_smoothing=0.2), (3, 4)),
    ("cross_entropy-spatial-none", lambda x: F.cross_entropy(x, ember.tensor([[0, 1], [2, 2]]), reduction="none"),
     (2, 3, 2)),
    ("nll", lambda x: F.nll_loss(x, ember.tensor([0, 2, 1]), reduction="sum"), (3, 4)),
    ("mse", lambda x: F.mse_loss(x, ember.zeros(2, 3, dtype=ember.float64)), (2, 3)),
    ("l1", lambda x: F.l1_loss(x, ember.zeros(2, 3, dtype=ember.float64) + 0.01), (2, 3)),
    ("smooth_l1", lambda x: F.smooth_l1_loss(x, ember.zeros(2, 3, dtype=ember.float64), beta=0.5), (2, 3)),
    ("huber", lambda x: F.huber_loss(x, ember.zeros(2, 3, dtype=ember.float64), delta=0.5), (2, 3)),
    ("bce", lambda x: F.binary_cross_entropy(ember.sigmoid(x), ember.full((2, 3), 0.3, dtype=ember.float64)),
     (2, 3)),
    ("bce_logits", lambda x: F.binary_cross_entropy_with_logits(
        x, ember.full((2, 3), 0.7, dtype=ember.float64), pos_weight=ember.tensor([2.0, 1.0, 0.5],
                                                                                 dtype=ember.float64)), (2, 3)),
    ("kl_div", lambda x: F.kl_div(F.log_softmax(x, 1), ember.tensor([[0.2, 0.0, 0.8], [0.5, 0.25, 0.25]],
                                                                    dtype=ember.float64), reduction="batchmean"),
     (2, 3)),
    ("multi_margin", lambda x: F.multi_margin_loss(x, ember.tensor([0, 2]), p=2), (2, 3)),
]


@pytest.mark.parametrize("name,fn,shape", LOSSES, ids=[c[0] for c in LOSSES])
def test_loss(name, fn, shape):
    gradcheck(fn, _x(*shape))


def test_cross_entropy_soft_targets_both_inputs():
    t = ember.tensor(np.random.default_rng(0).dirichlet(np.ones(4), size=3), dtype=ember.float64,
                     requires_grad=True)
    gradcheck(lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), _x(3, 4), t)


@pytest.mark.parametrize("penalty", [F.l1_penalty, F.l2_penalty, lambda m: F.elastic_net_penalty(m, 0.3)])
def test_penalties(penalty):
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 2)).double()
    w = [p for p in model.parameters()]
    gradcheck(lambda *ps: penalty(model), *w)


def test_upsample():
    check_layer(nn.Upsample(scale_factor=(2, 3)), _x(1, 2, 3, 2))
