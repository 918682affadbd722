"""Resizing feature maps: interpolate (nearest, nearest-exact, (bi)linear, bicubic, area) and the pixel shuffles."""
from __future__ import annotations

import math

import numpy as np

from ember.ops import pool as P
from ember.ops.resample import Resample2d, interp_matrix
from ember.tensor import Tensor

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle"]

_MODES = {3: ("nearest", "nearest-exact", "linear", "area"),
          4: ("nearest", "nearest-exact", "bilinear", "bicubic", "area")}
_LINEAR = ("linear", "bilinear")
_INTERPOLATING = _LINEAR + ("bicubic",)  # the modes that take align_corners


def _per_axis(value, k: int, name: str) -> tuple:
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * k
    if len(items) != k:
        raise ValueError(f"interpolate: {name} must be a number or {k} of them for an input with {k} spatial "
                         f"dimension(s), got {value!r}")
    return items


def _output_size(spatial: tuple, size, scale_factor) -> tuple[tuple, tuple]:
    """(output sizes, the scale factors the coordinate mapping uses, None where the sizes decide)."""
    k = len(spatial)
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size or scale_factor")
    if size is not None:
        out = tuple(int(s) for s in _per_axis(size, k, "size"))
        if min(out) < 1:
            raise ValueError(f"interpolate: size must be positive, got {size!r}")
        return out, (None,) * k
    scales = tuple(float(s) for s in _per_axis(scale_factor, k, "scale_factor"))
    if min(scales) <= 0:
        raise ValueError(f"interpolate: scale_factor must be positive, got {scale_factor!r}")
    out = tuple(int(math.floor(n * s)) for n, s in zip(spatial, scales))
    if min(out) < 1:
        raise ValueError(f"interpolate: scale_factor {scale_factor!r} makes an empty output from spatial size "
                         f"{spatial}")
    return out, scales


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resize the spatial axes of an (N, C, L) or (N, C, H, W) input, with PyTorch's coordinate mapping.

    Linear and bicubic modes with ``align_corners=False`` (the default) treat pixels as unit squares (corner
    pixel *edges* align; sources clamp at the border); with True the centres of the corner pixels align.
    ``bicubic`` blends 4×4 neighbours with the cubic convolution kernel (a = −0.75, as PyTorch); it may
    overshoot the input's range. ``antialias=True`` (bilinear, bicubic) widens the filter when shrinking so
    every input pixel contributes, as PyTorch and Pillow do.
    A given ``scale_factor`` is used for the mapping (1/scale), unless ``recompute_scale_factor=True``,
    which maps with in/out as when a size is given. ``area`` is adaptive average pooling.
    """
    if input.ndim not in _MODES:
        raise ValueError(f"interpolate expects a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape {input.shape}")
    if mode not in _MODES[input.ndim]:
        every = sorted(set(_MODES[3] + _MODES[4]))
        if mode in every:
            raise ValueError(f"interpolate: mode {mode!r} needs a {4 if input.ndim == 3 else 3}-D input, got shape "
                             f"{input.shape}; for a {input.ndim}-D input use one of {list(_MODES[input.ndim])}")
        raise ValueError(f"interpolate: mode {mode!r} is not supported; valid modes: {every}")
    if align_corners is not None and mode not in _INTERPOLATING:
        raise ValueError("align_corners option can only be set with the interpolating modes: linear | bilinear | "
                         "bicubic")
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ValueError(f"interpolate: antialias=True is restricted to the bilinear and bicubic modes on a 4-D "
                         f"input, got mode {mode!r}")
    if recompute_scale_factor and size is not None:
        raise ValueError("interpolate: recompute_scale_factor is not meaningful with an explicit size")
    spatial = tuple(input.shape[2:])
    out, scales = _output_size(spatial, size, scale_factor)
    if recompute_scale_factor:
        scales = (None,) * len(spatial)
    if input.ndim == 3:  # one spatial axis: the same op with a height of 1
        return interpolate(input.unsqueeze(2), (1,) + out, None, "bilinear" if mode == "linear" else mode,
                           align_corners).squeeze(2)
    if mode == "area":
        return P.AdaptiveAvgPool2d.apply(input, output_size=out)
    kind = "linear" if mode in _LINEAR else "cubic" if mode == "bicubic" else mode
    (h, w), dt = spatial, input.dtype
    ah = interp_matrix(h, out[0], kind, scales[0], bool(align_corners), dt, bool(antialias))
    aw = interp_matrix(w, out[1], kind, scales[1], bool(align_corners), dt, bool(antialias))
    if kind == "nearest" and out[0] % h == 0 and out[1] % w == 0 and _is_repeat(ah) and _is_repeat(aw):
        # integer nearest upsampling repeats each pixel: a broadcast (its backward a block sum), no products
        n, c = input.shape[:2]
        sh, sw = out[0] // h, out[1] // w
        return input.reshape(n, c, h, 1, w, 1).expand(n, c, h, sh, w, sw).reshape(n, c, h * sh, w * sw)
    return Resample2d.apply(input, ah=ah, aw=aw)


def _is_repeat(a) -> bool:
    """Whether the nearest matrix ``a`` (out × in) sends each input to out/in consecutive outputs."""
    k = a.shape[0] // a.shape[1]
    return bool((a.argmax(axis=1) == np.arange(a.shape[0]) // k).all())


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    """Deprecated PyTorch name of :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Bilinear with align_corners=True (what PyTorch's deprecated function does)."""
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)


def _factor(value, name: str, fn: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{fn}: {name} must be a positive integer, got {value!r}")
    return value


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) → (*, C, H·r, W·r): sub-pixel convolution's rearrangement (Shi et al. 2016),
    out[c, h·r + i, w·r + j] = in[c·r² + i·r + j, h, w]."""
    r = _factor(upscale_factor, "upscale_factor", "pixel_shuffle")
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle expects an input (*, C·r², H, W) whose channels are divisible by "
                           f"upscale_factor² = {r * r}, got shape {input.shape}")
    *lead, c, h, w = input.shape
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of :func:`pixel_shuffle`: (*, C, H·r, W·r) → (*, C·r², H, W)."""
    r = _factor(downscale_factor, "downscale_factor", "pixel_unshuffle")
    if input.ndim < 3 or input.shape[-2] % r or input.shape[-1] % r:
        raise RuntimeError(f"pixel_unshuffle expects an input (*, C, H, W) with H and W divisible by "
                           f"downscale_factor = {r}, got shape {input.shape}")
    *lead, c, h, w = input.shape
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
