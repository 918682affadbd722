"""The public surface of attention, RMSNorm, the extra activations and channel shuffle: argument validation with a
sentence, shape errors that name the shapes, dtype preservation and reprs."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F


@pytest.mark.parametrize("make,message", [
    (lambda: nn.MultiheadAttention(0, 2), "embed_dim must be a positive integer"),
    (lambda: nn.MultiheadAttention(8, 0), "num_heads must be a positive integer"),
    (lambda: nn.MultiheadAttention(8, 3), r"embed_dim \(8\) must be divisible by num_heads \(3\)"),
    (lambda: nn.MultiheadAttention(8, 2, dropout=1.5), "dropout must be a probability"),
    (lambda: nn.RMSNorm(0), "normalized_shape must be a positive integer"),
    (lambda: nn.RMSNorm(()), "must name at least one dimension"),
    (lambda: nn.RMSNorm(4, eps=-1.0), "eps must be a positive number"),
    (lambda: nn.CELU(0.0), "alpha must be a non-zero number"),
    (lambda: nn.Hardshrink("a"), "lambd must be a number"),
    (lambda: nn.Softshrink(-0.5), "lambd must be non-negative"),
    (lambda: nn.RReLU(0.5, 0.1), r"lower \(0.5\) must not exceed upper \(0.1\)"),
    (lambda: nn.RReLU("a"), "lower must be a number"),
    (lambda: nn.ChannelShuffle(0), "groups must be a positive integer"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_constructor_validation(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make", [
    lambda: nn.MultiheadAttention(8, 2, kdim=4), lambda: nn.MultiheadAttention(8, 2, add_bias_kv=True),
    lambda: nn.MultiheadAttention(8, 2, add_zero_attn=True)])
def test_multihead_attention_unsupported_options_say_so(make):
    with pytest.raises(NotImplementedError, match="not supported"):
        make()


def _t(*shape):
    return ember.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


@pytest.mark.parametrize("call,message", [
    (lambda: F.scaled_dot_product_attention(_t(2, 4, 6), _t(2, 5, 7), _t(2, 5, 3)),
     r"query of shape \(2, 4, 6\) and key of shape \(2, 5, 7\)"),
    (lambda: F.scaled_dot_product_attention(_t(2, 4, 6), _t(2, 5, 6), _t(2, 3, 3)),
     r"key of shape \(2, 5, 6\) and value of shape \(2, 3, 3\)"),
    (lambda: F.scaled_dot_product_attention(_t(6), _t(5, 6), _t(5, 3)), r"at least 2 dimensions.*\(6,\)"),
    (lambda: F.scaled_dot_product_attention(_t(4, 6), _t(5, 6), _t(5, 3), attn_mask=ember.ones(3, 5, dtype=ember.bool)),
     r"attn_mask of shape \(3, 5\) does not broadcast to the attention scores' shape \(4, 5\)"),
    (lambda: F.scaled_dot_product_attention(_t(4, 6), _t(5, 6), _t(5, 3), attn_mask=ember.ones(4, 5, dtype=ember.int64)),
     "must be a bool or floating-point tensor"),
    (lambda: F.scaled_dot_product_attention(_t(4, 6), _t(5, 6), _t(5, 3), attn_mask=_t(4, 5), is_causal=True),
     "should not be set when is_causal=True"),
    (lambda: F.scaled_dot_product_attention(_t(4, 6), _t(5, 6), _t(5, 3), dropout_p=2.0), r"dropout_p must be in \[0, 1\]"),
    (lambda: nn.MultiheadAttention(8, 2)(_t(5, 3, 6), _t(5, 3, 6), _t(5, 3, 6)),
     r"expected embedding dimension 8, but the query of shape \(5, 3, 6\) has 6"),
    (lambda: nn.MultiheadAttention(8, 2)(_t(5, 3, 8), _t(4, 3, 8), _t(5, 3, 8)),
     r"key of shape \(4, 3, 8\) and value of shape \(5, 3, 8\)"),
    (lambda: nn.MultiheadAttention(8, 2)(_t(5, 3, 8), _t(5, 8), _t(5, 8)), "all be 3-D .* or all 2-D"),
    (lambda: nn.MultiheadAttention(8, 2)(_t(5, 3, 8), _t(5, 3, 8), _t(5, 3, 8), attn_mask=_t(5, 4)),
     r"2D attn_mask is \(5, 4\), but should be \(5, 5\)"),
    (lambda: nn.MultiheadAttention(8, 2)(_t(5, 3, 8), _t(5, 3, 8), _t(5, 3, 8), attn_mask=_t(3, 5, 5)),
     r"3D attn_mask is \(3, 5, 5\), but should be \(6, 5, 5\)"),
    (lambda: nn.MultiheadAttention(8, 2)(_t(5, 3, 8), _t(5, 3, 8), _t(5, 3, 8),
                                         key_padding_mask=ember.zeros(3, 4, dtype=ember.bool)),
     r"key_padding_mask of shape \(3, 4\) should be .* \(3, 5\)"),
    (lambda: nn.MultiheadAttention(8, 2)(_t(5, 3, 8), _t(5, 3, 8), _t(5, 3, 8), is_causal=True),
     "Need attn_mask if specifying the is_causal hint"),
    (lambda: nn.RMSNorm(4)(_t(3, 5)), r"input of shape \(3, 5\) does not end with normalized_shape \(4,\)"),
    (lambda: F.rms_norm(_t(3, 4), 4, _t(3)), r"weight of shape \(3,\) does not match the expected shape \(4,\)"),
    (lambda: nn.Softmax2d()(_t(3, 4)), r"3-D \(C, H, W\) or 4-D .* got shape \(3, 4\)"),
    (lambda: nn.ChannelShuffle(3)(_t(2, 4, 5)), r"channels \(4\) of the input of shape \(2, 4, 5\) must be divisible"),
    (lambda: nn.ChannelShuffle(2)(_t(2, 4)), r"at least 3 dimensions .* got shape \(2, 4\)"),
    (lambda: F.softshrink(_t(3), -1.0), "lambda must be greater or equal to 0"),
    (lambda: F.rrelu(_t(3), 0.5, 0.1), "lower bound"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_errors_name_the_problem(call, message):
    with pytest.raises((RuntimeError, ValueError), match=message):
        call()


def test_reprs():
    assert repr(nn.RMSNorm(4)) == "RMSNorm((4,), eps=None, elementwise_affine=True)"
    assert repr(nn.RMSNorm([2, 3], eps=1e-5, elementwise_affine=False)) == \
        "RMSNorm((2, 3), eps=1e-05, elementwise_affine=False)"
    assert repr(nn.CELU(0.5)) == "CELU(alpha=0.5)"
    assert repr(nn.Hardshrink()) == "Hardshrink(0.5)" and repr(nn.Softshrink(0.2)) == "Softshrink(0.2)"
    assert repr(nn.RReLU()) == "RReLU(lower=0.125, upper=0.3333333333333333)"
    assert repr(nn.Softsign()) == "Softsign()" and repr(nn.Tanhshrink()) == "Tanhshrink()"
    assert repr(nn.Softmax2d()) == "Softmax2d()" and repr(nn.ChannelShuffle(4)) == "ChannelShuffle(groups=4)"
    assert repr(nn.MultiheadAttention(8, 2)) == ("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear("
                                                  "in_features=8, out_features=8, bias=True)\n)")


def test_rmsnorm_state_and_no_bias():
    layer = nn.RMSNorm((2, 3))
    assert list(layer.state_dict()) == ["weight"] and layer.weight.shape == (2, 3)
    assert np.all(layer.weight.array == 1)
    assert list(nn.RMSNorm(3, elementwise_affine=False).state_dict()) == []


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.MultiheadAttention(4, 2), (3, 2, 4)), (lambda: nn.RMSNorm(4), (2, 4)), (nn.Softsign, (2, 4)),
    (nn.CELU, (2, 4)), (nn.Hardshrink, (2, 4)), (nn.Softshrink, (2, 4)), (nn.Tanhshrink, (2, 4)),
    (nn.Softmax2d, (2, 2, 2)), (nn.RReLU, (2, 4)), (lambda: nn.ChannelShuffle(2), (1, 4, 2))])
def test_float32_in_float32_out(make, shape):
    layer, x = make(), _t(*shape)
    y = layer(x, x, x)[0] if isinstance(layer, nn.MultiheadAttention) else layer(x)
    assert y.dtype == np.float32
    y64 = make().double()
    x64 = x.double()
    out = y64(x64, x64, x64)[0] if isinstance(y64, nn.MultiheadAttention) else y64(x64)
    assert out.dtype == np.float64


def test_channel_shuffle_order():
    x = ember.arange(6, dtype=ember.float32).reshape(1, 6, 1)
    assert F.channel_shuffle(x, 2).array.ravel().tolist() == [0, 3, 1, 4, 2, 5]
    assert F.channel_shuffle(x, 3).array.ravel().tolist() == [0, 2, 4, 1, 3, 5]


def test_new_names_exported():
    for name in ("MultiheadAttention", "RMSNorm", "Softsign", "CELU", "Hardshrink", "Softshrink", "Softmax2d",
                 "Tanhshrink", "RReLU", "ChannelShuffle"):
        assert name in nn.layers.__all__ and hasattr(nn, name)
    for name in ("scaled_dot_product_attention", "multi_head_attention_forward", "rms_norm", "softsign", "celu",
                 "hardshrink", "softshrink", "tanhshrink", "rrelu", "channel_shuffle"):
        assert callable(getattr(F, name))
