"""LeNet-5 (LeCun et al. 1998), in its modern form with ReLU and max pooling.

The first convolutional network: local receptive fields (5×5), weight sharing and sub-sampling,
then a small fully connected classifier. conv5×5→6 → ReLU → max-pool 2 → conv5×5→16 → ReLU →
max-pool 2 → 120 → 84 → classes. On 32×32 inputs the second pooling leaves 16×5×5 = 400 features;
28×28 inputs (MNIST) get padding 2 in the first convolution so that the shapes stay the same.
61,706 parameters for 1×32×32 inputs and 10 classes.
"""
from __future__ import annotations

from ember import nn
from ember.models._common import check_common
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin


class LeNet5(SummaryMixin, nn.Module):
    """LeNet-5 with ReLU and max pooling. Initialisation: He normal (NOTES §5, the ReLU variant of the
    paper's fan-in-scaled uniform), zero biases. Needs inputs of at least 28×28 (32×32 without padding)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 32):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=28)
        pad = 2 if input_size < 32 else 0
        side = ((input_size + 2 * pad - 4) // 2 - 4) // 2  # conv5 → pool2 → conv5 → pool2
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, kernel_size=5, padding=pad), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(1),
            nn.Linear(16 * side * side, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, num_classes),
        )
        self.default_input_shape = (in_channels, input_size, input_size)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.features(x))


@register_model
def lenet5(num_classes: int = 10, in_channels: int = 1, input_size: int = 32) -> LeNet5:
    """LeNet-5 (ReLU, max pooling) for 32×32 or 28×28 digits: 61,706 parameters."""
    return LeNet5(num_classes, in_channels, input_size)
