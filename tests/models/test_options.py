"""Options and reference details: zero-initialised residuals, stochastic depth, reference
initialisation, small-input stems, argument validation, and the MLP's raison d'être (XOR)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.models as zoo
from ember import nn
from ember.models.resnet import BasicBlock, Bottleneck, PadShortcut, last_residual_bn
from tests.models.util import adam_steps


def blocks_of(model):
    return [m for m in model.modules() if isinstance(m, (BasicBlock, Bottleneck))]


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnet20", "se_resnet50"])
def test_zero_init_residual_zeroes_the_last_bn_scale_of_every_block(name):
    model = zoo.get(name, num_classes=10, input_size=32, zero_init_residual=True)
    blocks = blocks_of(model)
    assert blocks and all(np.all(last_residual_bn(b).weight.array == 0) for b in blocks)
    default = zoo.get(name, num_classes=10, input_size=32)
    assert all(np.all(last_residual_bn(b).weight.array == 1) for b in blocks_of(default))


def test_zero_init_residual_blocks_start_as_the_identity():
    model = zoo.resnet18(num_classes=10, input_size=32, zero_init_residual=True).eval()
    block = model.layer1[0]
    x = ember.relu(ember.randn(2, 64, 8, 8))
    with ember.no_grad():
        np.testing.assert_allclose(block(x).numpy(), x.numpy(), atol=1e-6)


def test_drop_path_rate_gives_linearly_rising_stochastic_depth():
    model = zoo.resnet18(num_classes=10, input_size=32, drop_path_rate=0.4)
    rates = [b.drop_path.p for b in blocks_of(model)]
    assert rates == pytest.approx([0.4 * (i + 1) / 8 for i in range(8)])
    assert all(isinstance(b.drop_path, nn.Identity) for b in blocks_of(zoo.resnet18(num_classes=10, input_size=32)))


def test_stochastic_depth_is_random_in_training_and_off_in_eval():
    model = zoo.resnet20(drop_path_rate=0.5)
    x = ember.randn(4, 3, 16, 16)
    model.eval()
    with ember.no_grad():
        a, b = model(x).numpy(), model(x).numpy()
    np.testing.assert_array_equal(a, b)
    model.train()  # batch norm sees the same batch twice, so only stochastic depth differs
    with ember.no_grad():
        c, d = model(x).numpy(), model(x).numpy()
    assert not np.allclose(c, d)


def test_option_a_shortcut_subsamples_and_zero_pads_channels():
    sc = PadShortcut(2, 4, stride=2)
    x = ember.arange(32, dtype=ember.float32).reshape(1, 2, 4, 4)
    y = sc(x).numpy()
    assert y.shape == (1, 4, 2, 2)
    np.testing.assert_array_equal(y[0, 0], 0)
    np.testing.assert_array_equal(y[0, 1], x.numpy()[0, 0, ::2, ::2])
    np.testing.assert_array_equal(y[0, 3], 0)


def _std(t):
    return float(np.std(t.array))


def test_reference_initialisations():
    vgg = zoo.vgg11(num_classes=10, input_size=32)
    conv = vgg.features[0]
    assert _std(conv.weight) == pytest.approx(math.sqrt(2 / (64 * 9)), rel=0.15)  # He, fan-out
    assert np.all(conv.bias.array == 0)
    assert _std(vgg.classifier[-1].weight) == pytest.approx(0.01, rel=0.1)

    resnet = zoo.resnet50(num_classes=10, input_size=32)
    w = resnet.layer3[0].conv2.weight
    assert _std(w) == pytest.approx(math.sqrt(2 / (256 * 9)), rel=0.1)

    alex = zoo.alexnet(num_classes=10, input_size=32, init="paper")
    convs = [m for m in alex.features if isinstance(m, nn.Conv2d)]
    fcs = [m for m in alex.classifier if isinstance(m, nn.Linear)]
    assert [float(m.bias.array[0]) for m in convs + fcs] == [0, 1, 0, 1, 1, 1, 1, 0]
    assert _std(convs[2].weight) == pytest.approx(0.01, rel=0.05)
    default = zoo.alexnet(num_classes=10, input_size=32).features[3].weight.array  # PyTorch's U(±1/√fan_in)
    assert np.abs(default).max() <= 1 / math.sqrt(64 * 25) and np.std(default) > 0.005

    goog = zoo.googlenet(num_classes=10, input_size=32)
    w = goog.inception3a.branch2[1].conv.weight.array
    assert np.std(w) == pytest.approx(0.01, rel=0.1)  # truncated at ±2 (absolute), i.e. hardly at all

    eff = zoo.efficientnet_b0(num_classes=10, input_size=32)
    fc = eff.classifier[1].weight.array
    assert np.abs(fc).max() <= 1 / math.sqrt(10) and np.all(eff.classifier[1].bias.array == 0)

    dense = zoo.densenet121(num_classes=10, input_size=32)
    assert all(np.all(m.weight.array == 1) and np.all(m.bias.array == 0)
               for m in dense.modules() if isinstance(m, nn.BatchNorm2d))


def test_small_input_stem_replaces_the_imagenet_stem():
    small, large = zoo.resnet18(input_size=32), zoo.resnet18(input_size=224)
    assert (small.conv1.kernel_size, small.conv1.stride) == ((3, 3), (1, 1))
    assert (large.conv1.kernel_size, large.conv1.stride) == ((7, 7), (2, 2))
    assert isinstance(small.maxpool, nn.Identity) and isinstance(large.maxpool, nn.MaxPool2d)


def test_lenet5_pads_28_pixel_digits():
    assert zoo.lenet5(input_size=28).features[0].padding == (2, 2)
    assert zoo.lenet5(input_size=32).features[0].padding == (0, 0)


@pytest.mark.parametrize("call,message", [
    (lambda: zoo.resnet18(num_classes=0), "num_classes"),
    (lambda: zoo.vgg16(in_channels=-1), "in_channels"),
    (lambda: zoo.alexnet(dropout=1.5), "dropout"),
    (lambda: zoo.alexnet(input_size=20), "at least 28"),
    (lambda: zoo.lenet5(input_size=20), "at least 28"),
    (lambda: zoo.VGG(config="Z"), "config"),
    (lambda: zoo.resnet20(shortcut="C"), "shortcut"),
    (lambda: zoo.CifarResNet(depth=21), "6n\\+2"),
    (lambda: zoo.resnet18(drop_path_rate=1.0), "drop_path_rate"),
    (lambda: zoo.mobilenet_v1(width_mult=0), "width_mult"),
    (lambda: zoo.mlp([784]), "sizes"),
    (lambda: zoo.mlp([784, 10], activation="relu7"), "activation"),
    (lambda: zoo.ResNet(BasicBlock, (2, 2, 2)), "4 stages"),
    (lambda: zoo.xception(input_size=70), "71"),
    (lambda: zoo.se_resnet50(reduction=0), "reduction"),
    (lambda: zoo.alexnet(init="xavier"), "init"),
])
def test_constructors_validate_arguments_with_a_sentence(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_mlp_solves_xor_where_a_linear_model_cannot():
    x = ember.tensor(np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32))
    y = np.array([0, 1, 1, 0])
    mlp = zoo.mlp([2, 16, 2], activation="tanh")
    linear = zoo.mlp([2, 2])
    mlp_losses = adam_steps(mlp, x, y, steps=300, lr=0.05)
    linear_losses = adam_steps(linear, x, y, steps=300, lr=0.05)
    mlp_pred = np.argmax(mlp(x).detach().numpy(), 1)
    assert (mlp_pred == y).all() and mlp_losses[-1] < 0.1
    assert linear_losses[-1] > 0.6  # the best a linear classifier can do on XOR is ln 2 ≈ 0.69


def test_mlp_takes_images_and_builds_from_num_classes():
    model = zoo.mlp(num_classes=10, in_channels=1, input_size=28, hidden=(32,), batchnorm=True, dropout=0.1)
    assert model(ember.randn(4, 1, 28, 28)).shape == (4, 10)
    assert model.sizes == (784, 32, 10)
