"""Squeeze-and-Excitation networks (Hu, Shen & Sun 2018).

An SE block recalibrates channels: *squeeze* each channel to one number by global average pooling,
*excite* with a small gate (FC C → C/r → ReLU → FC C/r → C → sigmoid) that sees all channels at once,
then *rescale* every channel of the input by its gate value in (0, 1). It adds little compute and few
parameters to any architecture. SE-ResNet-50 puts one (reduction r = 16) at the end of the residual
branch of every bottleneck, before the addition: 28,088,024 parameters at 1000 classes.
"""
from __future__ import annotations

from functools import partial

from ember import nn
from ember.models._common import check_int
from ember.models.registry import register_model
from ember.models.resnet import Bottleneck, ResNet


class SqueezeExcitation(nn.Module):
    """x · gate(x), gate = sigmoid(FC₂(act(FC₁(global_avg_pool(x))))). The two FC layers are 1×1
    convolutions with bias on the pooled 1×1 map (the same parameters as linear layers, no reshaping).
    EfficientNet reuses this block with SiLU and a squeeze width set by the block's input channels."""

    def __init__(self, channels: int, squeeze_channels: int, activation: type = None):
        super().__init__()
        channels, squeeze_channels = check_int("channels", channels), check_int("squeeze_channels", squeeze_channels)
        # torchvision's names (avgpool, fc1, fc2, scale_activation): EfficientNet's state_dict keys match its
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.activation = (activation or nn.ReLU)()
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.scale_activation = nn.Sigmoid()

    def forward(self, x):
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return x * scale


class SEBottleneck(Bottleneck):
    """A ResNet bottleneck whose residual branch ends in a squeeze-and-excitation block."""

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 drop_rate: float = 0.0, reduction: int = 16):
        super().__init__(in_channels, planes, stride, downsample, drop_rate)
        out = planes * self.expansion
        self.se = SqueezeExcitation(out, out // reduction)

    def residual(self, x):
        return self.se(super().residual(x))


@register_model
def se_resnet50(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, reduction: int = 16,
                zero_init_residual: bool = False, drop_path_rate: float = 0.0) -> ResNet:
    """SE-ResNet-50 (an SE block, reduction 16, in every bottleneck): 28,088,024 parameters."""
    reduction = check_int("reduction", reduction)
    if reduction > 64:
        raise ValueError(f"reduction must be at most 64 (the narrowest bottleneck has 256 channels), got {reduction}")
    block = partial(SEBottleneck, reduction=reduction)
    block.expansion = SEBottleneck.expansion
    return ResNet(block, (3, 4, 6, 3), num_classes, in_channels, input_size, zero_init_residual, drop_path_rate)
