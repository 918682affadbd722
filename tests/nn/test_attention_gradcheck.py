"""Float64 finite-difference checks of scaled dot-product attention, multi-head attention, RMSNorm, the extra
activations (and their new Functions: Hardshrink, Softshrink, Softsign, RReLU) and channel shuffle, w.r.t. every
input and parameter."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.diagnose.gradcheck import gradcheck
from tests.nn.test_gradcheck import _x, check_layer


@pytest.mark.parametrize("kw", [dict(), dict(is_causal=True), dict(scale=0.7), dict(mask="bool"),
                                dict(mask="float")], ids=str)
def test_sdpa(kw):
    kw = dict(kw)
    mask = kw.pop("mask", None)
    q, k, v = _x(2, 3, 4, seed=1), _x(2, 5, 4, seed=2), _x(2, 5, 3, seed=3)
    inputs = [q, k, v]
    if mask == "bool":
        m = np.random.default_rng(4).random((3, 5)) > 0.4
        m[:, 0] = True
        kw["attn_mask"] = ember.tensor(m)
    if mask == "float":
        inputs.append(_x(3, 5, seed=5))
        gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), *inputs)
        return
    gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kw), *inputs)


@pytest.mark.parametrize("kw", [dict(), dict(bias=False), dict(batch_first=True)], ids=str)
def test_multihead_attention(kw):
    layer = nn.MultiheadAttention(4, 2, **kw).double()
    kpm = ember.tensor(np.array([[False, False, True], [False, False, False]]))
    am = ember.tensor(np.triu(np.ones((3, 3), bool), 1))
    params = [p for _, p in layer.named_parameters()]
    shape = (2, 3, 4) if kw.get("batch_first") else (3, 2, 4)
    q, k, v = _x(*shape, seed=1), _x(*shape, seed=2), _x(*shape, seed=3)

    def out(q, k, v, *ps):
        return layer(q, k, v, key_padding_mask=kpm, attn_mask=am)[0]

    def weights(q, k, v, *ps):
        return layer(q, k, v, key_padding_mask=kpm, average_attn_weights=False)[1]

    gradcheck(out, q, k, v, *params)
    gradcheck(weights, q, k, v, *params)


@pytest.mark.parametrize("make,shape", [(lambda: nn.RMSNorm(4), (3, 4)), (lambda: nn.RMSNorm((2, 3)), (2, 2, 3)),
                                        (lambda: nn.RMSNorm(5, eps=0.1, elementwise_affine=False), (2, 5))],
                         ids=["rmsnorm", "rmsnorm-2d", "rmsnorm-no-affine"])
def test_rmsnorm(make, shape):
    check_layer(make(), _x(*shape))


def test_rms_norm_weight():
    gradcheck(lambda x, w: F.rms_norm(x, (2, 3), w), _x(2, 2, 3), _x(2, 3, seed=1))


def _away_from(x, points, tol=1e-3):
    for p in points:
        x.array[np.abs(x.array - p) < tol] = 0.05
    return x


@pytest.mark.parametrize("make,kinks", [
    (lambda: nn.Softsign(), ()), (lambda: nn.CELU(0.6), ()), (lambda: nn.Hardshrink(0.4), (0.4, -0.4)),
    (lambda: nn.Softshrink(0.4), (0.4, -0.4)), (lambda: nn.Tanhshrink(), ()), (lambda: nn.Softmax2d(), ()),
    (lambda: nn.RReLU().eval(), ()), (lambda: nn.ChannelShuffle(2), ())], ids=lambda v: getattr(v, "__name__", ""))
def test_activation(make, kinks):
    check_layer(make(), _away_from(_x(2, 4, 3, 2, scale=1.5), kinks + (0.0,)))


def test_rrelu_training():
    """The random slopes are redrawn each call; reseeding makes the finite differences see the same ones."""
    check_layer(nn.RReLU(0.1, 0.5), _away_from(_x(3, 4), (0.0,)), seed_each_call=True)
