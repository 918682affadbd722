"""GoogLeNet (Szegedy et al. 2015), batch-normalised as in torchvision's reference; the auxiliary
classifiers on request (``aux_logits=True``).

The Inception block looks at the same input at several scales in parallel and concatenates the
results along the channels: a 1×1 branch, a 1×1 → 3×3 branch, a 1×1 → "5×5" branch and a
3×3 max-pool → 1×1 branch. The 1×1 convolutions in front reduce the channels, so the wide block stays
cheap. Nine Inception blocks in five stages: stem (7×7 conv, pool), 1×1 and 3×3 convs (pool),
3a-3b (pool), 4a-4e (pool), 5a-5b, then global average pooling, dropout and one linear layer.

Reference deviation, kept for the count: torchvision's third branch uses a 3×3 convolution where the
paper has 5×5 (``paper_kernels=True`` restores 5×5 at 7,005,832 parameters instead of 6,624,904).
Every convolution is conv (no bias) → BatchNorm2d(eps=1e-3) → ReLU.
"""
from __future__ import annotations

from collections import namedtuple

import ember
from ember import nn
from ember.nn import functional as F
from ember.models._common import check_common, check_probability, is_small
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin


class BasicConv2d(nn.Module):
    """conv (no bias) → BatchNorm2d → ReLU (torchvision's names: conv, bn)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    """Four parallel branches concatenated along the channels:
    1×1 | 1×1 → 3×3 | 1×1 → k×k (k = 3 as in torchvision, 5 in the paper) | 3×3 max pool → 1×1."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                 pool_proj: int, third_kernel: int = 3):
        super().__init__()
        self.branch1 = BasicConv2d(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(in_channels, ch3x3red, 1), BasicConv2d(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(in_channels, ch5x5red, 1),
                                     BasicConv2d(ch5x5red, ch5x5, third_kernel, padding=third_kernel // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(in_channels, pool_proj, 1))
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x):
        return ember.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class InceptionAux(nn.Module):
    """An auxiliary classifier on an intermediate map (the paper's, with torchvision's layers): 4×4 average
    pool → 1×1 conv (128) → linear 2048→1024 → ReLU → dropout (0.7) → linear. Used only while training."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float = 0.7):
        super().__init__()
        self.dropout = check_probability("dropout_aux", dropout)
        self.conv = BasicConv2d(in_channels, 128, 1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.conv(F.adaptive_avg_pool2d(x, (4, 4))).flatten(1)
        return self.fc2(F.dropout(F.relu(self.fc1(x)), self.dropout, self.training))


GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
"""What a GoogLeNet with ``aux_logits=True`` returns in training mode (torchvision's name and order)."""

# (in, 1×1, 3×3 reduce, 3×3, 5×5 reduce, 5×5, pool proj): the paper's Table 1
INCEPTION_3 = [(192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64)]
INCEPTION_4 = [(480, 192, 96, 208, 16, 48, 64), (512, 160, 112, 224, 24, 64, 64), (512, 128, 128, 256, 24, 64, 64),
               (512, 112, 144, 288, 32, 64, 64), (528, 256, 160, 320, 32, 128, 128)]
INCEPTION_5 = [(832, 256, 160, 320, 32, 128, 128), (832, 384, 192, 384, 48, 128, 128)]


class GoogLeNet(SummaryMixin, nn.Module):
    """Initialisation as torchvision's reference: truncated normal (σ = 0.01, cut at ±2) for the
    convolution and linear weights, BN γ=1 β=0 (``init_weights=False``: the layers' own defaults).

    Module names are torchvision's (conv1, maxpool1, conv2, conv3, maxpool2, inception3a … inception5b,
    aux1, aux2, avgpool, dropout, fc), so state_dict keys match. ``aux_logits=True`` adds the two auxiliary
    classifiers; a model in training mode then returns ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)``
    (the paper weights their losses by 0.3), in evaluation mode the logits alone. ``transform_input``
    re-normalises ImageNet-normalised inputs to [-1, 1] per channel, as torchvision's does.

    Small inputs (``input_size <= 64``): the 7×7 stride-2 stem becomes a 3×3 stride-1 convolution and its max
    pool is dropped (``maxpool1`` is an Identity), so 32×32 images reach the Inception blocks at 16×16. The
    ImageNet form needs at least 32×32 inputs."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.2,
                 paper_kernels: bool = False, aux_logits: bool = False, transform_input: bool = False,
                 init_weights: bool | None = None, dropout_aux: float = 0.7):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=8)
        dropout = check_probability("dropout", dropout)
        if transform_input and in_channels != 3:
            raise ValueError(f"transform_input re-normalises the three ImageNet channels; in_channels={in_channels}")
        k = 5 if paper_kernels else 3
        if is_small(input_size):
            self.conv1, self.maxpool1 = BasicConv2d(in_channels, 64, 3, padding=1), nn.Identity()
        else:
            self.conv1 = BasicConv2d(in_channels, 64, 7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a, self.inception3b = (Inception(*c, third_kernel=k) for c in INCEPTION_3)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        (self.inception4a, self.inception4b, self.inception4c, self.inception4d,
         self.inception4e) = (Inception(*c, third_kernel=k) for c in INCEPTION_4)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a, self.inception5b = (Inception(*c, third_kernel=k) for c in INCEPTION_5)
        self.aux_logits, self.transform_input = bool(aux_logits), bool(transform_input)
        self.aux1 = InceptionAux(512, num_classes, dropout_aux) if aux_logits else None
        self.aux2 = InceptionAux(528, num_classes, dropout_aux) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)
        self.default_input_shape = (in_channels, input_size, input_size)
        if init_weights is None or init_weights:
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2.0, b=2.0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)

    def _transform(self, x):
        """ImageNet normalisation (mean, std per channel) undone, then (x - 0.5) / 0.5, as torchvision does."""
        scale = ember.tensor([0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5]).reshape(1, 3, 1, 1)
        shift = ember.tensor([(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5]).reshape(1, 3, 1, 1)
        return x * scale + shift

    def forward(self, x):
        if self.transform_input:
            x = self._transform(x)
        x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
        x = self.inception4a(self.maxpool3(self.inception3b(self.inception3a(x))))
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.inception5b(self.inception5a(self.maxpool4(self.inception4e(x))))
        logits = self.fc(self.dropout(self.avgpool(x).flatten(1)))
        if self.training and self.aux_logits:
            return GoogLeNetOutputs(logits, aux2, aux1)
        return logits


@register_model
def googlenet(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.2,
              paper_kernels: bool = False, aux_logits: bool = False, transform_input: bool = False,
              init_weights: bool | None = None, dropout_aux: float = 0.7) -> GoogLeNet:
    """GoogLeNet with batch norm, no auxiliary heads unless asked (9 Inception blocks): 6,624,904 parameters."""
    return GoogLeNet(num_classes, in_channels, input_size, dropout, paper_kernels, aux_logits, transform_input,
                     init_weights, dropout_aux)
