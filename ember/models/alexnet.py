"""AlexNet (Krizhevsky, Sutskever & Hinton 2012), single-tower form.

What made it work: ReLU instead of saturating units, dropout in the fully connected layers,
overlapping max pooling (3×3 windows, stride 2), local response normalisation (lateral inhibition
across channels) and large early kernels and strides (11×11 stride 4). Five convolutions
(64-192-384-256-256 channels) and three fully connected layers (4096-4096-classes).
The channel widths are the one-tower version of the two-GPU original, as in torchvision's reference;
``lrn=True`` adds the paper's LRN (size 5, α=1e-4, β=0.75, k=2; no parameters) after the first
two ReLUs. 61,100,840 parameters at 1000 classes.
"""
from __future__ import annotations

from ember import nn
from ember.models._common import check_common, check_probability, is_small
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin


class AlexNet(SummaryMixin, nn.Module):
    """Initialisation: ``init="torchvision"`` (default) keeps the layers' own PyTorch-style default,
    as torchvision's reference does; ``init="paper"`` is the paper's: weights N(0, 0.01²), biases 1 in the
    2nd, 4th and 5th convolutions and the hidden fully connected layers (so ReLUs start in their active
    part), 0 elsewhere. The paper's scheme assumes raw 0-255 pixels minus the mean: on z-scored inputs
    (NOTES §6) the input signal at the first layers is ~100 times smaller than the constant biases, the
    output barely depends on the image at first, and training starts very slowly.

    Small inputs (``input_size <= 64``): the 11×11 stride-4 stem becomes a 3×3 stride-1 convolution and
    the features are pooled to 2×2 instead of 6×6 before the classifier. The ImageNet form needs at
    least 63×63 inputs.
    """

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, lrn: bool = False,
                 dropout: float = 0.5, init: str = "torchvision"):
        super().__init__()
        if init not in ("torchvision", "paper"):
            raise ValueError(f"init must be 'torchvision' (the layers' defaults) or 'paper' (N(0, 0.01²), biases 1), "
                             f"got {init!r}")
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=28)
        dropout = check_probability("dropout", dropout)
        small = is_small(input_size)
        if not small and input_size < 63:
            raise ValueError(f"AlexNet's ImageNet stem needs inputs of at least 63×63, got input_size={input_size}")

        def norm():
            return [nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0)] if lrn else []

        stem = nn.Conv2d(in_channels, 64, 3, padding=1) if small else nn.Conv2d(in_channels, 64, 11, stride=4, padding=2)
        self.features = nn.Sequential(
            stem, nn.ReLU(), *norm(), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), *norm(), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(3, stride=2),
        )
        pooled = 2 if small else 6
        self.avgpool = nn.AdaptiveAvgPool2d(pooled)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(256 * pooled * pooled, 4096), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes),
        )
        self.default_input_shape = (in_channels, input_size, input_size)
        if init == "paper":
            self._paper_init()

    def _paper_init(self) -> None:
        convs = [m for m in self.features if isinstance(m, nn.Conv2d)]
        linears = [m for m in self.classifier if isinstance(m, nn.Linear)]
        for m in convs + linears:
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)
        for m in (convs[1], convs[3], convs[4], linears[0], linears[1]):
            nn.init.ones_(m.bias)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


@register_model
def alexnet(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, lrn: bool = False,
            dropout: float = 0.5, init: str = "torchvision") -> AlexNet:
    """AlexNet (one tower; lrn=True adds local response normalisation): 61,100,840 parameters."""
    return AlexNet(num_classes, in_channels, input_size, lrn=lrn, dropout=dropout, init=init)
