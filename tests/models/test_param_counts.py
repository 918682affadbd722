"""Trainable-parameter counts at the ImageNet configuration (3×224×224, 1000 classes) equal the
reference implementations' exactly; families without a reference count are checked by formula."""
from __future__ import annotations

import pytest

import ember.models as zoo
from ember.models.condensenet import condensenet_num_parameters
from ember.models.googlenet import INCEPTION_3, INCEPTION_4, INCEPTION_5
from ember.models.mlp import mlp_num_parameters
from ember.models.nin import nin_num_parameters


def count(model) -> int:
    return sum(p.array.size for p in model.parameters())


REFERENCE = {
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
    "googlenet": 6_624_904,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "densenet121": 7_978_856,
    "densenet161": 28_681_000,
    "densenet169": 14_149_480,
    "densenet201": 20_013_928,
    "mobilenet_v1": 4_231_976,
    "mobilenet_v2": 3_504_872,
    "xception": 22_855_952,
    "se_resnet50": 28_088_024,
    "efficientnet_b0": 5_288_548,
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_imagenet_parameter_count_matches_reference(name):
    assert count(zoo.get(name, num_classes=1000, in_channels=3, input_size=224)) == REFERENCE[name]


def test_lenet5_has_61706_parameters_on_32_and_on_28_pixel_digits():
    assert count(zoo.lenet5(num_classes=10, in_channels=1, input_size=32)) == 61_706
    assert count(zoo.lenet5(num_classes=10, in_channels=1, input_size=28)) == 61_706  # padding 2 keeps the shapes


def test_alexnet_local_response_norm_adds_no_parameters():
    plain, with_lrn = zoo.alexnet(num_classes=10, input_size=32), zoo.alexnet(num_classes=10, input_size=32, lrn=True)
    assert count(with_lrn) == count(plain)
    assert sum(type(m).__name__ == "LocalResponseNorm" for m in with_lrn.modules()) == 2


@pytest.mark.parametrize("name,expected", [("resnet20", 269_722), ("resnet32", 464_154), ("resnet56", 853_018)])
def test_cifar_resnet_counts_match_the_paper_with_option_a(name, expected):
    # the paper reports 0.27M / 0.46M / 0.85M; the exact values are those of the common reference code
    assert count(zoo.get(name, num_classes=10)) == expected


def test_cifar_resnet_option_b_adds_exactly_the_two_projections():
    # 16→32 and 32→64 projections: 1×1 conv weights plus BN γ, β
    extra = (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert count(zoo.resnet20(shortcut="B")) == 269_722 + extra


@pytest.mark.parametrize("sizes,batchnorm,activation", [
    ([784, 10], False, "relu"),
    ([784, 256, 10], False, "relu"),
    ([3072, 512, 256, 10], True, "tanh"),
    ([2, 8, 8, 2], True, "prelu"),
])
def test_mlp_count_matches_its_formula(sizes, batchnorm, activation):
    model = zoo.mlp(sizes, activation=activation, batchnorm=batchnorm)
    assert count(model) == mlp_num_parameters(sizes, batchnorm=batchnorm, activation=activation)


def test_mlp_formula_by_hand():
    # 784·256 + 256 + 256·10 + 10, and 2·256 for one batch norm
    assert mlp_num_parameters([784, 256, 10]) == 203_530
    assert mlp_num_parameters([784, 256, 10], batchnorm=True) == 204_042


@pytest.mark.parametrize("small", [False, True])
def test_nin_count_matches_its_formula(small):
    model = zoo.nin(num_classes=10 if small else 1000, input_size=32 if small else 224)
    assert count(model) == nin_num_parameters(10 if small else 1000, 3, small=small)


def test_nin_formula_by_hand_for_the_cifar_model():
    convs = [(5, 3, 192), (1, 192, 160), (1, 160, 96), (5, 96, 192), (1, 192, 192), (1, 192, 192),
             (3, 192, 192), (1, 192, 192), (1, 192, 10)]
    assert nin_num_parameters(10, 3, small=True) == sum(k * k * i * o + o for k, i, o in convs)


def test_nin_has_no_fully_connected_layer():
    from ember import nn
    assert not any(isinstance(m, nn.Linear) for m in zoo.nin().modules())


def test_googlenet_auxiliary_classifiers_match_torchvisions_count():
    assert count(zoo.googlenet(aux_logits=True)) == 13_004_888  # torchvision's GoogLeNet(aux_logits=True)


def test_googlenet_paper_kernels_adds_the_5x5_weights():
    reductions = sum(c[4] * c[5] for c in INCEPTION_3 + INCEPTION_4 + INCEPTION_5)
    assert count(zoo.googlenet(paper_kernels=True)) == REFERENCE["googlenet"] + (25 - 9) * reductions


def test_condensenet_counts_match_the_formula_before_and_after_condensing():
    stages, growth = (2, 3), (8, 16)
    model = zoo.condensenet(num_classes=10, input_size=32, stages=stages, growth=growth)
    assert count(model) == condensenet_num_parameters(stages, growth, 10, 3)
    model.update_condensation(1.0)
    model.condense()
    assert count(model) == condensenet_num_parameters(stages, growth, 10, 3, condensed=True)


def test_condensenet_imagenet_count_matches_the_formula():
    model = zoo.condensenet()
    assert count(model) == condensenet_num_parameters((4, 6, 8, 10, 8), (8, 16, 32, 64, 128), 1000, 3)


@pytest.mark.parametrize("alpha", [0.25, 0.5, 0.75])
def test_mobilenet_v1_width_multiplier_thins_every_layer(alpha):
    model = zoo.mobilenet_v1(width_mult=alpha)
    widths = [m.out_channels for m in model.modules() if type(m).__name__ == "Conv2d"]
    full = [m.out_channels for m in zoo.mobilenet_v1(num_classes=10, input_size=32).modules()
            if type(m).__name__ == "Conv2d"]
    assert widths == [int(w * alpha) for w in full]
