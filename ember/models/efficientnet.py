"""EfficientNet (Tan & Le 2019): scale depth, width and resolution together.

Scaling one dimension of a network (more layers, more channels or larger images) saturates quickly;
*compound scaling* grows all three with one coefficient φ:
depth d = α^φ, width w = β^φ, resolution r = γ^φ, with α = 1.2, β = 1.1, γ = 1.15 found by a small grid
search under α·β²·γ² ≈ 2 (so each unit of φ roughly doubles the FLOPs). The base network B0 is a
stack of MBConv blocks — MobileNet v2's inverted residual (1×1 expansion → depthwise k×k → linear 1×1
projection, skip when the shape is kept) with a squeeze-and-excitation gate after the depthwise
convolution and the SiLU (swish) activation x·σ(x) — in 7 stages, a 1×1 head conv to 1280 channels,
global average pooling, dropout and a linear classifier. 5,288,548 parameters at 1000 classes.

Rounding as in the reference: channel counts w·c go to the nearest multiple of 8 (never more than 10%
down), repeats to ⌈d·n⌉. The reference's table of B0-B3 — (width, depth, resolution) = (1.0, 1.0, 224),
(1.0, 1.1, 240), (1.1, 1.2, 260), (1.2, 1.4, 300) — is the compound rule at φ = 0, 0.5, 1, 2 with the
multipliers rounded to one decimal and the scaled resolution to 10 pixels (``compound_scaling``).
"""
from __future__ import annotations

import math

from ember import nn
from ember.models._common import (check_common, init_conv_bn_, check_float, check_probability, is_small, linear_drop_rates,
                                  make_divisible)
from ember.models.registry import register_model
from ember.models.senet import SqueezeExcitation
from ember.models.summary import SummaryMixin


def _init_classifier(m: nn.Linear) -> None:
    """U(±1/√out_features) weights and zero bias, as the reference EfficientNet's classifier."""
    r = 1.0 / math.sqrt(m.out_features)
    nn.init.uniform_(m.weight, -r, r)
    nn.init.zeros_(m.bias)

ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15  # depth, width and resolution bases of the compound rule
BASE_RESOLUTION = 224

# (expansion, kernel, stride, in channels, out channels, repeats) of B0's seven stages (the paper's Table 1)
B0_STAGES = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
             (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]

# the compound coefficient of each named variant
VARIANT_PHI = {"b0": 0.0, "b1": 0.5, "b2": 1.0, "b3": 2.0}


def compound_scaling(phi: float) -> tuple[float, float, int]:
    """(width multiplier, depth multiplier, resolution) for the compound coefficient φ:
    (β^φ, α^φ, 224·γ^φ), the multipliers rounded to one decimal and the resolution, once scaled,
    to the nearest 10 pixels."""
    phi = check_float("phi", phi, 0.0, 16.0)
    width, depth = round(BETA ** phi, 1), round(ALPHA ** phi, 1)
    resolution = BASE_RESOLUTION if phi == 0 else int(round(BASE_RESOLUTION * GAMMA ** phi / 10.0)) * 10
    return width, depth, resolution


def round_filters(channels: int, width_mult: float) -> int:
    """Scale a channel count by the width multiplier and round it to a multiple of 8."""
    return make_divisible(channels * width_mult, 8)


def round_repeats(repeats: int, depth_mult: float) -> int:
    """Scale a stage's number of blocks by the depth multiplier, rounding up."""
    return int(math.ceil(repeats * depth_mult))


class ConvBNSiLU(nn.Sequential):
    """conv (no bias) → BN → SiLU (or no activation)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, stride: int = 1, groups: int = 1,
                 activation: bool = True):
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=(kernel_size - 1) // 2,
                            groups=groups, bias=False),
                  nn.BatchNorm2d(out_channels, eps=1e-3)]
        if activation:
            layers.append(nn.SiLU())
        super().__init__(*layers)


class MBConv(nn.Module):
    """Mobile inverted bottleneck: 1×1 expand (×t) → depthwise k×k (stride) → SE (squeeze to in/4
    channels, SiLU) → 1×1 linear projection, plus the input (after stochastic depth on the branch) when
    the stride is 1 and the channels are kept."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, expand_ratio: int,
                 drop_rate: float = 0.0):
        super().__init__()
        hidden = make_divisible(in_channels * expand_ratio, 8)
        self.use_residual = stride == 1 and in_channels == out_channels
        layers = [ConvBNSiLU(in_channels, hidden, 1)] if hidden != in_channels else []
        layers += [
            ConvBNSiLU(hidden, hidden, kernel_size, stride=stride, groups=hidden),
            SqueezeExcitation(hidden, max(1, in_channels // 4), activation=nn.SiLU),
            ConvBNSiLU(hidden, out_channels, 1, activation=False),
        ]
        self.block = nn.Sequential(*layers)
        self.drop_path = nn.StochasticDepth(drop_rate, mode="row") if self.use_residual and drop_rate > 0 \
            else nn.Identity()

    def forward(self, x):
        out = self.block(x)
        return x + self.drop_path(out) if self.use_residual else out


class EfficientNet(SummaryMixin, nn.Module):
    """Initialisation as the reference: He normal (fan-out) convolutions, BN γ=1 β=0, classifier
    weights U(−1/√classes, 1/√classes), zero biases. ``drop_path_rate`` is the stochastic-depth rate
    (block i of L drops its branch with probability rate·i/L, as the reference).

    Small inputs (``input_size <= 64``): the stem convolution has stride 1, so a 32×32 image ends at
    2×2. The ImageNet form needs at least 32×32."""

    def __init__(self, width_mult: float = 1.0, depth_mult: float = 1.0, num_classes: int = 1000,
                 in_channels: int = 3, input_size: int = 224, dropout: float = 0.2, drop_path_rate: float = 0.2):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=8)
        width_mult = check_float("width_mult", width_mult, 0.1, 16.0)
        depth_mult = check_float("depth_mult", depth_mult, 0.1, 16.0)
        dropout, drop_path_rate = check_probability("dropout", dropout), check_probability("drop_path_rate", drop_path_rate)
        self.width_mult, self.depth_mult = width_mult, depth_mult
        stages = [(t, k, s, round_filters(c_in, width_mult), round_filters(c_out, width_mult),
                   round_repeats(n, depth_mult)) for t, k, s, c_in, c_out, n in B0_STAGES]
        rates = iter(linear_drop_rates(drop_path_rate, sum(st[-1] for st in stages), first_is_zero=True))
        c = stages[0][3]
        layers = [ConvBNSiLU(in_channels, c, 3, stride=1 if is_small(input_size) else 2)]
        for t, k, s, _, c_out, n in stages:  # one Sequential per stage, as torchvision (its state_dict keys)
            blocks = []
            for i in range(n):
                blocks.append(MBConv(c, c_out, k, s if i == 0 else 1, t, next(rates)))
                c = c_out
            layers.append(nn.Sequential(*blocks))
        head = 4 * c
        layers.append(ConvBNSiLU(c, head, 1))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(head, num_classes))
        self.default_input_shape = (in_channels, input_size, input_size)
        init_conv_bn_(self, linear=_init_classifier)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


@register_model
def efficientnet(phi: float = 0.0, num_classes: int = 1000, in_channels: int = 3, input_size: int | None = None,
                 dropout: float | None = None, drop_path_rate: float = 0.2) -> EfficientNet:
    """EfficientNet scaled by the compound coefficient φ (φ = 0 is B0: 5,288,548 parameters).

    ``input_size`` defaults to the scaled resolution, ``dropout`` to the reference's 0.2 below φ = 1 and
    0.3 from there."""
    width, depth, resolution = compound_scaling(phi)
    if dropout is None:
        dropout = 0.2 if phi < 1 else 0.3
    model = EfficientNet(width, depth, num_classes, in_channels, resolution if input_size is None else input_size,
                         dropout, drop_path_rate)
    model.phi, model.resolution = float(phi), resolution
    return model


def _variant(name: str):
    phi = VARIANT_PHI[name]

    def build(num_classes: int = 1000, in_channels: int = 3, input_size: int | None = None,
              dropout: float | None = None, drop_path_rate: float = 0.2) -> EfficientNet:
        return efficientnet(phi, num_classes, in_channels, input_size, dropout, drop_path_rate)

    w, d, r = compound_scaling(phi)
    build.__name__ = build.__qualname__ = f"efficientnet_{name}"
    build.__doc__ = f"EfficientNet-{name.upper()} (φ = {phi:g}: width {w}, depth {d}, resolution {r})."
    return register_model(build)


efficientnet_b0 = _variant("b0")
efficientnet_b1 = _variant("b1")
efficientnet_b2 = _variant("b2")
efficientnet_b3 = _variant("b3")
