"""Upsampling layers over :func:`ember.nn.functional.interpolate`, and the pixel (un)shuffles."""
from __future__ import annotations

from ember.nn.functional.upsampling import _MODES, interpolate, pixel_shuffle, pixel_unshuffle
from ember.nn.layers._util import positive_int
from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle"]

_ALL_MODES = sorted(set(_MODES[3] + _MODES[4]))


class Upsample(Module):
    """Resize (N, C, L) or (N, C, H, W) inputs to ``size`` or by ``scale_factor`` (PyTorch's arguments and
    coordinate conventions; see :func:`ember.nn.functional.interpolate`). 'nearest' repeats pixels;
    'bilinear' (or 'linear' for 3-D) blends the nearest two per axis, 'bicubic' the nearest four (cubic
    convolution), with pixel corners aligned (``align_corners=False``, the default) or pixel centres of the
    corners aligned (True)."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None):
        super().__init__()
        name = type(self).__name__
        if mode not in _ALL_MODES:
            raise ValueError(f"{name}: mode {mode!r} is not supported; valid modes: {_ALL_MODES}")
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{name}: give exactly one of size or scale_factor")
        if align_corners is not None and mode not in ("linear", "bilinear", "bicubic"):
            raise ValueError(f"{name}: align_corners can only be set with the interpolating modes linear | bilinear "
                             f"| bicubic")
        for v in (size if isinstance(size, (tuple, list)) else (size,)) if size is not None else ():
            positive_int(v, "size", name)
        factors = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,)
        if scale_factor is not None and not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
                                                for v in factors):
            raise ValueError(f"{name}: scale_factor must be a positive number or a tuple of them, got {scale_factor!r}")
        self.size = tuple(size) if isinstance(size, list) else size
        self.scale_factor = (None if scale_factor is None else tuple(float(v) for v in scale_factor)
                             if isinstance(scale_factor, (tuple, list)) else float(scale_factor))
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(mode='nearest')`` for (N, C, H, W) inputs."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(mode='bilinear', align_corners=True)`` (PyTorch's fixed choice for this class)."""

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, "bilinear", align_corners=True)


class PixelShuffle(Module):
    """(*, C·r², H, W) → (*, C, H·r, W·r): the rearrangement after an efficient sub-pixel convolution."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = positive_int(upscale_factor, "upscale_factor", "PixelShuffle")

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of :class:`PixelShuffle`."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = positive_int(downscale_factor, "downscale_factor", "PixelUnshuffle")

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
