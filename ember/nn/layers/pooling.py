"""Pooling layers (NCHW, and (N, C, L) for the 1-D ones): max, average, adaptive average and max, fractional max
pooling, and max unpooling."""
from __future__ import annotations

from ember.nn.functional.conv import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool1d,
                                      avg_pool2d, fractional_max_pool2d, max_pool1d, max_pool2d, max_unpool2d)
from ember.nn.functional.conv import adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, max_pool3d
from ember.nn.layers._util import int_or_pair, positive_int
from ember.nn.module import Module
from ember.ops.conv import pair
from ember.tensor import Tensor

__all__ = ["MaxPool1d", "MaxPool2d", "MaxUnpool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d",
           "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "FractionalMaxPool2d", "MaxPool3d", "AvgPool3d",
           "AdaptiveAvgPool3d", "AdaptiveMaxPool3d"]


def _check_padding(padding, kernel_size, layer):
    ph, pw = pair(padding)
    kh, kw = pair(kernel_size)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"{layer}: padding {padding} should be at most half of kernel_size {kernel_size}")


def _batched(input: Tensor, fn, layer: str, ndim: int = 4):
    """``fn`` on a batched input; an unbatched one (one dim fewer) gets a batch of one, removed again from the
    result (from each result when ``fn`` returns a tuple, as with ``return_indices``)."""
    if input.ndim == ndim - 1:
        out = fn(input.unsqueeze(0))
        return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)
    if input.ndim != ndim:
        shape = "(N, C, H, W) or (C, H, W)" if ndim == 4 else "(N, C, L) or (C, L)"
        raise ValueError(f"{layer} expects a {shape} input, got shape {input.shape}")
    return fn(input)


class MaxPool2d(Module):
    """out = max over each kH×kW window (stride defaults to the kernel size; AlexNet overlaps with 3, 2).
    The gradient flows to each window's maximal element. With ``return_indices=True`` forward returns
    (output, indices), the flat h·W + w position of each maximum in its plane, for :class:`MaxUnpool2d`."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = int_or_pair(kernel_size, "kernel_size", "MaxPool2d")
        self.stride = self.kernel_size if stride is None else int_or_pair(stride, "stride", "MaxPool2d")
        self.padding = int_or_pair(padding, "padding", "MaxPool2d", allow_zero=True)
        self.dilation = int_or_pair(dilation, "dilation", "MaxPool2d")
        _check_padding(self.padding, self.kernel_size, "MaxPool2d")
        self.return_indices = bool(return_indices)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, input: Tensor):
        return _batched(input, lambda x: max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                                                    self.ceil_mode, self.return_indices), "MaxPool2d")

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """out = mean over each window; ``count_include_pad`` decides whether zero padding counts in the mean."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size = int_or_pair(kernel_size, "kernel_size", "AvgPool2d")
        self.stride = self.kernel_size if stride is None else int_or_pair(stride, "stride", "AvgPool2d")
        self.padding = int_or_pair(padding, "padding", "AvgPool2d", allow_zero=True)
        _check_padding(self.padding, self.kernel_size, "AvgPool2d")
        if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override <= 0):
            raise ValueError(f"AvgPool2d: divisor_override must be a positive integer or None, got {divisor_override!r}")
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return _batched(input, lambda x: avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                                    self.count_include_pad, self.divisor_override), "AvgPool2d")

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average over ``output_size`` bins whatever the input size; ``AdaptiveAvgPool2d(1)`` is global average
    pooling (NiN, SE-Net's squeeze). ``None`` in the size keeps that input dimension."""

    def __init__(self, output_size):
        super().__init__()
        items = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
        if len(items) not in (1, 2) or any(v is not None and (not isinstance(v, int) or v <= 0) for v in items):
            raise ValueError(f"AdaptiveAvgPool2d: output_size must be a positive int or a pair of ints/None, "
                             f"got {output_size!r}")
        self.output_size = tuple(output_size) if isinstance(output_size, (tuple, list)) else output_size

    def forward(self, input: Tensor) -> Tensor:
        return _batched(input, lambda x: adaptive_avg_pool2d(x, self.output_size), "AdaptiveAvgPool2d")

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max over ``output_size`` bins whatever the input size (bins as in :class:`AdaptiveAvgPool2d`);
    ``AdaptiveMaxPool2d(1)`` is global max pooling. With ``return_indices=True`` forward returns (output,
    indices), the flat h·W + w position of each maximum in its plane, for :class:`MaxUnpool2d` (give it the
    input's size as ``output_size``)."""

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        items = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
        if len(items) not in (1, 2) or any(v is not None and (not isinstance(v, int) or v <= 0) for v in items):
            raise ValueError(f"AdaptiveMaxPool2d: output_size must be a positive int or a pair of ints/None, "
                             f"got {output_size!r}")
        self.output_size = tuple(output_size) if isinstance(output_size, (tuple, list)) else output_size
        self.return_indices = bool(return_indices)

    def forward(self, input: Tensor):
        return _batched(input, lambda x: adaptive_max_pool2d(x, self.output_size, self.return_indices),
                        "AdaptiveMaxPool2d")

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class FractionalMaxPool2d(Module):
    """Fractional max pooling (Graham 2014; NOTES §7): max over k×k windows placed pseudo-randomly so the
    map shrinks by a non-integer factor (e.g. ``output_ratio=1/√2``). New regions are drawn from ember's
    generator on every call; the randomness acts as a regulariser."""

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                 _random_samples=None):
        super().__init__()
        self.kernel_size = int_or_pair(kernel_size, "kernel_size", "FractionalMaxPool2d")
        if return_indices:
            raise ValueError("FractionalMaxPool2d: return_indices=True is not supported by ember")
        if (output_size is None) == (output_ratio is None):
            raise ValueError("FractionalMaxPool2d requires specifying exactly one of output_size or output_ratio")
        if output_size is not None:
            output_size = int_or_pair(output_size, "output_size", "FractionalMaxPool2d")
        if output_ratio is not None:
            ratios = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio,)
            if len(ratios) not in (1, 2) or not all(0 < r < 1 for r in ratios):
                raise ValueError(f"FractionalMaxPool2d: output_ratio must be in (0, 1), got {output_ratio!r}")
        self.output_size, self.output_ratio = output_size, output_ratio
        self._random_samples = _random_samples

    def forward(self, input: Tensor) -> Tensor:
        return _batched(input, lambda x: fractional_max_pool2d(x, self.kernel_size, self.output_size, self.output_ratio,
                                                               _random_samples=self._random_samples),
                        "FractionalMaxPool2d")

    def extra_repr(self) -> str:
        target = f"output_size={self.output_size}" if self.output_size is not None else f"output_ratio={self.output_ratio}"
        return f"kernel_size={self.kernel_size}, {target}"


def _int_or_single(value, name: str, layer: str, allow_zero: bool = False) -> int:
    """An int or a 1-tuple of ints (non-negative with ``allow_zero``, else positive) as an int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{layer}: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return positive_int(value, name, layer, allow_zero)


class MaxUnpool2d(Module):
    """The partial inverse of :class:`MaxPool2d` (SegNet's decoder): ``forward(input, indices, output_size=None)``
    puts each value back where the pooling's ``indices`` say its maximum came from, zeros elsewhere. The output
    is (H − 1)·s − 2p + k per axis unless ``output_size`` (e.g. the size before pooling) is given."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = pair(int_or_pair(kernel_size, "kernel_size", "MaxUnpool2d"))
        self.stride = self.kernel_size if stride is None else pair(int_or_pair(stride, "stride", "MaxUnpool2d"))
        self.padding = pair(int_or_pair(padding, "padding", "MaxUnpool2d", allow_zero=True))

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        if input.ndim not in (3, 4):
            raise ValueError(f"MaxUnpool2d expects a (N, C, H, W) or (C, H, W) input, got shape {input.shape}")
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(Module):
    """out[n, c, l] = max over each k-long window of (N, C, L) or (C, L) (stride defaults to the kernel size);
    ``return_indices=True`` also returns each maximum's position along L."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = _int_or_single(kernel_size, "kernel_size", "MaxPool1d")
        self.stride = self.kernel_size if stride is None else _int_or_single(stride, "stride", "MaxPool1d")
        self.padding = _int_or_single(padding, "padding", "MaxPool1d", allow_zero=True)
        self.dilation = _int_or_single(dilation, "dilation", "MaxPool1d")
        if self.padding > self.kernel_size // 2:
            raise ValueError(f"MaxPool1d: padding {padding} should be at most half of kernel_size {kernel_size}")
        self.return_indices = bool(return_indices)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, input: Tensor):
        return _batched(input, lambda x: max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation,
                                                    self.ceil_mode, self.return_indices), "MaxPool1d", ndim=3)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    """out[n, c, l] = mean over each k-long window of (N, C, L) or (C, L); ``count_include_pad`` decides whether
    zero padding counts in the mean."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__()
        self.kernel_size = (_int_or_single(kernel_size, "kernel_size", "AvgPool1d"),)
        self.stride = self.kernel_size if stride is None else (_int_or_single(stride, "stride", "AvgPool1d"),)
        self.padding = (_int_or_single(padding, "padding", "AvgPool1d", allow_zero=True),)
        if self.padding[0] > self.kernel_size[0] // 2:
            raise ValueError(f"AvgPool1d: padding {padding} should be at most half of kernel_size {kernel_size}")
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, input: Tensor) -> Tensor:
        return _batched(input, lambda x: avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                                                    self.count_include_pad), "AvgPool1d", ndim=3)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """Average (N, C, L) or (C, L) over ``output_size`` bins whatever L; ``AdaptiveAvgPool1d(1)`` is global
    average pooling over time."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _int_or_single(output_size, "output_size", "AdaptiveAvgPool1d")
        if isinstance(output_size, (tuple, list)):
            self.output_size = (self.output_size,)

    def forward(self, input: Tensor) -> Tensor:
        return _batched(input, lambda x: adaptive_avg_pool1d(x, self.output_size), "AdaptiveAvgPool1d", ndim=3)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


# --------------------------------------------------------------------------- 3-D: (N, C, D, H, W) or (C, D, H, W)

def _int_or_triple(value, name: str, layer: str, allow_zero: bool = False):
    """An int or a triple of ints (each positive, or non-negative with ``allow_zero``); returned unchanged."""
    if isinstance(value, (tuple, list)):
        if len(value) != 3:
            raise ValueError(f"{layer}: {name} must be an int or a triple of ints, got {value!r}")
        return tuple(positive_int(v, name, layer, allow_zero) for v in value)
    return positive_int(value, name, layer, allow_zero)


def _triple_of(v) -> tuple:
    return tuple(v) if isinstance(v, tuple) else (v,) * 3


def _check_padding3d(padding, kernel_size, layer: str) -> None:
    if any(p > k // 2 for p, k in zip(_triple_of(padding), _triple_of(kernel_size))):
        raise ValueError(f"{layer}: padding {padding} should be at most half of kernel_size {kernel_size}")


def _check_5d(input: Tensor, layer: str) -> None:
    if input.ndim not in (4, 5):
        raise ValueError(f"{layer} expects a (N, C, D, H, W) or (C, D, H, W) input, got shape {input.shape}")


def _adaptive_size3(output_size, layer: str):
    """A positive int, or a triple of positive ints/None (None keeps that input size)."""
    items = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
    if len(items) not in (1, 3) or any(v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0)
                                       for v in items):
        raise ValueError(f"{layer}: output_size must be a positive int or a triple of ints/None, got {output_size!r}")
    return tuple(output_size) if isinstance(output_size, (tuple, list)) else output_size


class MaxPool3d(Module):
    """out = max over each kD×kH×kW window of a clip or volume (stride defaults to the kernel size). The
    gradient flows to each window's first maximum. With ``return_indices=True`` forward returns (output,
    indices), the flat z·H·W + y·W + x position of each maximum in its volume."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False):
        super().__init__()
        name = "MaxPool3d"
        self.kernel_size = _int_or_triple(kernel_size, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else _int_or_triple(stride, "stride", name)
        self.padding = _int_or_triple(padding, "padding", name, allow_zero=True)
        self.dilation = _int_or_triple(dilation, "dilation", name)
        _check_padding3d(self.padding, self.kernel_size, name)
        self.return_indices = bool(return_indices)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, input: Tensor):
        _check_5d(input, "MaxPool3d")
        return max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                          self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool3d(Module):
    """out = mean over each kD×kH×kW window; ``count_include_pad`` decides whether zero padding counts in the
    mean, ``divisor_override`` replaces the window size as the divisor."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override=None):
        super().__init__()
        name = "AvgPool3d"
        self.kernel_size = _int_or_triple(kernel_size, "kernel_size", name)
        self.stride = self.kernel_size if stride is None else _int_or_triple(stride, "stride", name)
        self.padding = _int_or_triple(padding, "padding", name, allow_zero=True)
        _check_padding3d(self.padding, self.kernel_size, name)
        if divisor_override is not None:
            positive_int(divisor_override, "divisor_override", name)
        self.ceil_mode = bool(ceil_mode)
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        _check_5d(input, "AvgPool3d")
        return avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                          self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool3d(Module):
    """Average over ``output_size`` bins whatever the clip or volume size; ``AdaptiveAvgPool3d(1)`` is the global
    average pooling before a video classifier's head. ``None`` in the size keeps that input dimension."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _adaptive_size3(output_size, "AdaptiveAvgPool3d")

    def forward(self, input: Tensor) -> Tensor:
        _check_5d(input, "AdaptiveAvgPool3d")
        return adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool3d(Module):
    """Max over ``output_size`` bins whatever the input size (bins as in :class:`AdaptiveAvgPool3d`); with
    ``return_indices=True`` forward returns (output, indices), the flat z·H·W + y·W + x position of each maximum
    in its volume."""

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size = _adaptive_size3(output_size, "AdaptiveMaxPool3d")
        self.return_indices = bool(return_indices)

    def forward(self, input: Tensor):
        _check_5d(input, "AdaptiveMaxPool3d")
        return adaptive_max_pool3d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
