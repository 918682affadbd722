"""LeNet-5 with batch normalisation and wider layers: the small CNN of ``make demo``.

The LeNet-5 layout (conv5×5 → pool 2 → conv5×5 → pool 2 → fully connected) with what the notes add to
it: batch norm after every convolution and the hidden fully connected layer, placed after the affine
map and before the ReLU, so the preceding biases are dropped as redundant (NOTES §6); ``width`` times
LeNet's 6 and 16 channels; a 128-unit hidden layer with dropout (NOTES §7). At width 2 on 28×28 inputs:
12 and 32 channels, 113,934 parameters, about 1.3 M multiply-accumulates per image — three times
LeNet-5's compute for about 1.5 points more Fashion-MNIST accuracy in a few epochs.
"""
from __future__ import annotations

from ember import nn
from ember.models._common import check_common, check_int, check_probability
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin


class LeNet5BN(SummaryMixin, nn.Module):
    """conv5×5(6w) → BN → ReLU → max-pool 2 → conv5×5(16w) → BN → ReLU → max-pool 2 → FC(hidden) → BN → ReLU
    → dropout → FC(classes). He-normal initialisation, batch norm γ = 1, β = 0."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 28, width: int = 2,
                 hidden: int = 128, dropout: float = 0.2):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=28)
        width, hidden = check_int("width", width), check_int("hidden", hidden)
        dropout = check_probability("dropout", dropout)
        c1, c2 = 6 * width, 16 * width
        pad = 2 if input_size < 32 else 0
        side = ((input_size + 2 * pad - 4) // 2 - 4) // 2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=5, padding=pad, bias=False), nn.BatchNorm2d(c1), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, kernel_size=5, bias=False), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
        )
        layers = [nn.Flatten(1), nn.Linear(c2 * side * side, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(hidden, num_classes))
        self.classifier = nn.Sequential(*layers)
        self.default_input_shape = (in_channels, input_size, input_size)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model
def lenet5_bn(num_classes: int = 10, in_channels: int = 1, input_size: int = 28, width: int = 2, hidden: int = 128,
              dropout: float = 0.2) -> LeNet5BN:
    """LeNet-5 with batch norm, width× the channels and a dropout hidden layer (the demo's CNN): 113,934 parameters."""
    return LeNet5BN(num_classes, in_channels, input_size, width, hidden, dropout)
