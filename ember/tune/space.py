"""Search spaces sampled on the right scale (NOTES §9).

The learning rate is searched log-uniformly (1e-4 … 1 by default): equal
probability per decade. For a β close to 1 (momentum, Adam's β2) it is 1 − β
that is searched log-uniformly, so 0.9, 0.99 and 0.999 are equally likely —
uniform sampling in [0.9, 0.999] would almost never try 0.999.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class LogUniform:
    low: float
    high: float

    def __post_init__(self):
        if not 0 < self.low < self.high:
            raise ValueError(f"LogUniform needs 0 < low < high, got low={self.low}, high={self.high}")

    def suggest(self, trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high, log=True)

    def around(self, values: Sequence[float], margin: float = 2.0) -> "LogUniform":
        """A narrower range covering ``values`` with a ``margin`` factor each side, clipped to this one."""
        return LogUniform(max(self.low, min(values) / margin), min(self.high, max(values) * margin))


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float

    def __post_init__(self):
        if not self.low < self.high:
            raise ValueError(f"Uniform needs low < high, got low={self.low}, high={self.high}")

    def suggest(self, trial, name: str) -> float:
        return trial.suggest_float(name, self.low, self.high)

    def around(self, values: Sequence[float], margin: float = 0.25) -> "Uniform":
        pad = (self.high - self.low) * margin
        return Uniform(max(self.low, min(values) - pad), min(self.high, max(values) + pad))


@dataclass(frozen=True)
class OneMinusLogUniform:
    """β in [low, high] sampled so that 1 − β is log-uniform (for momentum and Adam's betas)."""

    low: float
    high: float

    def __post_init__(self):
        if not 0 <= self.low < self.high < 1:
            raise ValueError(f"OneMinusLogUniform needs 0 <= low < high < 1, got low={self.low}, high={self.high}")

    def suggest(self, trial, name: str) -> float:
        one_minus = trial.suggest_float(f"1-{name}", 1 - self.high, 1 - self.low, log=True)
        trial.set_user_attr(name, 1 - one_minus)
        return 1 - one_minus

    def around(self, values: Sequence[float], margin: float = 2.0) -> "OneMinusLogUniform":
        om = [1 - v for v in values]
        lo_om, hi_om = max(1 - self.high, min(om) / margin), min(1 - self.low, max(om) * margin)
        return OneMinusLogUniform(1 - hi_om, 1 - lo_om)


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int
    log: bool = False

    def suggest(self, trial, name: str) -> int:
        return trial.suggest_int(name, self.low, self.high, log=self.log)

    def around(self, values: Sequence[int], margin: float = 0.25) -> "IntRange":
        pad = max(1, int((self.high - self.low) * margin))
        return IntRange(max(self.low, min(values) - pad), min(self.high, max(values) + pad), self.log)


@dataclass(frozen=True)
class Choice:
    options: tuple

    def __init__(self, options: Sequence[Any]):
        if not options:
            raise ValueError("Choice needs at least one option")
        object.__setattr__(self, "options", tuple(options))

    def suggest(self, trial, name: str):
        return trial.suggest_categorical(name, list(self.options))

    def around(self, values: Sequence[Any], margin: float = 0.0) -> "Choice":
        return Choice([o for o in self.options if o in set(values)] or list(self.options))


def suggest_all(trial, space: dict) -> dict:
    """Draw one configuration from ``space`` (name → distribution, or a fixed value)."""
    return {k: (d.suggest(trial, k) if hasattr(d, "suggest") else d) for k, d in space.items()}


def default_space() -> dict:
    """The notes' order of importance: learning rate first; then momentum, batch size, hidden units;
    then weight decay. Adam's β1, β2, ε are rarely tuned and are left at 0.9, 0.999, 1e-8."""
    return {
        "lr": LogUniform(1e-4, 1.0),
        "momentum": OneMinusLogUniform(0.5, 0.999),
        "batch_size": Choice([16, 32, 64, 128]),
        "weight_decay": LogUniform(1e-6, 1e-2),
    }


def log10(x: float) -> float:
    return math.log10(x)
