"""Fully connected layers (NOTES §1): Identity and Linear (with optional DropConnect)."""
from __future__ import annotations

import numpy as np

from ember import dtypes as _dt
from ember.nn import init as _init
from ember.nn.functional.dropout import drop_connect_weight
from ember.nn.functional.linear import linear
from ember.nn.layers._util import positive_int, probability
from ember.nn.module import Module, Parameter
from ember.tensor import Tensor

__all__ = ["Identity", "Linear"]


class Identity(Module):
    """Returns its input unchanged (any constructor arguments are ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x·Wᵀ + b, W of shape (out_features, in_features), applied over the last axis.

    Initialisation: the default of :mod:`ember.nn.init` (PyTorch's kaiming_uniform_(a=√5), i.e.
    U(±1/√in_features), and bias U(±1/√in_features)) unless ``init=`` names another scheme
    (see ``ember.nn.init.SCHEMES``) or is a callable ``fn(weight)``.

    ``dropconnect=p`` (NOTES §7, DropConnect): while training each forward uses W ⊙ M/(1 − p) with a
    fresh Bernoulli(1 − p) mask M over the *weights*; at evaluation the full W.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None, init=None,
                 dropconnect: float = 0.0):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear", allow_zero=True)
        self.out_features = positive_int(out_features, "out_features", "Linear", allow_zero=True)
        self.dropconnect = probability(dropconnect, "dropconnect", "Linear")
        if dropconnect == 1.0:
            raise ValueError("Linear: dropconnect=1 would drop every weight; use a probability below 1")
        if init is not None:
            _init._resolve_weight(init)  # an unknown name fails here, not at the first reset
        self.init = init
        d = _dt.resolve(dtype)
        self.weight = Parameter(np.empty((out_features, in_features), d))
        if bias:
            self.bias = Parameter(np.empty((out_features,), d))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init.default_weight_init_(self.weight, self.init)
        if self.bias is not None:
            _init.default_bias_init_(self.bias, self.in_features)

    def forward(self, input: Tensor) -> Tensor:
        w = self.weight
        if self.dropconnect and self.training:
            w = drop_connect_weight(w, self.dropconnect, True)
        return linear(input, w, self.bias)

    def extra_repr(self) -> str:
        s = f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        if self.dropconnect:
            s += f", dropconnect={self.dropconnect}"
        return s
