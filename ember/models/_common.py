"""What the model families share: argument checks, the small-input rule and stochastic-depth rates.

Small inputs. Every builder takes ``input_size`` (the side of the square images the model is built
for; 224 by default, 28 for Fashion-MNIST, 32 for CIFAR). At ``input_size <= SMALL_INPUT_MAX`` a family
swaps its ImageNet stem, whose large strides would shrink a 32×32 image to nothing, for a small-input
stem (typically a 3×3 stride-1 convolution without the early max pooling); the rest of the network is
unchanged, so the same blocks are trained on small images on a CPU.
"""
from __future__ import annotations

from numbers import Integral, Real
from typing import Callable

SMALL_INPUT_MAX = 64


def check_int(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int, or a ValueError that says what was expected."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_float(name: str, value, low: float = 0.0, high: float = float("inf"), high_open: bool = False) -> float:
    """``value`` as a float in [low, high] (or [low, high) with ``high_open``), else a ValueError."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and low <= value and (
        value < high if high_open else value <= high)
    if not ok:
        bracket = ")" if high_open else "]"
        raise ValueError(f"{name} must be a number in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


def check_probability(name: str, value) -> float:
    """A drop probability in [0, 1)."""
    return check_float(name, value, 0.0, 1.0, high_open=True)


def check_common(num_classes, in_channels, input_size, min_size: int = 1) -> tuple[int, int, int]:
    """The three arguments every builder takes."""
    num_classes = check_int("num_classes", num_classes)
    in_channels = check_int("in_channels", in_channels)
    input_size = check_int("input_size", input_size)
    if input_size < min_size:
        raise ValueError(f"this model needs inputs of at least {min_size}×{min_size} pixels, got input_size={input_size}")
    return num_classes, in_channels, input_size


def is_small(input_size: int) -> bool:
    """True when the model should use its small-input stem (Fashion-MNIST, CIFAR, ... sized images)."""
    return input_size <= SMALL_INPUT_MAX


def linear_drop_rates(rate: float, count: int, first_is_zero: bool = False) -> list[float]:
    """Stochastic depth's linear decay rule (Huang et al. 2016): block l of L drops with probability
    rate·l/L (l = 1..L, so the last block drops with ``rate``); with ``first_is_zero`` l runs over 0..L−1,
    the variant EfficientNet's reference uses."""
    offset = 0 if first_is_zero else 1
    return [rate * (i + offset) / count for i in range(count)]


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to the nearest multiple of ``divisor`` (at least ``divisor``) without
    going more than 10% below ``value``: the rounding of MobileNetV2's and EfficientNet's references."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def init_conv_bn_(model, linear: Callable | None = None, conv_types: tuple = ()) -> None:
    """The initialisation most of the zoo shares: He normal (fan-out, ReLU gain) convolutions with zero biases,
    batch norm γ = 1, β = 0, and ``linear(module)`` for each Linear layer (left as built when None).
    ``conv_types`` adds layer classes to initialise like convolutions."""
    from ember import nn

    convs = (nn.Conv2d,) + tuple(conv_types)
    for m in model.modules():
        if isinstance(m, convs):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif linear is not None and isinstance(m, nn.Linear):
            linear(m)


def small_normal_linear_(m) -> None:
    """N(0, 0.01²) weights, zero bias: the classifier initialisation of VGG and MobileNet."""
    from ember import nn

    nn.init.normal_(m.weight, 0.0, 0.01)
    nn.init.zeros_(m.bias)
