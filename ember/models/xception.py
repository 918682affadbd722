"""Xception (Chollet 2017): "extreme Inception" — the Inception idea taken to its limit.

An Inception block maps cross-channel and spatial correlations partly separately; Xception assumes
they can be mapped *completely* separately and replaces the block with a depthwise separable
convolution (depthwise 3×3 → pointwise 1×1, without a non-linearity between them), stacked with
residual connections. 36 such convolutions in 14 modules:
entry flow (two 3×3 convs, then three modules 128-256-728 that each end in a stride-2 max pool with a
strided 1×1 projection shortcut), middle flow (8 identical 728-channel modules of three separable
convs with identity shortcuts), exit flow (a 728→1024 module with projection shortcut, separable
1536 and 2048, global average pooling, linear). Layout and count as Keras's reference: 22,855,952
trainable parameters at 1000 classes (the BN running statistics are not trainable).
"""
from __future__ import annotations

from ember import nn
from ember.models._common import check_common, check_int, is_small
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin


class SeparableConv2d(nn.Sequential):
    """Depthwise 3×3 (groups = channels) → pointwise 1×1, both without bias and with nothing between."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False),
                         nn.Conv2d(in_channels, out_channels, 1, bias=False))


class XceptionModule(nn.Module):
    """Residual module: [ReLU → SeparableConv → BN] × len(widths), then a 3×3 stride-2 max pool when
    ``downsample``; shortcut: identity, or 1×1 stride-2 conv → BN when the module downsamples.
    ``first_relu=False`` drops the leading ReLU (the first entry module follows a ReLU already)."""

    def __init__(self, in_channels: int, widths, downsample: bool, first_relu: bool = True):
        super().__init__()
        layers, c = [], in_channels
        for i, w in enumerate(widths):
            if i > 0 or first_relu:
                layers.append(nn.ReLU())
            layers += [SeparableConv2d(c, w), nn.BatchNorm2d(w, eps=1e-3)]
            c = w
        if downsample:
            layers.append(nn.MaxPool2d(3, stride=2, padding=1))
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, c, 1, stride=2, bias=False), nn.BatchNorm2d(c, eps=1e-3))
        else:
            if c != in_channels:
                raise ValueError(f"an identity shortcut needs equal widths, got {in_channels} → {c}")
            self.shortcut = nn.Identity()
        self.residual = nn.Sequential(*layers)

    def forward(self, x):
        return self.residual(x) + self.shortcut(x)


class Xception(SummaryMixin, nn.Module):
    """Initialisation as Keras's reference: Glorot uniform weights, zero biases, BN γ=1 β=0.
    The reference input is 299×299; any size from 71×71 works for the ImageNet form.

    Small inputs (``input_size <= 64``): the first convolution has stride 1 (and 'same' padding), so a
    32×32 image reaches the exit flow at 4×4."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, input_size: int = 299,
                 middle_repeats: int = 8):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=8)
        middle_repeats = check_int("middle_repeats", middle_repeats, minimum=0)
        small = is_small(input_size)
        if not small and input_size < 71:
            raise ValueError(f"Xception's ImageNet stem needs inputs of at least 71×71, got input_size={input_size}")
        stem1 = nn.Conv2d(in_channels, 32, 3, padding=1, bias=False) if small else \
            nn.Conv2d(in_channels, 32, 3, stride=2, bias=False)
        self.entry_flow = nn.Sequential(
            stem1, nn.BatchNorm2d(32, eps=1e-3), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1 if small else 0, bias=False), nn.BatchNorm2d(64, eps=1e-3), nn.ReLU(),
            XceptionModule(64, (128, 128), downsample=True, first_relu=False),
            XceptionModule(128, (256, 256), downsample=True),
            XceptionModule(256, (728, 728), downsample=True),
        )
        self.middle_flow = nn.Sequential(*[XceptionModule(728, (728, 728, 728), downsample=False)
                                           for _ in range(middle_repeats)])
        self.exit_flow = nn.Sequential(
            XceptionModule(728, (728, 1024), downsample=True),
            SeparableConv2d(1024, 1536), nn.BatchNorm2d(1536, eps=1e-3), nn.ReLU(),
            SeparableConv2d(1536, 2048), nn.BatchNorm2d(2048, eps=1e-3), nn.ReLU(),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)
        self.default_input_shape = (in_channels, input_size, input_size)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.exit_flow(self.middle_flow(self.entry_flow(x)))
        return self.fc(self.avgpool(x).flatten(1))


@register_model
def xception(num_classes: int = 1000, in_channels: int = 3, input_size: int = 299) -> Xception:
    """Xception (36 depthwise separable convolutions with residual connections): 22,855,952 parameters."""
    return Xception(num_classes, in_channels, input_size)
