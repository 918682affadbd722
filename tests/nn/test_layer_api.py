"""The public surface: constructor validation with a sentence, informative repr, state_dict errors on real
layers, dtype preservation, parameter/buffer names matching PyTorch's."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F


@pytest.mark.parametrize("make,message", [
    (lambda: nn.Linear(0.5, 3), "in_features must be a non-negative integer"),
    (lambda: nn.Linear(3, 2, dropconnect=1.5), "dropconnect must be a probability"),
    (lambda: nn.Conv2d(3, 4, 0), "kernel_size must be a positive integer"),
    (lambda: nn.Conv2d(3, 4, (3, 3, 3)), "kernel_size must be an int or a pair"),
    (lambda: nn.Conv2d(3, 4, 3, groups=2), r"in_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.Conv2d(4, 3, 3, groups=2), r"out_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.Conv2d(3, 4, 3, padding="full"), "padding must be an int, a pair, 'same' or 'valid'"),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), "not supported for strided"),
    (lambda: nn.Conv2d(3, 4, 2, padding="same"), "odd effective kernel size"),
    (lambda: nn.Conv2d(3, 4, 3, padding=-1), "padding must be a non-negative integer"),
    (lambda: nn.Conv2d(3, 4, 3, padding_mode="reflect"), "padding_mode 'reflect' is not supported"),
    (lambda: nn.MaxPool2d(2, padding=2), "padding 2 should be at most half of kernel_size 2"),
    (lambda: nn.AvgPool2d(0), "kernel_size must be a positive integer"),
    (lambda: nn.AdaptiveAvgPool2d(0), "output_size must be a positive int"),
    (lambda: nn.FractionalMaxPool2d(2), "exactly one of output_size or output_ratio"),
    (lambda: nn.FractionalMaxPool2d(2, output_ratio=1.5), r"output_ratio must be in \(0, 1\)"),
    (lambda: nn.BatchNorm2d(0), "num_features must be a positive integer"),
    (lambda: nn.BatchNorm2d(3, momentum=2.0), r"momentum must be a number in \[0, 1\] or None"),
    (lambda: nn.BatchNorm1d(3, eps=0), "eps must be a positive number"),
    (lambda: nn.Dropout(1.2), "p must be a probability between 0 and 1"),
    (lambda: nn.Dropout2d(-0.1), "p must be a probability"),
    (lambda: nn.StochasticDepth(0.2, mode="channel"), "mode must be 'row' or 'batch'"),
    (lambda: nn.DropConnect(nn.ReLU(), 0.5), "has no parameter named 'weight'"),
    (lambda: nn.DropConnect(nn.Linear(2, 2), 1.0), "p=1 would drop every weight"),
    (lambda: nn.LocalResponseNorm(0), "size must be a positive integer"),
    (lambda: nn.LocalResponseNorm(5, k=0), "k must be a positive number"),
    (lambda: nn.PReLU(0), "num_parameters must be a positive integer"),
    (lambda: nn.GELU("fast"), "approximate must be 'none' or 'tanh'"),
    (lambda: nn.ELU(alpha=-1), "alpha must be a non-negative number"),
    (lambda: nn.Softplus(beta=0), "beta must be a positive number"),
    (lambda: nn.Hardtanh(1, -1), "min_val"),
    (lambda: nn.Unflatten(1, (0, 3)), "unflattened_size must be a non-empty tuple"),
    (lambda: nn.CrossEntropyLoss(reduction="avg"), r"reduction must be one of \['mean', 'sum', 'none'\]"),
    (lambda: nn.CrossEntropyLoss(label_smoothing=1.5), "label_smoothing must be between 0.0 and 1.0"),
    (lambda: nn.CrossEntropyLoss(weight=ember.ones(2, 2)), "weight must be a 1-D tensor"),
    (lambda: nn.KLDivLoss(reduction="batch"), "reduction must be one of"),
    (lambda: nn.MultiMarginLoss(p=3), "only p == 1 and p == 2"),
    (lambda: nn.SmoothL1Loss(beta=-1), "beta must be non-negative"),
    (lambda: nn.HuberLoss(delta=0), "delta must be positive"),
    (lambda: nn.Upsample(scale_factor=-1.5), "scale_factor must be a positive number"),
    (lambda: nn.Upsample(scale_factor=2, mode="bicubix"), r"mode 'bicubix' is not supported; valid modes: \["),
    (lambda: nn.Upsample(scale_factor=2, align_corners=True), "align_corners can only be set"),
    (lambda: nn.Upsample(), "exactly one of size or scale_factor"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_constructors_validate_up_front(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_forward_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"input of shape \(2, 5, 8, 8\) has 5 channels, expected in_channels=3"):
        nn.Conv2d(3, 4, 3)(ember.randn(2, 5, 8, 8))
    with pytest.raises(RuntimeError, match=r"last dimension but the weight of shape \(3, 4\) expects 4"):
        nn.Linear(4, 3)(ember.randn(2, 5))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(4\): input of shape \(2, 3, 5, 5\) has 3 channels"):
        nn.BatchNorm2d(4)(ember.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match="BatchNorm2d expects a 4-D input"):
        nn.BatchNorm2d(4)(ember.randn(2, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel when training"):
        nn.BatchNorm1d(4)(ember.randn(1, 4))
    with pytest.raises(IndexError, match="target 5 is out of bounds for 3 classes"):
        F.cross_entropy(ember.randn(2, 3), ember.tensor([0, 5]))
    with pytest.raises(ValueError, match=r"class-index target of shape \(3,\) does not match input of shape \(2, 3\)"):
        F.cross_entropy(ember.randn(2, 3), ember.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="probability targets must have the input's shape"):
        F.cross_entropy(ember.randn(2, 3), ember.rand(2, 4))
    with pytest.raises(ValueError, match=r"target shape \(4, 1\) differs from input shape \(4,\)"):
        F.mse_loss(ember.randn(4), ember.randn(4, 1))
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(ember.tensor([1.5]), ember.tensor([1.0]))


def test_state_dict_missing_key_on_real_layers():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2))
    sd = net.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                        "1.num_batches_tracked", "4.weight", "4.bias"]
    del sd["1.running_var"]
    with pytest.raises(RuntimeError, match=r"missing keys: 1\.running_var"):
        net.load_state_dict(sd)


def test_state_dict_wrong_shape_names_both_shapes():
    small, big = nn.Linear(4, 2), nn.Linear(4, 3)
    with pytest.raises(RuntimeError, match=r"weight: checkpoint has shape \(3, 4\), model has \(2, 4\)"):
        small.load_state_dict(big.state_dict())
    with pytest.raises(RuntimeError, match=r"running_mean: checkpoint has shape \(8,\), model has \(4,\)"):
        nn.BatchNorm2d(4).load_state_dict(nn.BatchNorm2d(8).state_dict())


def test_state_dict_round_trip_restores_running_stats():
    a, b = nn.BatchNorm2d(3), nn.BatchNorm2d(3)
    for _ in range(3):
        a(ember.randn(4, 3, 2, 2) * 3 + 1)
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = ember.randn(2, 3, 2, 2)
    np.testing.assert_array_equal(a(x).array, b(x).array)
    assert int(b.num_batches_tracked.item()) == 3


def test_parameter_and_buffer_names_match_torch(torch):
    pairs = [(nn.Linear(3, 2), torch.nn.Linear(3, 2)), (nn.Conv2d(3, 2, 3, bias=False), torch.nn.Conv2d(3, 2, 3, bias=False)),
             (nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)), (nn.BatchNorm2d(3, affine=False), torch.nn.BatchNorm2d(3, affine=False)),
             (nn.PReLU(4), torch.nn.PReLU(4)), (nn.CrossEntropyLoss(weight=ember.ones(3)), torch.nn.CrossEntropyLoss(weight=torch.ones(3)))]
    for ours, theirs in pairs:
        assert list(ours.state_dict()) == list(theirs.state_dict()), type(ours).__name__
        for (k, v), (_, tv) in zip(ours.state_dict().items(), theirs.state_dict().items()):
            assert tuple(v.shape) == tuple(tv.shape), k


def test_repr_like_pytorch(torch):
    same = [
        (nn.Linear(3, 2), torch.nn.Linear(3, 2)),
        (nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), torch.nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)),
        (nn.Conv2d(8, 8, 3, padding="same", groups=8), torch.nn.Conv2d(8, 8, 3, padding="same", groups=8)),
        (nn.BatchNorm2d(8), torch.nn.BatchNorm2d(8)), (nn.BatchNorm1d(8, affine=False), torch.nn.BatchNorm1d(8, affine=False)),
        (nn.BatchNorm2d(8, bias=False), torch.nn.BatchNorm2d(8, bias=False)),
        (nn.MaxPool2d(3, 2), torch.nn.MaxPool2d(3, 2)),
        (nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1)),
        (nn.Dropout(0.5), torch.nn.Dropout(0.5)),
        (nn.ReLU(), torch.nn.ReLU()), (nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
        (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)),
        (nn.LocalResponseNorm(5, k=2.0), torch.nn.LocalResponseNorm(5, k=2.0)),
        (nn.Flatten(), torch.nn.Flatten()), (nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
        (nn.PReLU(), torch.nn.PReLU()), (nn.Identity(), torch.nn.Identity()),
        (nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
        (nn.Upsample(size=(8, 9)), torch.nn.Upsample(size=(8, 9))),
    ]
    for ours, theirs in same:
        assert repr(ours) == repr(theirs)
    assert repr(nn.Linear(3, 2, dropconnect=0.3)) == "Linear(in_features=3, out_features=2, bias=True, dropconnect=0.3)"
    assert repr(nn.StochasticDepth(0.2)) == "StochasticDepth(p=0.2, mode=row)"


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.Linear(4, 3), (2, 4)), (lambda: nn.Conv2d(2, 3, 3), (1, 2, 5, 5)),
    (lambda: nn.BatchNorm2d(2), (2, 2, 3, 3)), (lambda: nn.LocalResponseNorm(3), (1, 4, 2, 2)),
    (lambda: nn.Dropout(0.5), (3, 4)), (lambda: nn.MaxPool2d(2), (1, 2, 4, 4)), (lambda: nn.GELU(), (3,)),
], ids=["linear", "conv", "bn", "lrn", "dropout", "maxpool", "gelu"])
def test_dtype_is_kept(make, shape):
    layer = make()
    assert layer(ember.randn(*shape)).dtype == np.float32
    layer.double()
    assert layer(ember.randn(*shape, dtype=ember.float64)).dtype == np.float64


def test_loss_dtype_is_kept():
    x = ember.randn(3, 4, requires_grad=True)
    loss = F.cross_entropy(x, ember.tensor([0, 1, 2]))
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    for fn in (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.binary_cross_entropy_with_logits):
        assert fn(ember.randn(3), ember.rand(3)).dtype == np.float32


def test_bn_after_bias_free_conv_and_zero_gamma_residual():
    """NOTES §5/§6: a BN's γ zeroed makes a residual block start as the identity."""
    block = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3))
    nn.init.zeros_(block[1].weight)
    x = ember.randn(2, 3, 4, 4)
    np.testing.assert_array_equal((x + block(x)).array, x.array)


def test_penalties_cover_weights_not_biases_or_bn():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.Linear(2, 1))
    for p in net.parameters():
        p.array[...] = 2.0
    assert F.l1_penalty(net).item() == pytest.approx(2.0 * (6 + 2))
    assert F.l2_penalty(net).item() == pytest.approx(4.0 * (6 + 2))
    assert F.l2_penalty(net, weights_only=False).item() == pytest.approx(4.0 * sum(p.numel() for p in net.parameters()))
    assert F.elastic_net_penalty(net, 0.25).item() == pytest.approx(0.25 * 16 + 0.75 * 0.5 * 32)
    code = ember.tensor([[-1.0, 0.0, 2.0]], requires_grad=True)  # an autoencoder's hidden code
    F.l1_penalty(code).backward()
    np.testing.assert_array_equal(code.grad.array, [[-1.0, 0.0, 1.0]])
    net.zero_grad()
    F.l2_penalty(net).backward()
    assert net[0].bias.grad is None and net[1].weight.grad is None
    np.testing.assert_array_equal(net[0].weight.grad.array, np.full((2, 3), 4.0))
    with pytest.raises(ValueError, match="l1_ratio must be between 0 and 1"):
        F.elastic_net_penalty(net, 1.5)
    with pytest.raises(ValueError, match="no weights"):
        F.l2_penalty(nn.BatchNorm1d(3))


def test_mlp_solves_xor_but_a_linear_model_cannot():
    """NOTES §1: with the non-linearity the MLP separates XOR; without it the net collapses to linear."""
    x = ember.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = ember.tensor([0, 1, 1, 0])

    def train(model, steps=600, lr=0.5):
        params = list(model.parameters())
        for _ in range(steps):
            loss = F.cross_entropy(model(x), y)
            for p in params:
                p.grad = None
            loss.backward()
            for p in params:
                p.array -= lr * p.grad.array
        return (model(x).array.argmax(1) == y.array).mean(), loss.item()

    ember.manual_seed(1)
    acc, loss = train(nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2)))
    assert acc == 1.0 and loss < 0.05
    ember.manual_seed(1)
    acc_lin, loss_lin = train(nn.Sequential(nn.Linear(2, 16), nn.Linear(16, 2)))
    assert acc_lin < 1.0 and loss_lin > 0.6
