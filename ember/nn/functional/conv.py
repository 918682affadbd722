"""Convolution and pooling as functions of tensors (NCHW)."""
from __future__ import annotations

from ember.ops import conv as C
from ember.ops import pool as P
from ember.tensor import Tensor

__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "fractional_max_pool2d"]


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            kh, kw = weight.shape[2:]
            dh, dw = C.pair(dilation)
            if C.pair(stride) != (1, 1):
                raise ValueError("padding='same' is only supported with stride 1")
            if (dh * (kh - 1)) % 2 or (dw * (kw - 1)) % 2:
                raise ValueError("padding='same' needs an odd effective kernel size")
            padding = (dh * (kh - 1) // 2, dw * (kw - 1) // 2)
        else:
            raise ValueError(f"padding must be an int, a pair, 'valid' or 'same'; got {padding!r}")
    return C.Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    if return_indices:
        raise NotImplementedError("max_pool2d(return_indices=True) is not supported")
    return P.MaxPool2d.apply(input, kernel_size, stride=stride, padding=padding, dilation=dilation,
                             ceil_mode=ceil_mode)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    return P.AvgPool2d.apply(input, kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                             count_include_pad=count_include_pad, divisor_override=divisor_override)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    return P.AdaptiveAvgPool2d.apply(input, output_size=output_size)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None) -> Tensor:
    """Fractional max pooling (Graham 2014). ``_random_samples`` (N, C, 2) as in PyTorch; only the first
    sample's pair is used (one set of regions per batch); drawn from ember's generator when not given."""
    from ember import random as _r

    h, w = input.shape[2:]
    if output_size is None:
        if output_ratio is None:
            raise ValueError("fractional_max_pool2d needs output_size or output_ratio")
        rh, rw = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio, output_ratio)
        output_size = (int(h * rh), int(w * rw))
    if _random_samples is None:
        u = _r.generator().random(2)
    else:
        s = _random_samples.data if isinstance(_random_samples, Tensor) else _random_samples
        u = (float(s.reshape(-1, 2)[0, 1]), float(s.reshape(-1, 2)[0, 0]))
    return P.FractionalMaxPool2d.apply(input, kernel_size, output_size=output_size, u=u)
