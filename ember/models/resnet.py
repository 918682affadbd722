"""Residual networks (He et al. 2016): ImageNet ResNet-18/34/50 and the CIFAR ResNet-20/32/56.

Each block learns a residual F(x) and outputs ReLU(F(x) + x): the skip connection carries x (and its
gradient) through unchanged, so a block only has to learn a correction and a very deep stack trains
as easily as a shallow one. Where a block halves the resolution and widens the channels the shortcut
has to change shape too (the block's ``downsample``; see ``PadShortcut`` and ``projection`` below).
Module names follow torchvision (``conv1``, ``bn1``, ``layer1``…``layer4``, ``fc``; in a block ``conv1``, ``bn1``,
``conv2``, ``bn2`` (, ``conv3``, ``bn3``), ``downsample``), so its state_dict keys and idioms such as
``model.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)`` carry over.

Blocks: *basic* (3×3 → 3×3, ResNet-18/34 and the CIFAR nets) and *bottleneck* (1×1 reduce → 3×3 →
1×1 expand ×4, ResNet-50; the stride sits on the 3×3 as in torchvision's reference). Initialisation as
torchvision's: He normal (fan-out) convolutions, BN γ=1 β=0; with ``zero_init_residual=True`` the last
BN γ of every residual branch starts at 0, so each block starts as the identity and
Var(F(x)+x) = Var(x) (NOTES §5). ``drop_path_rate`` turns on stochastic depth (Huang et al. 2016):
during training each residual branch is skipped for a whole example with a probability that rises
linearly from rate/L for the first block to ``rate`` for the last; at test time the full net runs.
11,689,512 (ResNet-18), 21,797,672 (ResNet-34) and 25,557,032 (ResNet-50) parameters at 1000 classes.
"""
from __future__ import annotations

import ember
from ember import nn
from ember.models._common import (check_common, check_int, check_probability, init_conv_bn_, is_small,
                                  linear_drop_rates)
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin


def drop_path(p: float) -> nn.Module:
    """Stochastic depth on a residual branch (identity when p is 0)."""
    return nn.StochasticDepth(p, mode="row") if p > 0 else nn.Identity()


class _Block(nn.Module):
    """ReLU(F(x) + shortcut(x)): the residual branch F is ``residual``; the shortcut is ``downsample`` where the
    block changes shape (None: the identity). Attribute names are torchvision's, so are the state_dict keys."""

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.drop_path(self.residual(x)) + identity)


class BasicBlock(_Block):
    """F = 3×3 conv → BN → ReLU → 3×3 conv → BN."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 drop_rate: float = 0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride
        self.drop_path = drop_path(drop_rate)

    def residual(self, x):
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))


class Bottleneck(_Block):
    """F = 1×1 conv (reduce) → BN → ReLU → 3×3 conv (stride) → BN → ReLU → 1×1 conv (expand to 4·planes) → BN."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 drop_rate: float = 0.0):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride
        self.drop_path = drop_path(drop_rate)

    def residual(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(x)))
        return self.bn3(self.conv3(x))


def last_residual_bn(block: nn.Module):
    """The BN that closes a block's residual branch (the one ``zero_init_residual`` zeroes)."""
    return block.bn3 if isinstance(block, Bottleneck) else block.bn2


class PadShortcut(nn.Module):
    """Option A shortcut: take every ``stride``-th pixel and zero-pad the new channels (no parameters)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x):
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        extra = self.out_channels - self.in_channels
        return ember.pad(x, (0, 0, 0, 0, extra // 2, extra - extra // 2)) if extra else x

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


def projection(in_channels: int, out_channels: int, stride: int) -> nn.Module:
    """Option B shortcut: 1×1 convolution (with the block's stride) → BN."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels))


def _init_resnet(model: nn.Module, blocks, zero_init_residual: bool) -> None:
    init_conv_bn_(model)  # the linear head keeps its default initialisation
    if zero_init_residual:
        for b in blocks:
            nn.init.zeros_(last_residual_bn(b).weight)


class ResNet(SummaryMixin, nn.Module):
    """The ImageNet ResNet: 7×7 stride-2 conv → BN → ReLU → 3×3 max pool, four stages of blocks
    (64-128-256-512 planes, the last three start with stride 2), global average pooling, linear.

    Small inputs (``input_size <= 64``): the stem becomes a 3×3 stride-1 conv → BN → ReLU without max
    pooling, so 32×32 images reach the last stage at 4×4. The ImageNet form needs at least 32×32."""

    def __init__(self, block: type, layers, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224,
                 zero_init_residual: bool = False, drop_path_rate: float = 0.0):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=8)
        if not isinstance(layers, (list, tuple)) or len(layers) != 4:
            raise ValueError(f"layers must give the number of blocks in each of the 4 stages, got {layers!r}")
        layers = [check_int(f"layers[{i}]", n) for i, n in enumerate(layers)]
        drop_path_rate = check_probability("drop_path_rate", drop_path_rate)
        small = is_small(input_size)  # the stem: torchvision's names, so `model.conv1 = ...` works as there
        self.conv1 = (nn.Conv2d(in_channels, 64, 3, padding=1, bias=False) if small else
                      nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False))
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.Identity() if small else nn.MaxPool2d(3, stride=2, padding=1)
        rates = iter(linear_drop_rates(drop_path_rate, sum(layers)))
        stages, blocks, c = [], [], 64
        for i, (n, planes) in enumerate(zip(layers, (64, 128, 256, 512))):
            stage = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                out = planes * block.expansion
                shortcut = projection(c, out, stride) if stride != 1 or c != out else None
                stage.append(block(c, planes, stride, shortcut, next(rates)))
                c = out
            blocks += stage
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c, num_classes)
        self.default_input_shape = (in_channels, input_size, input_size)
        _init_resnet(self, blocks, zero_init_residual)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


class CifarResNet(SummaryMixin, nn.Module):
    """He et al.'s CIFAR-10 ResNet with 6n+2 layers: 3×3 conv (16) → BN → ReLU, three stages of n basic
    blocks with 16, 32 and 64 channels (stride 2 at the start of the 2nd and 3rd), global average
    pooling, linear. Where a stage widens, the shortcut is option A (default, as in the paper's CIFAR
    experiments: sub-sample and zero-pad the new channels, no parameters) or option B (1×1 projection
    with BN). Any input of at least 8×8 works."""

    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3, input_size: int = 32,
                 shortcut: str = "A", zero_init_residual: bool = False, drop_path_rate: float = 0.0):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=8)
        depth = check_int("depth", depth, minimum=8)
        if (depth - 2) % 6:
            raise ValueError(f"a CIFAR ResNet has 6n+2 layers (20, 32, 44, 56, 110, ...), got depth={depth}")
        if shortcut not in ("A", "B"):
            raise ValueError(f"shortcut must be 'A' (zero-padding identity) or 'B' (1×1 projection), got {shortcut!r}")
        drop_path_rate = check_probability("drop_path_rate", drop_path_rate)
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        rates = iter(linear_drop_rates(drop_path_rate, 3 * n))
        stages, blocks, c = [], [], 16
        for i, planes in enumerate((16, 32, 64)):
            stage = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1
                sc = None
                if stride != 1 or c != planes:
                    sc = PadShortcut(c, planes, stride) if shortcut == "A" else projection(c, planes, stride)
                stage.append(BasicBlock(c, planes, stride, sc, next(rates)))
                c = planes
            blocks += stage
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, num_classes)
        self.default_input_shape = (in_channels, input_size, input_size)
        _init_resnet(self, blocks, zero_init_residual)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x))))))
        return self.fc(self.avgpool(x).flatten(1))


def _resnet(block, layers, num_classes, in_channels, input_size, zero_init_residual, drop_path_rate):
    return ResNet(block, layers, num_classes, in_channels, input_size, zero_init_residual, drop_path_rate)


@register_model
def resnet18(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, zero_init_residual: bool = False,
             drop_path_rate: float = 0.0) -> ResNet:
    """ResNet-18 (basic blocks 2-2-2-2): 11,689,512 parameters."""
    return _resnet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, input_size, zero_init_residual, drop_path_rate)


@register_model
def resnet34(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, zero_init_residual: bool = False,
             drop_path_rate: float = 0.0) -> ResNet:
    """ResNet-34 (basic blocks 3-4-6-3): 21,797,672 parameters."""
    return _resnet(BasicBlock, (3, 4, 6, 3), num_classes, in_channels, input_size, zero_init_residual, drop_path_rate)


@register_model
def resnet50(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, zero_init_residual: bool = False,
             drop_path_rate: float = 0.0) -> ResNet:
    """ResNet-50 (bottleneck blocks 3-4-6-3): 25,557,032 parameters."""
    return _resnet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, input_size, zero_init_residual, drop_path_rate)


def _cifar(depth, num_classes, in_channels, input_size, shortcut, zero_init_residual, drop_path_rate):
    return CifarResNet(depth, num_classes, in_channels, input_size, shortcut, zero_init_residual, drop_path_rate)


@register_model
def resnet20(num_classes: int = 10, in_channels: int = 3, input_size: int = 32, shortcut: str = "A",
             zero_init_residual: bool = False, drop_path_rate: float = 0.0) -> CifarResNet:
    """CIFAR ResNet-20 (3 stages of 3 basic blocks): 0.27M parameters (269,722 at 10 classes, option A)."""
    return _cifar(20, num_classes, in_channels, input_size, shortcut, zero_init_residual, drop_path_rate)


@register_model
def resnet32(num_classes: int = 10, in_channels: int = 3, input_size: int = 32, shortcut: str = "A",
             zero_init_residual: bool = False, drop_path_rate: float = 0.0) -> CifarResNet:
    """CIFAR ResNet-32 (3 stages of 5 basic blocks): 0.46M parameters (464,154 at 10 classes, option A)."""
    return _cifar(32, num_classes, in_channels, input_size, shortcut, zero_init_residual, drop_path_rate)


@register_model
def resnet56(num_classes: int = 10, in_channels: int = 3, input_size: int = 32, shortcut: str = "A",
             zero_init_residual: bool = False, drop_path_rate: float = 0.0) -> CifarResNet:
    """CIFAR ResNet-56 (3 stages of 9 basic blocks): 0.85M parameters (853,018 at 10 classes, option A)."""
    return _cifar(56, num_classes, in_channels, input_size, shortcut, zero_init_residual, drop_path_rate)
