"""Network in Network (Lin, Chen & Yan 2014).

Two ideas. (1) The mlpconv block: a k×k convolution followed by two 1×1 convolutions, each with a
ReLU, i.e. a small multilayer perceptron slid over every position (1×1 convolutions as a micro
network that mixes channels). (2) No fully connected layers: the last mlpconv block outputs one map
per class and global average pooling turns each map into that class's score, which removes most of
the parameters of an AlexNet-style classifier and makes the maps interpretable as class confidences.

ImageNet form (the authors' released 4-block model): mlpconv 96 (11×11 stride 4), 256 (5×5), 384 (3×3)
separated by 3×3 stride-2 max pools, dropout, then mlpconv 1024-1024-classes (3×3) and global average
pooling. Small inputs use the paper's CIFAR-10 model: mlpconv 192-160-96 (5×5), max pool, dropout,
mlpconv 192-192-192 (5×5), average pool, dropout, mlpconv 192-192-classes (3×3), global average pooling.
The parameter count is Σ (k²·c_in·c_out + c_out) over the convolutions (``nin_num_parameters``).
"""
from __future__ import annotations

from ember import nn
from ember.models._common import check_common, check_probability, is_small
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin


class MLPConv(nn.Sequential):
    """k×k conv → ReLU → 1×1 conv → ReLU → 1×1 conv (→ ReLU): an MLP applied at every position.
    The last block outputs the class maps and leaves them unrectified (``last_relu=False``), so that
    no class score is stuck at zero with a zero gradient."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int], kernel_size: int, stride: int = 1,
                 padding: int = 0, last_relu: bool = True):
        a, b, c = widths
        super().__init__(
            nn.Conv2d(in_channels, a, kernel_size, stride=stride, padding=padding), nn.ReLU(),
            nn.Conv2d(a, b, 1), nn.ReLU(),
            nn.Conv2d(b, c, 1), *([nn.ReLU()] if last_relu else []),
        )


def nin_blocks(num_classes: int, small: bool) -> list[tuple]:
    """(widths, kernel, stride, padding) of the three or four mlpconv blocks."""
    if small:
        return [((192, 160, 96), 5, 1, 2), ((192, 192, 192), 5, 1, 2), ((192, 192, num_classes), 3, 1, 1)]
    return [((96, 96, 96), 11, 4, 0), ((256, 256, 256), 5, 1, 2), ((384, 384, 384), 3, 1, 1),
            ((1024, 1024, num_classes), 3, 1, 1)]


def nin_num_parameters(num_classes: int = 1000, in_channels: int = 3, small: bool = False) -> int:
    """Σ (k²·c_in·c_out + c_out) over the k×k and 1×1 convolutions of every mlpconv block."""
    total, c = 0, in_channels
    for widths, k, _, _ in nin_blocks(num_classes, small):
        for i, w in enumerate(widths):
            kk = k * k if i == 0 else 1
            total += kk * c * w + w
            c = w
    return total


class NiN(SummaryMixin, nn.Module):
    """Initialisation: He normal (fan-in) weights and zero biases (NOTES §5), in place of the reference's
    hand-tuned fixed Gaussians, which blow up or vanish in a ReLU net of this depth.
    The ImageNet form needs inputs of at least 67×67 (the last pooling must see a 3×3 map)."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.5):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=8)
        dropout = check_probability("dropout", dropout)
        small = is_small(input_size)
        specs = nin_blocks(num_classes, small)
        blocks = [MLPConv(c_in, w, k, s, p, last_relu=i < len(specs) - 1) for i, (c_in, (w, k, s, p)) in
                  enumerate(zip(self._inputs(in_channels, num_classes, small), specs))]
        if small:
            self.features = nn.Sequential(
                blocks[0], nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.Dropout(dropout),
                blocks[1], nn.AvgPool2d(3, stride=2, ceil_mode=True), nn.Dropout(dropout),
                blocks[2],
            )
        else:
            self.features = nn.Sequential(
                blocks[0], nn.MaxPool2d(3, stride=2),
                blocks[1], nn.MaxPool2d(3, stride=2),
                blocks[2], nn.MaxPool2d(3, stride=2), nn.Dropout(dropout),
                blocks[3],
            )
        self.gap = nn.AdaptiveAvgPool2d(1)  # one score per class map: no fully connected layer
        self.default_input_shape = (in_channels, input_size, input_size)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    @staticmethod
    def _inputs(in_channels, num_classes, small):
        outs = [w[-1] for w, *_ in nin_blocks(num_classes, small)]
        return [in_channels] + outs[:-1]

    def forward(self, x):
        return self.gap(self.features(x)).flatten(1)


@register_model
def nin(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, dropout: float = 0.5) -> NiN:
    """Network in Network: mlpconv blocks of 1×1 convolutions and global average pooling, no FC layer."""
    return NiN(num_classes, in_channels, input_size, dropout)
