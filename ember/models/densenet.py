"""DenseNet (Huang, Liu, van der Maaten & Weinberger 2017).

Inside a dense block every layer takes the concatenation of *all* earlier feature maps of the block
and adds ``growth_rate`` new maps to it: features are reused instead of re-learnt, so layers can be
narrow (k = 32 maps each) and gradients reach every layer directly. A layer is BN → ReLU → 1×1 conv
(4k, the bottleneck) → BN → ReLU → 3×3 conv (k). Between blocks a transition (BN → ReLU → 1×1 conv that
halves the channels → 2×2 average pool) shrinks both the maps and their number.
DenseNet-121: stem 7×7 conv (64) and max pool, blocks of 6-12-24-16 layers, final BN → ReLU → global
average pooling → linear; 7,978,856 parameters at 1000 classes. DenseNet-169, -201 and -161 differ only in
their block sizes and growth rate. Module names are torchvision's (features.conv0, features.denseblock1.
denselayer1.conv1, features.transition1.conv, features.norm5, classifier), so state_dict keys match.
"""
from __future__ import annotations

from collections import OrderedDict

import ember
from ember import nn
from ember.nn import functional as F
from ember.models._common import check_common, check_int, check_probability, is_small
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin


class DenseLayer(nn.Module):
    """BN → ReLU → 1×1 conv (bn_size·k) → BN → ReLU → 3×3 conv (k) [→ dropout]; returns cat(x, new).
    Module names are torchvision's (norm1, relu1, conv1, norm2, relu2, conv2), so state_dict keys match."""

    def __init__(self, in_channels: int, growth_rate: int, bn_size: int, drop_rate: float):
        super().__init__()
        inner = bn_size * growth_rate
        self.norm1, self.relu1 = nn.BatchNorm2d(in_channels), nn.ReLU()
        self.conv1 = nn.Conv2d(in_channels, inner, 1, bias=False)
        self.norm2, self.relu2 = nn.BatchNorm2d(inner), nn.ReLU()
        self.conv2 = nn.Conv2d(inner, growth_rate, 3, padding=1, bias=False)
        self.drop_rate = drop_rate

    def forward(self, x):
        new = self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))
        if self.drop_rate > 0:
            new = F.dropout(new, self.drop_rate, self.training)
        return ember.cat([x, new], dim=1)

    def extra_repr(self) -> str:
        return f"drop_rate={self.drop_rate}" if self.drop_rate else ""


class DenseBlock(nn.Sequential):
    """``num_layers`` dense layers (denselayer1, denselayer2, …); layer i sees in_channels + i·k channels."""

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int, bn_size: int, drop_rate: float):
        super().__init__(OrderedDict(
            (f"denselayer{i + 1}", DenseLayer(in_channels + i * growth_rate, growth_rate, bn_size, drop_rate))
            for i in range(num_layers)))
        self.out_channels = in_channels + num_layers * growth_rate


class Transition(nn.Sequential):
    """BN → ReLU → 1×1 conv → 2×2 average pool (norm, relu, conv, pool)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(in_channels)), ("relu", nn.ReLU()),
            ("conv", nn.Conv2d(in_channels, out_channels, 1, bias=False)), ("pool", nn.AvgPool2d(2, stride=2))]))


class DenseNet(SummaryMixin, nn.Module):
    """Initialisation as torchvision's reference: He normal (fan-in) convolutions, BN γ=1 β=0, zero
    linear bias. ``compression`` is the fraction of channels a transition keeps (0.5, DenseNet-BC).

    Small inputs (``input_size <= 64``): the stem becomes a 3×3 stride-1 convolution without max
    pooling, so a 32×32 image reaches the last block at 4×4. The ImageNet form needs at least 32×32."""

    def __init__(self, growth_rate: int = 32, block_config=(6, 12, 24, 16), num_init_features: int = 64,
                 bn_size: int = 4, drop_rate: float = 0.0, compression: float = 0.5, num_classes: int = 1000,
                 in_channels: int = 3, input_size: int = 224):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=8)
        growth_rate, bn_size = check_int("growth_rate", growth_rate), check_int("bn_size", bn_size)
        num_init_features = check_int("num_init_features", num_init_features)
        drop_rate = check_probability("drop_rate", drop_rate)
        if not (isinstance(compression, (int, float)) and 0 < compression <= 1):
            raise ValueError(f"compression must be in (0, 1], got {compression!r}")
        if not isinstance(block_config, (list, tuple)) or not block_config:
            raise ValueError(f"block_config must list the layers of each dense block, got {block_config!r}")
        if is_small(input_size):
            stem = [("conv0", nn.Conv2d(in_channels, num_init_features, 3, padding=1, bias=False))]
        else:
            stem = [("conv0", nn.Conv2d(in_channels, num_init_features, 7, stride=2, padding=3, bias=False)),
                    ("norm0", nn.BatchNorm2d(num_init_features)), ("relu0", nn.ReLU()),
                    ("pool0", nn.MaxPool2d(3, stride=2, padding=1))]
        self.features = nn.Sequential(OrderedDict(stem))
        c = num_init_features
        for i, n in enumerate(block_config):
            block = DenseBlock(check_int(f"block_config[{i}]", n), c, growth_rate, bn_size, drop_rate)
            self.features.add_module(f"denseblock{i + 1}", block)
            c = block.out_channels
            if i < len(block_config) - 1:
                self.features.add_module(f"transition{i + 1}", Transition(c, int(c * compression)))
                c = int(c * compression)
        self.features.add_module("norm5", nn.BatchNorm2d(c))  # torchvision's name, whatever the number of blocks
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)
        self.default_input_shape = (in_channels, input_size, input_size)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.avgpool(F.relu(self.features(x))).flatten(1))


@register_model
def densenet121(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, drop_rate: float = 0.0,
                growth_rate: int = 32) -> DenseNet:
    """DenseNet-121 (growth 32, dense blocks 6-12-24-16): 7,978,856 parameters."""
    return DenseNet(growth_rate, (6, 12, 24, 16), 2 * growth_rate, 4, drop_rate, 0.5, num_classes, in_channels,
                    input_size)


@register_model
def densenet169(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224,
                drop_rate: float = 0.0) -> DenseNet:
    """DenseNet-169 (growth 32, dense blocks 6-12-32-32): 14,149,480 parameters."""
    return DenseNet(32, (6, 12, 32, 32), 64, 4, drop_rate, 0.5, num_classes, in_channels, input_size)


@register_model
def densenet201(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224,
                drop_rate: float = 0.0) -> DenseNet:
    """DenseNet-201 (growth 32, dense blocks 6-12-48-32): 20,013,928 parameters."""
    return DenseNet(32, (6, 12, 48, 32), 64, 4, drop_rate, 0.5, num_classes, in_channels, input_size)


@register_model
def densenet161(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224,
                drop_rate: float = 0.0) -> DenseNet:
    """DenseNet-161 (growth 48, 96 stem maps, dense blocks 6-12-36-24): 28,681,000 parameters."""
    return DenseNet(48, (6, 12, 36, 24), 96, 4, drop_rate, 0.5, num_classes, in_channels, input_size)
