"""The bilinear layer: y_k = x1ᵀ·W_k·x2 + b_k, a learned interaction between two inputs."""
from __future__ import annotations

import math

import numpy as np

from ember import devices as _devices
from ember import dtypes as _dt
from ember.nn import init as _init
from ember.nn.functional.bilinear import bilinear
from ember.nn.layers._util import positive_int
from ember.nn.module import Module, Parameter
from ember.tensor import Tensor

__all__ = ["Bilinear"]


class Bilinear(Module):
    """y = x1ᵀ·W_k·x2 + b_k for k < out_features; weight (out_features, in1_features, in2_features).

    Initialisation as PyTorch's: weight and bias ~ U(±1/√in1_features), which keeps the output's scale
    independent of in1_features for unit inputs.
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        _devices.check(device)
        self.in1_features = positive_int(in1_features, "in1_features", "Bilinear")
        self.in2_features = positive_int(in2_features, "in2_features", "Bilinear", allow_zero=True)
        self.out_features = positive_int(out_features, "out_features", "Bilinear", allow_zero=True)
        d = _dt.resolve(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in1_features, self.in2_features), d))
        if bias:
            self.bias = Parameter(np.empty((self.out_features,), d))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1])
        _init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            _init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
