"""MobileNets: networks built from cheap depthwise separable convolutions.

A standard k×k convolution from M to N channels filters and mixes channels at once (k²·M·N
multiply-accumulates per pixel). A *depthwise separable* convolution splits the two: a depthwise k×k
convolution filters each channel on its own (groups = M, k²·M), then a pointwise 1×1 convolution mixes
the channels (M·N) — about 8-9 times cheaper for 3×3 kernels, with little loss of accuracy.

* MobileNet v1 (Howard et al. 2017): a 3×3 stride-2 conv, then 13 depthwise separable blocks
  (depthwise 3×3 → BN → ReLU → pointwise 1×1 → BN → ReLU), global average pooling, dropout, linear.
  ``width_mult`` α thins every layer to int(α·channels). Layout and count as Keras's reference
  (4,231,976 trainable parameters at α = 1 and 1000 classes); the activation is the paper's ReLU
  where Keras uses ReLU6 (no parameters either way).
* MobileNet v2 (Sandler et al. 2018): inverted residual blocks — a 1×1 expansion to t times the
  channels → depthwise 3×3 → linear 1×1 projection (no activation on the narrow output, to keep
  information), with a skip connection when input and output shapes match; ReLU6. As torchvision's
  reference: 3,504,872 parameters at 1000 classes.
"""
from __future__ import annotations

from ember import nn
from ember.models._common import (check_common, check_float, check_probability, init_conv_bn_, is_small, make_divisible,
                                  small_normal_linear_)
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin


class ConvBNAct(nn.Sequential):
    """conv (no bias) → BN → activation; ``groups=channels`` makes it depthwise."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1, groups: int = 1,
                 activation: type | None = nn.ReLU, eps: float = 1e-5):
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=(kernel_size - 1) // 2,
                            groups=groups, bias=False),
                  nn.BatchNorm2d(out_channels, eps=eps)]
        if activation is not None:
            layers.append(activation())
        super().__init__(*layers)


class DepthwiseSeparable(nn.Sequential):
    """Depthwise 3×3 (stride s) → BN → ReLU, then pointwise 1×1 → BN → ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__(
            ConvBNAct(in_channels, in_channels, 3, stride=stride, groups=in_channels),  # depthwise: filter
            ConvBNAct(in_channels, out_channels, 1),  # pointwise: mix channels
        )


# (output channels, stride) of the 13 depthwise separable blocks (the paper's Table 1)
MOBILENET_V1_BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
                       (512, 1), (512, 1), (1024, 2), (1024, 1)]


def _init_mobilenet(model: nn.Module) -> None:
    """He normal (fan-out) convolutions, BN γ=1 β=0, N(0, 0.01²) linear weights, zero biases."""
    init_conv_bn_(model, linear=small_normal_linear_)


class MobileNetV1(SummaryMixin, nn.Module):
    """Initialisation: He normal (fan-out) convolutions, N(0, 0.01²) classifier, as torchvision's
    MobileNet v2 (the v1 references do not agree on one).

    Small inputs (``input_size <= 64``): the first convolution has stride 1, so a 32×32 image reaches
    the last blocks at 2×2. The ImageNet form needs at least 32×32."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, width_mult: float = 1.0,
                 dropout: float = 1e-3):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=8)
        width_mult = check_float("width_mult", width_mult, 1e-3, 10.0)
        if int(32 * width_mult) < 1:
            raise ValueError(f"width_mult={width_mult} leaves the first layer without channels")
        dropout = check_probability("dropout", dropout)
        c = int(32 * width_mult)
        layers = [ConvBNAct(in_channels, c, 3, stride=1 if is_small(input_size) else 2)]
        for out, stride in MOBILENET_V1_BLOCKS:
            layers.append(DepthwiseSeparable(c, int(out * width_mult), stride))
            c = int(out * width_mult)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, num_classes))
        self.default_input_shape = (in_channels, input_size, input_size)
        _init_mobilenet(self)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


class InvertedResidual(nn.Module):
    """1×1 expand (×t) → BN → ReLU6 → depthwise 3×3 → BN → ReLU6 → 1×1 project → BN (linear bottleneck),
    plus the input when stride is 1 and the channels match."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = int(round(in_channels * expand_ratio))
        self.use_residual = stride == 1 and in_channels == out_channels
        layers = [ConvBNAct(in_channels, hidden, 1, activation=nn.ReLU6)] if expand_ratio != 1 else []
        layers += [ConvBNAct(hidden, hidden, 3, stride=stride, groups=hidden, activation=nn.ReLU6),
                   nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)]
        self.conv = nn.Sequential(*layers)  # torchvision's name and layout: its state_dict keys

    def forward(self, x):
        return x + self.conv(x) if self.use_residual else self.conv(x)


# (expansion t, channels c, repeats n, first stride s) of the paper's Table 2
MOBILENET_V2_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                        (6, 320, 1, 1)]


class MobileNetV2(SummaryMixin, nn.Module):
    """Initialisation as torchvision's reference: He normal (fan-out) convolutions, BN γ=1 β=0,
    N(0, 0.01²) linear weights, zero biases.

    Small inputs (``input_size <= 64``): the first convolution and the first 24-channel stage use
    stride 1 (total stride 8 instead of 32), so a 32×32 image ends at 4×4. The ImageNet form needs at
    least 32×32."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, width_mult: float = 1.0,
                 dropout: float = 0.2):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=8)
        width_mult = check_float("width_mult", width_mult, 1e-3, 10.0)
        dropout = check_probability("dropout", dropout)
        small = is_small(input_size)
        c = make_divisible(32 * width_mult)
        last = make_divisible(1280 * max(1.0, width_mult))
        layers = [ConvBNAct(in_channels, c, 3, stride=1 if small else 2, activation=nn.ReLU6)]
        for stage, (t, out, n, s) in enumerate(MOBILENET_V2_SETTING):
            out = make_divisible(out * width_mult)
            if small and stage == 1:
                s = 1
            for i in range(n):
                layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        layers.append(ConvBNAct(c, last, 1, activation=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))
        self.default_input_shape = (in_channels, input_size, input_size)
        _init_mobilenet(self)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


@register_model
def mobilenet_v1(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, width_mult: float = 1.0,
                 dropout: float = 1e-3) -> MobileNetV1:
    """MobileNet v1 (13 depthwise separable blocks, width multiplier α): 4,231,976 parameters at α = 1."""
    return MobileNetV1(num_classes, in_channels, input_size, width_mult, dropout)


@register_model
def mobilenet_v2(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, width_mult: float = 1.0,
                 dropout: float = 0.2) -> MobileNetV2:
    """MobileNet v2 (inverted residuals with linear bottlenecks): 3,504,872 parameters."""
    return MobileNetV2(num_classes, in_channels, input_size, width_mult, dropout)
