"""Nearest-neighbour upsampling (each pixel repeated s×s times), e.g. for decoders."""
from __future__ import annotations

from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["Upsample", "UpsamplingNearest2d"]


def _factors(value, name):
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(float(v).is_integer() and v >= 1 for v in items):
        raise ValueError(f"Upsample: {name} must be a positive integer or a pair of them in ember "
                         f"(only integer nearest-neighbour upsampling is supported), got {value!r}")
    return int(items[0]), int(items[1])


class Upsample(Module):
    """out[n, c, i, j] = x[n, c, ⌊i/s_h⌋, ⌊j/s_w⌋] for (N, C, H, W) inputs, given ``scale_factor`` or an
    output ``size`` that is an integer multiple of the input size. Only ``mode='nearest'``. The backward
    sums the gradient over each s_h×s_w block (a broadcast's adjoint)."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None):
        super().__init__()
        if mode != "nearest":
            raise ValueError(f"Upsample: mode {mode!r} is not supported; ember implements 'nearest'")
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size or scale_factor")
        self.size = None if size is None else _factors(size, "size")
        self._factors = None if scale_factor is None else _factors(scale_factor, "scale_factor")
        self.scale_factor = (None if scale_factor is None else tuple(float(v) for v in scale_factor)
                             if isinstance(scale_factor, (tuple, list)) else float(scale_factor))
        self.mode = mode

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim != 4:
            raise ValueError(f"Upsample expects a (N, C, H, W) input, got shape {input.shape}")
        n, c, h, w = input.shape
        if self._factors is not None:
            sh, sw = self._factors
        else:
            oh, ow = self.size
            if oh % h or ow % w:
                raise ValueError(f"Upsample: size {self.size} is not an integer multiple of the input's {h}x{w}")
            sh, sw = oh // h, ow // w
        x = input.reshape(n, c, h, 1, w, 1).expand(n, c, h, sh, w, sw)
        return x.reshape(n, c, h * sh, w * sw)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode='{self.mode}'"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "nearest")
