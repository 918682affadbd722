"""Regularising noise layers (NOTES §7): dropout, channel dropout, DropConnect and stochastic depth.

All are *inverted*: what survives is scaled by 1/(1 − p) while training, so the expected output
equals the input, and every one is the identity in evaluation mode (``model.eval()``).
"""
from __future__ import annotations

from ember.nn.functional.dropout import drop_connect_weight, dropout, dropout1d, dropout2d, stochastic_depth
from ember.nn.layers._util import probability
from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "StochasticDepth", "DropPath", "DropConnect"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p = probability(p, "p", type(self).__name__)
        self.inplace = bool(inplace)  # accepted for PyTorch compatibility; ember never works in place

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """y = x ⊙ m/(1 − p), m ~ Bernoulli(1 − p) per element, while training; y = x in evaluation."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training)


class Dropout1d(_DropoutNd):
    """Zero whole channels of an (N, C, L) input with probability p (scaled by 1/(1 − p))."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout1d(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zero whole feature maps of an (N, C, H, W) input with probability p (scaled by 1/(1 − p)):
    neighbouring pixels are correlated, so element-wise dropout hardly regularises conv features."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training)


class StochasticDepth(Module):
    """Stochastic depth (Huang et al. 2016) for a residual branch: ``out = x + StochasticDepth(p)(F(x))``.

    While training the branch is zeroed with probability p — per sample (``mode='row'``) or for the whole
    batch (``mode='batch'``) — and survivors are scaled by 1/(1 − p) so E[out] is unchanged; at evaluation
    it is the identity, i.e. the full network is used (torchvision's ``StochasticDepth`` semantics).
    """

    def __init__(self, p: float, mode: str = "row"):
        super().__init__()
        self.p = probability(p, "p", type(self).__name__)
        if mode not in ("row", "batch"):
            raise ValueError(f"{type(self).__name__}: mode must be 'row' or 'batch', got {mode!r}")
        self.mode = mode

    def forward(self, input: Tensor) -> Tensor:
        return stochastic_depth(input, self.p, self.mode, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class DropPath(StochasticDepth):
    """Stochastic depth with the name used by timm; ``mode='row'`` (per sample) by default."""

    def __init__(self, p: float = 0.0, mode: str = "row"):
        super().__init__(p, mode)


class DropConnect(Module):
    """DropConnect (Wan et al. 2013): wrap a layer with a ``weight`` (Linear, Conv2d, …) and, while
    training, run it with W ⊙ M/(1 − p), M ~ Bernoulli(1 − p) per *weight* and a fresh M every forward;
    at evaluation the full weights. The wrapped layer's parameters keep their names under ``module.``.

        layer = DropConnect(nn.Linear(256, 10), p=0.5)
    """

    def __init__(self, module: Module, p: float = 0.5, weight_name: str = "weight"):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DropConnect wraps an ember Module, got {type(module).__name__}")
        if getattr(module, weight_name, None) is None or weight_name not in module._parameters:
            raise ValueError(f"DropConnect: {type(module).__name__} has no parameter named {weight_name!r} to drop")
        self.p = probability(p, "p", "DropConnect")
        if self.p == 1.0:
            raise ValueError("DropConnect: p=1 would drop every weight; use a probability below 1")
        self.module = module
        self.weight_name = weight_name

    def forward(self, *args, **kwargs):
        m = self.module
        if not self.training or self.p == 0.0:
            return m(*args, **kwargs)
        w = drop_connect_weight(m._parameters[self.weight_name], self.p, True)
        # run the layer (hooks included) with the dropped weight in place of its own for this one call
        params = m._parameters
        orig = params[self.weight_name]
        params[self.weight_name] = w
        try:
            return m(*args, **kwargs)
        finally:
            params[self.weight_name] = orig

    def extra_repr(self) -> str:
        return f"p={self.p}"
