"""Every model of the zoo runs on Fashion-MNIST-size (1×28×28) and CIFAR-size (3×32×32) batches:
right output shape, a finite gradient for every parameter, and a few optimiser steps on one fixed
small batch drive the loss down (NOTES §7, §10: make it overfit first)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.models as zoo
from ember import nn
from tests.models.util import adam_steps, cross_entropy

ALL = zoo.list_models()

# Default tier: forward and backward for every model except the heaviest (about 1 GMAC per image or
# 120 convolutions at 28×28); training steps for a light member of each family. The rest are marked slow.
HEAVY = {"densenet121", "densenet161", "densenet169", "densenet201", "resnet34", "resnet50", "se_resnet50"}
TRAIN_BY_DEFAULT = {"mlp", "lenet5", "lenet5_bn", "alexnet", "vgg11", "nin", "resnet20", "mobilenet_v1",
                    "efficientnet_b0"}


def _slow_unless(names, keep):
    return [n if n in keep else pytest.param(n, marks=pytest.mark.slow) for n in names]


@pytest.mark.parametrize("name", _slow_unless(ALL, set(ALL) - HEAVY))
@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_forward_and_backward_on_small_images(name, channels, size):
    model = zoo.get(name, num_classes=7, in_channels=channels, input_size=size)
    model.train()
    x = ember.randn(2, channels, size, size)
    out = model(x)
    assert out.shape == (2, 7)
    cross_entropy(out, np.array([1, 5])).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient reached {missing[:5]}"
    bad = [n for n, p in model.named_parameters() if not np.isfinite(p.grad.array).all()]
    assert not bad, f"non-finite gradients in {bad[:5]}"
    assert np.isfinite(out.detach().numpy()).all()


def overfit_batch(rng, n=8, classes=4, channels=1, size=28):
    """One small fixed batch: a random prototype image per class plus noise."""
    y = np.arange(n) % classes
    protos = rng.normal(size=(classes, channels, size, size))
    x = protos[y] + 0.5 * rng.normal(size=(n, channels, size, size))
    return ember.tensor(x.astype(np.float32)), y


# Adam's learning rate and steps: 1e-3 for 5 steps, except for the deep plain nets without batch norm,
# where 1e-3 kills the ReLUs in the first steps and the largest stable rate is lower (NOTES §4).
RECIPES = {"alexnet": (3e-4, 8), "vgg11": (3e-4, 8), "vgg16": (3e-4, 10), "nin": (1e-4, 8)}


@pytest.mark.parametrize("name", _slow_unless(ALL, TRAIN_BY_DEFAULT))
def test_a_few_steps_on_one_batch_drive_the_loss_down(name):
    rng = np.random.default_rng(1)
    model = zoo.get(name, num_classes=4, in_channels=1, input_size=28)
    model.train()
    for m in model.modules():  # make it overfit first, regularise later (NOTES §7)
        if isinstance(m, (nn.Dropout, nn.StochasticDepth)):
            m.p = 0.0
    x, y = overfit_batch(rng)
    lr, steps = RECIPES.get(name, (1e-3, 5))
    losses = adam_steps(model, x, y, steps=steps, lr=lr)
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.9 * losses[0], f"loss did not fall: {np.round(losses, 3).tolist()}"


@pytest.mark.parametrize("name", ["resnet18", "vgg11", "lenet5", "mobilenet_v2"])
def test_eval_mode_is_deterministic_and_batch_independent(name):
    model = zoo.get(name, num_classes=5, in_channels=3, input_size=32).eval()
    x = ember.randn(3, 3, 32, 32)
    with ember.no_grad():
        full = model(x).numpy()
        single = model(x[1:2]).numpy()
        again = model(x).numpy()
    np.testing.assert_array_equal(full, again)
    np.testing.assert_allclose(single[0], full[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,size", [("googlenet", 8), ("nin", 40)])
def test_too_small_inputs_for_the_imagenet_form_fail_with_a_sentence(name, size):
    model = zoo.get(name, num_classes=5, in_channels=3, input_size=224).eval()
    with pytest.raises((RuntimeError, ValueError), match="too small"):
        model(ember.randn(2, 3, size, size))
