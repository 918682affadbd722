"""The layers added for PyTorch users (per-sample norms, transposed conv, interpolation, activations, adaptive max
pooling, padding, pixel shuffle, embeddings, parameter containers, distances and their losses) against torch:
same weights and inputs, outputs and gradients of the input and every parameter within float32 tolerance."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import assert_close
from tests.nn.util import check_parity, copy_to_torch, randn


def _randomise(layer):
    """Non-trivial affine parameters, so a swapped γ/β or a missing scale shows."""
    rng = np.random.default_rng(5)
    for p in layer.parameters():
        p.array[...] = rng.standard_normal(p.shape).astype(p.dtype)
    return layer


# --------------------------------------------------------------------------- normalisation

NORM_CASES = [
    ("LayerNorm", (8,), {}, (4, 8)),
    ("LayerNorm", ((3, 5),), {}, (2, 4, 3, 5)),
    ("LayerNorm", (5,), dict(elementwise_affine=False), (2, 3, 5)),
    ("LayerNorm", (5,), dict(bias=False, eps=1e-3), (3, 5)),
    ("GroupNorm", (2, 6), {}, (3, 6, 4, 5)),
    ("GroupNorm", (3, 6), dict(affine=False), (2, 6, 7)),
    ("GroupNorm", (1, 4), dict(bias=False), (2, 4, 3, 3)),
    ("GroupNorm", (4, 4), {}, (2, 4, 5)),
    ("InstanceNorm2d", (3,), {}, (2, 3, 5, 4)),
    ("InstanceNorm2d", (3,), dict(affine=True), (2, 3, 5, 4)),
    ("InstanceNorm2d", (3,), dict(affine=True), (3, 5, 4)),  # unbatched
    ("InstanceNorm1d", (3,), dict(affine=True, bias=False), (2, 3, 6)),
]


@pytest.mark.parametrize("name,args,kw,shape", NORM_CASES, ids=lambda v: str(v))
def test_per_sample_norms(torch, name, args, kw, shape):
    layer, tlayer = _randomise(getattr(nn, name)(*args, **kw)), getattr(torch.nn, name)(*args, **kw)
    copy_to_torch(layer, tlayer, torch)
    check_parity(layer, tlayer, torch, randn(*shape) * 3 + 2, what=name)
    assert repr(layer) == repr(tlayer)
    assert list(layer.state_dict()) == list(tlayer.state_dict())


@pytest.mark.parametrize("name,args", [("LayerNorm", (64,)), ("GroupNorm", (2, 4))])
def test_norms_float32_accurate_with_a_large_mean(torch, name, args):
    """A mean of 10⁴ over a spread of 1: the float32 result stays within 1e-5 of float64 (PyTorch's float32
    one is off by ~1e-3 here), because the mean is accumulated in float64 and subtracted in two parts."""
    x = randn(4, 4, 16) + 1e4
    x = x.reshape(4, 64) if name == "LayerNorm" else x
    truth = getattr(torch.nn, name)(*args).double()(torch.tensor(x, dtype=torch.float64)).detach().numpy()
    ours = getattr(nn, name)(*args)(ember.tensor(x))
    assert ours.dtype == np.float32
    assert np.abs(ours.array - truth).max() < 1e-5


def test_instance_norm_running_stats_train_and_eval(torch):
    layer = nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.3)
    tlayer = torch.nn.InstanceNorm2d(3, affine=True, track_running_stats=True, momentum=0.3)
    _randomise(layer)
    copy_to_torch(layer, tlayer, torch)
    for step in range(3):
        check_parity(layer, tlayer, torch, randn(2, 3, 4, 5, seed=step) * (step + 1) + step, what=f"step {step}")
    assert_close(layer.running_mean, tlayer.running_mean, what="running_mean")
    assert_close(layer.running_var, tlayer.running_var, what="running_var")
    assert int(layer.num_batches_tracked.item()) == int(tlayer.num_batches_tracked)
    layer.eval(), tlayer.eval()
    check_parity(layer, tlayer, torch, randn(2, 3, 4, 5, seed=9), what="eval")


# --------------------------------------------------------------------------- transposed convolution

CONVT_CASES = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(in_channels=4, out_channels=2, kernel_size=2, stride=2, bias=False),  # the U-Net upsampler
    dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2),
    dict(in_channels=4, out_channels=4, kernel_size=3, stride=2, groups=4),  # depthwise
    dict(in_channels=2, out_channels=3, kernel_size=(3, 2), stride=(1, 3), padding=(2, 0), dilation=(2, 1)),
    dict(in_channels=2, out_channels=3, kernel_size=3, dilation=3, output_padding=2),  # output_padding ≥ stride
    dict(in_channels=3, out_channels=2, kernel_size=4, stride=3, padding=1, output_padding=2),
]


@pytest.mark.parametrize("kw", CONVT_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_conv_transpose2d(torch, kw):
    layer, tlayer = nn.ConvTranspose2d(**kw), torch.nn.ConvTranspose2d(**kw)
    copy_to_torch(layer, tlayer, torch)
    check_parity(layer, tlayer, torch, randn(2, kw["in_channels"], 5, 6), what=str(kw))
    assert repr(layer) == repr(tlayer)


def test_conv_transpose2d_output_size_and_unbatched(torch):
    layer, tlayer = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1), torch.nn.ConvTranspose2d(3, 2, 3, stride=2,
                                                                                                padding=1)
    copy_to_torch(layer, tlayer, torch)
    x = randn(1, 3, 4, 4)
    for size in ((7, 7), (8, 8), (7, 8)):
        ours, theirs = layer(ember.tensor(x), output_size=size), tlayer(torch.tensor(x), output_size=size)
        assert_close(ours, theirs, what=str(size))
    check_parity(layer, tlayer, torch, randn(3, 4, 4))


def test_conv_transpose2d_is_the_adjoint_of_conv2d():
    """<conv(x), y> = <x, conv_transpose(y)> for the same weight: the defining property."""
    w = ember.randn(4, 3, 3, 3)
    x, y = ember.randn(2, 3, 9, 8), ember.randn(2, 4, 5, 4)
    lhs = (F.conv2d(x, w, stride=2, padding=1) * y).sum().item()
    rhs = (x * F.conv_transpose2d(y, w, stride=2, padding=1, output_padding=(0, 1))).sum().item()
    assert lhs == pytest.approx(rhs, rel=1e-4)


def test_conv_transpose2d_default_init_matches_torch_bounds():
    """PyTorch's fan_in for a transposed conv is C_out/groups·k·k (the weight's dim 1): bound 1/√fan_in."""
    layer = nn.ConvTranspose2d(64, 2, 3)
    bound = 1 / np.sqrt(2 * 9)
    assert np.abs(layer.weight.array).max() <= bound and np.abs(layer.weight.array).max() > 0.8 * bound
    assert np.abs(layer.bias.array).max() <= bound


# --------------------------------------------------------------------------- interpolation

INTERP_CASES = [
    dict(scale_factor=2, mode="nearest"), dict(scale_factor=1.7, mode="nearest"), dict(size=(3, 11), mode="nearest"),
    dict(scale_factor=(0.5, 2.3), mode="nearest-exact"), dict(scale_factor=3, mode="nearest"),
    dict(scale_factor=2, mode="bilinear"), dict(scale_factor=2, mode="bilinear", align_corners=True),
    dict(size=(8, 4), mode="bilinear"), dict(size=(8, 4), mode="bilinear", align_corners=True),
    dict(scale_factor=(1.5, 0.6), mode="bilinear"), dict(scale_factor=1.5, mode="bilinear", recompute_scale_factor=True),
    dict(size=(1, 1), mode="bilinear", align_corners=True), dict(size=(3, 4), mode="area"),
]


@pytest.mark.parametrize("kw", INTERP_CASES, ids=str)
def test_interpolate(torch, kw):
    x = randn(2, 3, 5, 7)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = F.interpolate(xe, **kw), torch.nn.functional.interpolate(xt, **kw)
    assert_close(ye, yt, what="output")
    up = randn(*yt.shape, seed=1)
    ye.backward(ember.tensor(up)), yt.backward(torch.tensor(up))
    assert_close(xe.grad, xt.grad, what="input grad")
    assert ye.dtype == np.float32


@pytest.mark.parametrize("mode", ["nearest", "linear", "area"])
def test_interpolate_3d(torch, mode):
    x = randn(2, 3, 6)
    check_parity(nn.Upsample(scale_factor=2.5, mode=mode), torch.nn.Upsample(scale_factor=2.5, mode=mode), torch, x)


@pytest.mark.parametrize("make", [
    lambda nn_: nn_.Upsample(scale_factor=2, mode="bilinear"),
    lambda nn_: nn_.Upsample(size=(9, 5), mode="bilinear", align_corners=True),
    lambda nn_: nn_.UpsamplingBilinear2d(scale_factor=2),
    lambda nn_: nn_.UpsamplingNearest2d(size=(8, 6)),
    lambda nn_: nn_.Upsample(scale_factor=1.5),
], ids=["bilinear", "bilinear-align", "UpsamplingBilinear2d", "UpsamplingNearest2d", "nearest-1.5"])
def test_upsample_layers(torch, make):
    layer, tlayer = make(nn), make(torch.nn)
    check_parity(layer, tlayer, torch, randn(2, 3, 4, 3))
    assert repr(layer) == repr(tlayer)


def test_pixel_shuffle_and_unshuffle(torch):
    check_parity(nn.PixelShuffle(2), torch.nn.PixelShuffle(2), torch, randn(2, 12, 3, 4))
    check_parity(nn.PixelShuffle(3), torch.nn.PixelShuffle(3), torch, randn(9, 2, 3))
    check_parity(nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2), torch, randn(2, 3, 4, 6))
    assert repr(nn.PixelShuffle(2)) == repr(torch.nn.PixelShuffle(2))
    assert repr(nn.PixelUnshuffle(2)) == repr(torch.nn.PixelUnshuffle(2))


# --------------------------------------------------------------------------- activations

ACTIVATIONS = [("Hardswish", {}), ("Hardsigmoid", {}), ("Mish", {}), ("LogSigmoid", {}), ("Softmin", dict(dim=1)),
               ("Softmin", dict(dim=-1)), ("GLU", {}), ("GLU", dict(dim=1)), ("Threshold", dict(threshold=0.5, value=-2.0)),
               ("Mish", dict(inplace=True)), ("Hardswish", dict(inplace=True)),
               ("Threshold", dict(threshold=0.1, value=20, inplace=True))]


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=str)
def test_activation(torch, name, kw):
    tkw = {k: v for k, v in kw.items() if k != "inplace"}
    layer, tlayer = getattr(nn, name)(**kw), getattr(torch.nn, name)(**tkw)
    x = randn(4, 6, 8) * 4
    x[0, 0, :4] = [-3.0, 3.0, 60.0, -60.0]  # the hard kinks, and saturated exponentials
    check_parity(layer, tlayer, torch, x, what=name)
    assert repr(layer) == repr(getattr(torch.nn, name)(**kw))


# --------------------------------------------------------------------------- pooling and padding

@pytest.mark.parametrize("output_size", [1, (2, 3), (4, None), (5, 7), (3, 3)], ids=str)
def test_adaptive_max_pool2d(torch, output_size):
    x = randn(2, 3, 5, 7)
    x[0, 0] = 0.0  # ties: the first maximum in row-major order gets the gradient
    layer, tlayer = nn.AdaptiveMaxPool2d(output_size), torch.nn.AdaptiveMaxPool2d(output_size)
    check_parity(layer, tlayer, torch, x)
    check_parity(layer, tlayer, torch, x[0])  # unbatched
    assert repr(layer) == repr(tlayer)


PAD_LAYERS = [("ZeroPad2d", (2,)), ("ZeroPad2d", ((1, 0, 2, 3),)), ("ConstantPad2d", ((1, 2, 3, 4), 3.5)),
              ("ReflectionPad2d", (2,)), ("ReflectionPad2d", ((1, 3, 0, 2),)), ("ReplicationPad2d", ((1, 2, 3, 4),)),
              ("ZeroPad1d", (2,)), ("ConstantPad1d", (2, 1.5)), ("ReflectionPad1d", ((3, 1),)),
              ("ReplicationPad1d", (4,))]


@pytest.mark.parametrize("name,args", PAD_LAYERS, ids=str)
def test_padding_layers(torch, name, args):
    layer, tlayer = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    shape = (2, 3, 5, 6) if name.endswith("2d") else (2, 3, 6)
    check_parity(layer, tlayer, torch, randn(*shape), what=name)
    check_parity(layer, tlayer, torch, randn(*shape[1:]), what=f"{name} unbatched")
    assert repr(layer) == repr(tlayer)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,pad", [((2, 3, 5, 6), (1, 2, 3, 0)), ((2, 3, 7), (3, 1)),
                                       ((2, 2, 3, 4, 5), (1, 2, 0, 1, 2, 1)), ((1, 2, 4, 4), (0, 0, 3, 3))], ids=str)
def test_functional_pad_modes(torch, mode, shape, pad):
    x = randn(*shape)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = F.pad(xe, pad, mode=mode), torch.nn.functional.pad(xt, pad, mode=mode)
    assert_close(ye, yt, what="output")
    up = randn(*yt.shape, seed=1)
    ye.backward(ember.tensor(up)), yt.backward(torch.tensor(up))
    assert_close(xe.grad, xt.grad, what="input grad")


# --------------------------------------------------------------------------- embeddings and containers

@pytest.mark.parametrize("kw", [{}, dict(padding_idx=2), dict(padding_idx=-1), dict(scale_grad_by_freq=True),
                                dict(max_norm=1.0), dict(max_norm=1.5, norm_type=1.0)], ids=str)
def test_embedding(torch, kw):
    layer, tlayer = nn.Embedding(10, 4, **kw), torch.nn.Embedding(10, 4, **kw)
    copy_to_torch(layer, tlayer, torch)
    idx = np.array([[1, 2, 3, 1], [9, 2, 0, 1]])
    ye, yt = layer(ember.tensor(idx)), tlayer(torch.tensor(idx))
    assert_close(ye, yt, what="output")
    up = randn(*ye.shape, seed=1)
    ye.backward(ember.tensor(up)), yt.backward(torch.tensor(up))
    assert_close(layer.weight.grad, tlayer.weight.grad, what="weight grad")
    assert_close(layer.weight, tlayer.weight, what="weight after max_norm renormalisation")
    assert repr(layer) == repr(tlayer)


def test_embedding_padding_row_starts_at_zero_and_from_pretrained(torch):
    assert not nn.Embedding(5, 3, padding_idx=1).weight.array[1].any()
    w = randn(5, 3)
    ours = nn.Embedding.from_pretrained(ember.tensor(w))
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(w))
    assert not ours.weight.requires_grad and not theirs.weight.requires_grad
    assert_close(ours(ember.tensor([4, 0])), theirs(torch.tensor([4, 0])))
    assert nn.Embedding.from_pretrained(ember.tensor(w), freeze=False).weight.requires_grad
    w2 = ember.tensor(w)
    nn.Embedding.from_pretrained(w2).weight.array[0] = 7.0  # a copy, as in PyTorch
    assert w2.array[0, 0] == w[0, 0]


def test_parameter_containers_register_like_torch(torch):
    def build(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.scales = lib.nn.ParameterList([lib.nn.Parameter(lib.ones(3)), lib.nn.Parameter(lib.ones(2, 2))])
                self.scales.append(lib.nn.Parameter(lib.zeros(1)))
                self.extra = lib.nn.ParameterDict({"alpha": lib.nn.Parameter(lib.ones(1))})
                self.extra["beta"] = lib.nn.Parameter(lib.ones(4))
        return Net()

    ours, theirs = build(ember), build(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "scales.0", "scales.1", "scales.2", "extra.alpha", "extra.beta"]
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    sd = {k: torch.full(v.shape, 0.5) for k, v in theirs.state_dict().items()}
    ours.load_state_dict({k: ember.tensor(v.numpy()) for k, v in sd.items()})
    assert all((p.array == 0.5).all() for p in ours.parameters())


# --------------------------------------------------------------------------- distances and their losses

DIST_CASES = [
    ("normalize", lambda F_, a, b: F_.normalize(a)), ("normalize-p1-dim0", lambda F_, a, b: F_.normalize(a, 1.0, 0)),
    ("normalize-3d", lambda F_, a, b: F_.normalize(a.reshape(2, 2, 5), dim=-1)),
    ("cosine", lambda F_, a, b: F_.cosine_similarity(a, b)),
    ("cosine-broadcast", lambda F_, a, b: F_.cosine_similarity(a, b[:1], dim=-1)),
    ("pairwise", lambda F_, a, b: F_.pairwise_distance(a, b)),
    ("pairwise-p3-keepdim", lambda F_, a, b: F_.pairwise_distance(a, b, p=3.0, keepdim=True)),
    ("pairwise-inf", lambda F_, a, b: F_.pairwise_distance(a, b, p=float("inf"))),
    ("pairwise-p1", lambda F_, a, b: F_.pairwise_distance(a, b, p=1.0)),
]


@pytest.mark.parametrize("name,fn", DIST_CASES, ids=[c[0] for c in DIST_CASES])
def test_distances(torch, name, fn):
    a, b = randn(4, 5), randn(4, 5, seed=1)
    a[0] = 0.0  # a zero vector: the norm's subgradient, not nan
    ae, be = ember.tensor(a, requires_grad=True), ember.tensor(b, requires_grad=True)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ye, yt = fn(F, ae, be), fn(torch.nn.functional, at, bt)
    assert_close(ye, yt, what="output")
    up = randn(*yt.shape, seed=2)
    ye.backward(ember.tensor(up)), yt.backward(torch.tensor(up))
    assert_close(ae.grad, at.grad, what="grad of x1")
    if bt.grad is not None:
        assert_close(be.grad, bt.grad, what="grad of x2")


def test_distance_layers(torch):
    a, b = randn(4, 5), randn(4, 5, seed=1)
    for ours, theirs in ((nn.CosineSimilarity(), torch.nn.CosineSimilarity()),
                         (nn.CosineSimilarity(dim=0, eps=1e-6), torch.nn.CosineSimilarity(dim=0, eps=1e-6)),
                         (nn.PairwiseDistance(), torch.nn.PairwiseDistance()),
                         (nn.PairwiseDistance(p=1.0, keepdim=True), torch.nn.PairwiseDistance(p=1.0, keepdim=True))):
        assert_close(ours(ember.tensor(a), ember.tensor(b)), theirs(torch.tensor(a), torch.tensor(b)))
        assert repr(ours) == repr(theirs)


def _loss_parity(torch, ours, theirs, arrays, target=None):
    es = [ember.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    extra_e = () if target is None else (ember.tensor(target),)
    extra_t = () if target is None else (torch.tensor(target),)
    le, lt = ours(*es, *extra_e), theirs(*ts, *extra_t)
    assert_close(le, lt, what="loss")
    assert le.dtype == np.float32
    up = randn(*lt.shape, seed=3)
    le.backward(ember.tensor(up)), lt.backward(torch.tensor(up))
    for i, (e, t) in enumerate(zip(es, ts)):
        assert_close(e.grad, t.grad, what=f"grad of input {i}")


@pytest.mark.parametrize("kw", [{}, dict(margin=2.0, p=1.0, swap=True), dict(reduction="none"),
                                dict(reduction="sum", margin=0.5, swap=True)], ids=str)
def test_triplet_margin_loss(torch, kw):
    arrays = [randn(6, 5, seed=s) for s in range(3)]
    _loss_parity(torch, nn.TripletMarginLoss(**kw), torch.nn.TripletMarginLoss(**kw), arrays)
    _loss_parity(torch, nn.TripletMarginLoss(**kw), torch.nn.TripletMarginLoss(**kw), [a[0] for a in arrays])


@pytest.mark.parametrize("kw", [{}, dict(margin=0.2), dict(reduction="none"), dict(reduction="sum", margin=-0.3)],
                         ids=str)
def test_cosine_embedding_loss(torch, kw):
    arrays = [randn(6, 5, seed=s) for s in range(2)]
    y = np.array([1, -1, 1, -1, -1, 1])
    _loss_parity(torch, nn.CosineEmbeddingLoss(**kw), torch.nn.CosineEmbeddingLoss(**kw), arrays, y)
    _loss_parity(torch, nn.CosineEmbeddingLoss(**kw), torch.nn.CosineEmbeddingLoss(**kw), [a[0] for a in arrays],
                 np.array(-1))
