"""Multilayer perceptron: a cascade of affine maps and non-linearities (NOTES §1).

``f(x) = W_L · σ(… σ(W_1·x + b_1) …) + b_L``. Without σ the cascade collapses into one linear map,
so an MLP can solve XOR and a linear classifier cannot. Images are flattened first, so the same net
takes (N, features) or (N, C, H, W) batches.
"""
from __future__ import annotations

from ember import nn
from ember.models._common import check_int, check_probability
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin

ACTIVATIONS = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "prelu": nn.PReLU, "elu": nn.ELU, "selu": nn.SELU,
    "gelu": nn.GELU, "silu": nn.SiLU, "swish": nn.SiLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
}


def mlp_num_parameters(sizes, batchnorm: bool = False, activation: str = "relu") -> int:
    """The formula: Σ (n_in·n_out + n_out) over the affine maps, plus γ and β (2·n) for each batch norm
    of a hidden layer, plus one slope per PReLU."""
    affine = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    hidden = sizes[1:-1]
    return affine + (2 * sum(hidden) if batchnorm else 0) + (len(hidden) if activation == "prelu" else 0)


class MLP(SummaryMixin, nn.Sequential):
    """Flatten → [Linear → (BatchNorm1d) → activation → (Dropout)] per hidden layer → Linear.

    ``sizes`` lists the widths from the input features to the outputs, e.g. [784, 256, 256, 10].
    Initialisation follows the activation (NOTES §5): He normal for the ReLU family, LeCun normal for
    SELU, Glorot uniform with the gain of tanh/sigmoid; biases start at zero.
    """

    def __init__(self, sizes, activation: str = "relu", dropout: float = 0.0, batchnorm: bool = False):
        if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
            raise ValueError(f"sizes must list at least the input and output widths, e.g. [784, 256, 10]; got {sizes!r}")
        sizes = [check_int(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(sorted(ACTIVATIONS))}; got {activation!r}")
        dropout = check_probability("dropout", dropout)
        layers = [nn.Flatten(1)]
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
            layers.append(nn.Linear(n_in, n_out, bias=True))
            if batchnorm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        super().__init__(*layers)
        self.sizes, self.activation = tuple(sizes), activation
        self.default_input_shape = (sizes[0],)
        self._init_weights()

    def _init_weights(self) -> None:
        linears = [m for m in self.modules() if isinstance(m, nn.Linear)]
        for i, m in enumerate(linears):
            last = i == len(linears) - 1
            if self.activation in ("relu", "prelu", "elu", "gelu", "silu", "swish"):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            elif self.activation == "leaky_relu":
                nn.init.kaiming_normal_(m.weight, a=0.01, mode="fan_in", nonlinearity="leaky_relu")
            elif self.activation == "selu":
                nn.init.normal_(m.weight, 0.0, (1.0 / m.in_features) ** 0.5)
            else:  # tanh, sigmoid
                nn.init.xavier_uniform_(m.weight, gain=1.0 if last else nn.init.calculate_gain(self.activation))
            nn.init.zeros_(m.bias)


@register_model
def mlp(sizes=None, activation: str = "relu", dropout: float = 0.0, batchnorm: bool = False, *,
        num_classes: int = 10, in_channels: int = 1, input_size: int = 28, hidden=(256, 256)) -> MLP:
    """Multilayer perceptron on flattened inputs (sizes = [inputs, hidden..., classes])."""
    if sizes is None:
        num_classes, in_channels = check_int("num_classes", num_classes), check_int("in_channels", in_channels)
        input_size = check_int("input_size", input_size)
        if not isinstance(hidden, (list, tuple)):
            raise ValueError(f"hidden must be a list of hidden-layer widths, got {hidden!r}")
        sizes = [in_channels * input_size * input_size, *hidden, num_classes]
    return MLP(sizes, activation=activation, dropout=dropout, batchnorm=batchnorm)
