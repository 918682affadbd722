"""Attention, RMSNorm, the extra activations and channel shuffle against torch: same weights and inputs, outputs and
gradients of every input and parameter within float32 tolerance."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import assert_close
from tests.nn.util import check_parity, copy_to_torch, randn


def _pair(torch, x):
    return ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


# --------------------------------------------------------------------------- scaled dot-product attention

SDPA_CASES = [
    dict(),
    dict(is_causal=True),
    dict(scale=0.3),
    dict(mask="bool"),
    dict(mask="bool-broadcast"),
    dict(mask="float"),
    dict(mask="float", is_causal=False, scale=2.0),
]


@pytest.mark.parametrize("kw", SDPA_CASES, ids=str)
def test_scaled_dot_product_attention(torch, kw):
    kw = dict(kw)
    q, k, v = randn(2, 3, 4, 6, seed=1), randn(2, 3, 5, 6, seed=2), randn(2, 3, 5, 7, seed=3)
    mask = kw.pop("mask", None)
    em = tm = None
    if mask == "bool":
        m = np.random.default_rng(4).random((2, 3, 4, 5)) > 0.4
        m[..., 0] = True  # every query keeps at least one key
        em, tm = ember.tensor(m), torch.tensor(m)
    elif mask == "bool-broadcast":
        m = np.tril(np.ones((4, 5), bool), 1)
        em, tm = ember.tensor(m), torch.tensor(m)
    elif mask == "float":
        m = randn(3, 4, 5, seed=5)
        em, tm = _pair(torch, m)
    (eq, tq), (ek, tk), (ev, tv) = _pair(torch, q), _pair(torch, k), _pair(torch, v)
    ye = F.scaled_dot_product_attention(eq, ek, ev, attn_mask=em, **kw)
    yt = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm, **kw)
    assert ye.dtype == np.float32
    assert_close(ye, yt, what="output")
    up = randn(*ye.shape, seed=9)
    ye.backward(ember.tensor(up))
    yt.backward(torch.from_numpy(up))
    for name, a, b in (("query", eq, tq), ("key", ek, tk), ("value", ev, tv)):
        assert_close(a.grad, b.grad, what=f"{name} grad")
    if mask == "float":
        assert_close(em.grad, tm.grad, what="mask grad")


def test_sdpa_unbatched_and_gqa(torch):
    q, k, v = randn(4, 6, seed=1), randn(5, 6, seed=2), randn(5, 3, seed=3)
    ye = F.scaled_dot_product_attention(ember.tensor(q), ember.tensor(k), ember.tensor(v))
    yt = torch.nn.functional.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v))
    assert_close(ye, yt, what="unbatched")
    q, k, v = randn(1, 4, 3, 6, seed=1), randn(1, 2, 5, 6, seed=2), randn(1, 2, 5, 3, seed=3)
    ye = F.scaled_dot_product_attention(ember.tensor(q), ember.tensor(k), ember.tensor(v), enable_gqa=True)
    yt = torch.nn.functional.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v),
                                                          enable_gqa=True)
    assert_close(ye, yt, what="gqa")


def test_sdpa_dropout_drops_weights_and_keeps_expectation():
    q, k, v = (ember.tensor(randn(1, 8, 4, seed=s)) for s in (1, 2, 3))
    full = F.scaled_dot_product_attention(q, k, v)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not np.allclose(full.array, dropped.array)
    ones = ember.tensor(np.ones((1, 8, 1), np.float32))
    many = np.stack([F.scaled_dot_product_attention(q, k, ones, dropout_p=0.3).array for _ in range(400)])
    assert abs(many.mean() - 1.0) < 0.05  # each row of weights sums to 1 in expectation


# --------------------------------------------------------------------------- multi-head attention

def _mha_pair(torch, **kw):
    layer = nn.MultiheadAttention(8, 2, **kw)
    rng = np.random.default_rng(7)
    if layer.in_proj_bias is not None:  # non-zero biases so a swapped q/k/v bias shows
        layer.in_proj_bias.array[...] = rng.standard_normal(24).astype(np.float32)
        layer.out_proj.bias.array[...] = rng.standard_normal(8).astype(np.float32)
    tlayer = torch.nn.MultiheadAttention(8, 2, **kw)
    copy_to_torch(layer, tlayer, torch)
    return layer, tlayer


MHA_CASES = [
    dict(),
    dict(masks="kpm"),
    dict(masks="attn-bool"),
    dict(masks="both"),
    dict(masks="attn-float-3d"),
    dict(batch_first=True),
    dict(bias=False),
    dict(average_attn_weights=False),
    dict(need_weights=False, masks="both"),
    dict(is_causal=True),
    dict(cross=True),
    dict(unbatched=True, masks="kpm"),
]


@pytest.mark.parametrize("case", MHA_CASES, ids=str)
def test_multihead_attention(torch, case):
    case = dict(case)
    ctor = {k: case.pop(k) for k in ("batch_first", "bias") if k in case}
    layer, tlayer = _mha_pair(torch, **ctor)
    masks, cross, unbatched = case.pop("masks", None), case.pop("cross", False), case.pop("unbatched", False)
    L, S, N = 5, (6 if cross else 5), 3
    shape = lambda n: (n, 8) if unbatched else ((N, n, 8) if ctor.get("batch_first") else (n, N, 8))  # noqa: E731
    q = randn(*shape(L), seed=1)
    k, v = (randn(*shape(S), seed=2), randn(*shape(S), seed=3)) if cross else (q, q)
    ekw, tkw = {}, {}
    if masks in ("kpm", "both"):
        kpm = np.zeros((N, S), bool) if not unbatched else np.zeros(S, bool)
        if unbatched:
            kpm[-2:] = True
        else:  # a different padding per sample, so a batch/head mix-up shows
            kpm[0, -2:], kpm[1, -1] = True, True
        ekw["key_padding_mask"], tkw["key_padding_mask"] = ember.tensor(kpm), torch.tensor(kpm)
    if masks in ("attn-bool", "both") or case.get("is_causal"):
        am = np.triu(np.ones((L, S), bool), 1)
        ekw["attn_mask"], tkw["attn_mask"] = ember.tensor(am), torch.tensor(am)
    if masks == "attn-float-3d":
        am = randn(N * 2, L, S, seed=6)
        ekw["attn_mask"], tkw["attn_mask"] = ember.tensor(am), torch.tensor(am)
    ins = [_pair(torch, a) for a in ((q,) if not cross else (q, k, v))]
    e_in = [p[0] for p in ins] * (3 if not cross else 1)
    t_in = [p[1] for p in ins] * (3 if not cross else 1)
    (ye, we), (yt, wt) = layer(*e_in, **ekw, **case), tlayer(*t_in, **tkw, **case)
    assert ye.dtype == np.float32
    assert_close(ye, yt, what="output")
    if case.get("need_weights") is False:
        assert we is None and wt is None
        loss_e, loss_t = (ye * ember.tensor(randn(*ye.shape, seed=9))).sum(), \
            (yt * torch.tensor(randn(*ye.shape, seed=9))).sum()
    else:
        assert_close(we, wt, what="attention weights")
        up_w = randn(*we.shape, seed=8)
        loss_e = (ye * ember.tensor(randn(*ye.shape, seed=9))).sum() + (we * ember.tensor(up_w)).sum()
        loss_t = (yt * torch.tensor(randn(*ye.shape, seed=9))).sum() + (wt * torch.tensor(up_w)).sum()
    loss_e.backward()
    loss_t.backward()
    for i, ((a, b)) in enumerate(ins):
        assert_close(a.grad, b.grad, what=f"input {i} grad")
    tparams = dict(tlayer.named_parameters())
    for name, p in layer.named_parameters():
        assert_close(p.grad, tparams[name].grad, what=f"grad of {name}")


def test_multihead_attention_api_matches_torch(torch):
    layer, tlayer = nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2)
    assert repr(layer) == repr(tlayer)
    assert list(layer.state_dict()) == list(tlayer.state_dict())
    assert [n for n, _ in layer.named_parameters()] == [n for n, _ in tlayer.named_parameters()]
    nb = nn.MultiheadAttention(8, 4, bias=False)
    assert list(nb.state_dict()) == list(torch.nn.MultiheadAttention(8, 4, bias=False).state_dict())


def test_multihead_attention_default_init():
    layer = nn.MultiheadAttention(16, 4)
    bound = np.sqrt(6.0 / (16 + 48))  # Xavier-uniform over the stacked (3E, E) weight
    w = layer.in_proj_weight.array
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert not layer.in_proj_bias.array.any() and not layer.out_proj.bias.array.any()
    assert np.abs(layer.out_proj.weight.array).max() <= 1 / 4  # Linear's default U(±1/√in)


def test_multihead_attention_dropout_eval_is_deterministic():
    layer = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = ember.tensor(randn(4, 2, 8))
    a, b = layer(x, x, x)[0], layer(x, x, x)[0]
    assert not np.allclose(a.array, b.array)
    layer.eval()
    assert np.allclose(layer(x, x, x)[0].array, layer(x, x, x)[0].array)


# --------------------------------------------------------------------------- RMSNorm

RMS_CASES = [
    ((8,), {}, (4, 8)),
    (((3, 5),), {}, (2, 4, 3, 5)),
    ((5,), dict(elementwise_affine=False), (2, 3, 5)),
    ((5,), dict(eps=1e-3), (3, 5)),
    ([6], dict(eps=0.5), (2, 6)),
]


@pytest.mark.parametrize("args,kw,shape", RMS_CASES, ids=str)
def test_rmsnorm(torch, args, kw, shape):
    layer, tlayer = nn.RMSNorm(*args, **kw), torch.nn.RMSNorm(*args, **kw)
    for p in layer.parameters():
        p.array[...] = np.random.default_rng(5).standard_normal(p.shape).astype(np.float32)
    copy_to_torch(layer, tlayer, torch)
    check_parity(layer, tlayer, torch, randn(*shape) * 3 + 1, what="RMSNorm")
    assert repr(layer) == repr(tlayer)
    assert list(layer.state_dict()) == list(tlayer.state_dict())


def test_rms_norm_function_small_values_use_dtype_eps(torch):
    x, w = randn(3, 4) * 1e-3, randn(4, seed=2)
    for dt in (np.float32, np.float64):
        ye = F.rms_norm(ember.tensor(x.astype(dt)), (4,), ember.tensor(w.astype(dt)))
        yt = torch.nn.functional.rms_norm(torch.tensor(x.astype(dt)), (4,), torch.tensor(w.astype(dt)))
        assert ye.dtype == dt
        assert_close(ye, yt, what=str(dt))


# --------------------------------------------------------------------------- activations and channel shuffle

ACT_CASES = [
    ("Softsign", (), {}),
    ("CELU", (), {}),
    ("CELU", (0.5,), {}),
    ("CELU", (2.0,), {}),
    ("Hardshrink", (), {}),
    ("Hardshrink", (1.2,), {}),
    ("Softshrink", (), {}),
    ("Softshrink", (0.8,), {}),
    ("Tanhshrink", (), {}),
    ("Softmax2d", (), {}),
    ("RReLU", (), {}),
    ("RReLU", (0.1, 0.6), {}),
    ("ChannelShuffle", (2,), {}),
    ("ChannelShuffle", (3,), {}),
]


@pytest.mark.parametrize("name,args,kw", ACT_CASES, ids=lambda v: str(v))
def test_activations(torch, name, args, kw):
    layer, tlayer = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    layer.eval(), tlayer.eval()  # RReLU: the deterministic slope
    x = randn(2, 6, 3, 4) * 2
    x[np.abs(np.abs(x) - 0.5) < 1e-2] = 0.1  # away from the shrink kinks
    check_parity(layer, tlayer, torch, x, what=name)
    assert repr(layer) == repr(tlayer)


@pytest.mark.parametrize("fn,kw", [("softsign", {}), ("celu", dict(alpha=0.7)), ("hardshrink", dict(lambd=0.3)),
                                   ("softshrink", dict(lambd=0.3)), ("tanhshrink", {}),
                                   ("rrelu", dict(lower=0.2, upper=0.4)), ("channel_shuffle", dict(groups=2))],
                         ids=str)
def test_activation_functions(torch, fn, kw):
    x = randn(3, 4, 5) * 2
    x[np.abs(np.abs(x) - 0.3) < 1e-2] = 0.1
    xe, xt = _pair(torch, x)
    ye, yt = getattr(F, fn)(xe, **kw), getattr(torch.nn.functional, fn)(xt, **kw)
    assert ye.dtype == np.float32
    assert_close(ye, yt, what=fn)
    up = randn(*ye.shape, seed=3)
    ye.backward(ember.tensor(up)), yt.backward(torch.from_numpy(up))
    assert_close(xe.grad, xt.grad, what=f"{fn} grad")


def test_rrelu_training_draws_slopes_in_range():
    layer = nn.RReLU(0.1, 0.3)
    x = ember.tensor(-np.abs(randn(2000)) - 0.1, requires_grad=True)
    y = layer(x)
    slopes = y.array / x.array
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6 and slopes.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.array, slopes, rtol=1e-5)
    pos = ember.tensor(np.abs(randn(10)) + 0.1)
    np.testing.assert_array_equal(layer(pos).array, pos.array)
    layer.eval()
    np.testing.assert_allclose(layer(x).array / x.array, 0.2, rtol=1e-5)
