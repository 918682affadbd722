"""VGG (Simonyan & Zisserman 2015): depth from repeated blocks of small convolutions.

Every convolution is 3×3 with padding 1 (two stacked 3×3 layers see 5×5, three see 7×7, with fewer
parameters and more non-linearities than one large kernel); each block ends in a 2×2 max pooling that
halves the resolution while the width doubles (64-128-256-512-512). Deeper and narrower than AlexNet.
Configurations A (VGG-11: 1-1-2-2-2 convolutions per block) and D (VGG-16: 2-2-3-3-3); ``batch_norm``
adds a BatchNorm2d after each convolution. Classifier: 512·7·7 → 4096 → 4096 → classes with dropout.
132,863,336 (VGG-11), 138,357,544 (VGG-16) and 138,365,992 (VGG-16-BN) parameters at 1000 classes.
"""
from __future__ import annotations

from ember import nn
from ember.models._common import check_common, check_probability, init_conv_bn_, is_small, small_normal_linear_
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin

# convolutions per block for each configuration of the paper's Table 1
CONFIGS = {
    "A": (1, 1, 2, 2, 2),   # VGG-11
    "B": (2, 2, 2, 2, 2),   # VGG-13
    "D": (2, 2, 3, 3, 3),   # VGG-16
    "E": (2, 2, 4, 4, 4),   # VGG-19
}
WIDTHS = (64, 128, 256, 512, 512)


class VGG(SummaryMixin, nn.Module):
    """Initialisation as torchvision's reference: He normal (fan-out) convolutions, N(0, 0.01²)
    linear layers, zero biases, BN γ=1 β=0.

    Small inputs (``input_size <= 64``): the pools use ceil mode so 28×28 still reaches 1×1 after five
    halvings, and the classifier is the usual CIFAR adaptation, dropout → one linear layer on the
    globally pooled 512 features (the three 4096-wide layers would hold most of the parameters and see a
    single pixel). The ImageNet form needs inputs of at least 32×32.
    """

    def __init__(self, config: str = "D", num_classes: int = 1000, in_channels: int = 3, input_size: int = 224,
                 batch_norm: bool = False, dropout: float = 0.5):
        super().__init__()
        if config not in CONFIGS:
            raise ValueError(f"config must be one of {', '.join(CONFIGS)} (the paper's Table 1), got {config!r}")
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=28)
        dropout = check_probability("dropout", dropout)
        small = is_small(input_size)
        layers, c = [], in_channels
        for n_convs, width in zip(CONFIGS[config], WIDTHS):
            for _ in range(n_convs):
                layers.append(nn.Conv2d(c, width, 3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.ReLU())
                c = width
            layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=small))
        self.features = nn.Sequential(*layers)
        if small:  # the CIFAR adaptation: globally pooled 512 features → one linear layer
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(512, num_classes))
        else:
            self.avgpool = nn.AdaptiveAvgPool2d(7)
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(dropout),
                nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
                nn.Linear(4096, num_classes),
            )
        self.default_input_shape = (in_channels, input_size, input_size)
        init_conv_bn_(self, linear=small_normal_linear_)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(config, batch_norm, num_classes, in_channels, input_size, dropout):
    return VGG(config, num_classes, in_channels, input_size, batch_norm=batch_norm, dropout=dropout)


@register_model
def vgg11(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-11 (configuration A): 132,863,336 parameters."""
    return _vgg("A", False, num_classes, in_channels, input_size, dropout)


@register_model
def vgg16(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-16 (configuration D): 138,357,544 parameters."""
    return _vgg("D", False, num_classes, in_channels, input_size, dropout)


@register_model
def vgg16_bn(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.5) -> VGG:
    """VGG-16 with batch normalisation after every convolution: 138,365,992 parameters."""
    return _vgg("D", True, num_classes, in_channels, input_size, dropout)
