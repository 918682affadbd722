"""The kinds of image a transform is handed, and the way back to the kind it came as.

ember's datasets hand out float32 CHW arrays in [0, 1]; torchvision users hand transforms PIL
images, HWC uint8 NumPy arrays (what ``np.asarray(pil_image)`` gives) and tensors. Every
transform works on float CHW (or NCHW) internally, so :func:`unpack` turns any of these into that
and returns the function that turns the result back into the input's kind: a PIL image stays a
PIL image, a uint8 HWC array a uint8 HWC array, a Tensor a Tensor, a float array a float array.

Layout of a 3-D array: CHW when the first axis is a channel count (1, 3 or 4) and the last is
not; HWC when the last is and the first is not. When both or neither are (a 3x3x3 array), float
arrays are read as CHW (ember's datasets) and uint8 arrays as HWC (``np.asarray(pil_image)``).
"""
from __future__ import annotations

import enum
from typing import Callable

import numpy as np

from ember.data.dataset import to_float
from ember.tensor import Tensor

_CHANNELS = (1, 3, 4)
_MODES_BY_CHANNELS = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


class InterpolationMode(enum.Enum):
    """torchvision's interpolation names; arrays and tensors support NEAREST and BILINEAR, PIL images all."""

    NEAREST = "nearest"
    NEAREST_EXACT = "nearest-exact"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def interpolation_mode(value) -> InterpolationMode:
    """An InterpolationMode from itself or its name ("bilinear"), with the valid names on a miss."""
    if isinstance(value, InterpolationMode):
        return value
    try:
        return InterpolationMode(str(value).lower())
    except ValueError:
        raise ValueError(f"unknown interpolation {value!r}; valid: "
                         f"{', '.join(m.value for m in InterpolationMode)}") from None


def pil_resample(mode: InterpolationMode) -> int:
    from PIL import Image

    return {InterpolationMode.NEAREST: Image.NEAREST, InterpolationMode.NEAREST_EXACT: Image.NEAREST,
            InterpolationMode.BILINEAR: Image.BILINEAR, InterpolationMode.BICUBIC: Image.BICUBIC,
            InterpolationMode.BOX: Image.BOX, InterpolationMode.HAMMING: Image.HAMMING,
            InterpolationMode.LANCZOS: Image.LANCZOS}[mode]


def is_pil(x) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - pillow is a dependency
        return False
    return isinstance(x, Image.Image)


def is_hwc(a: np.ndarray) -> bool:
    """Whether a 3-D array is laid out HWC (see the module docstring for the rule)."""
    first, last = a.shape[0] in _CHANNELS, a.shape[-1] in _CHANNELS
    if first != last:
        return last
    return a.dtype == np.uint8


def pil_to_array(img) -> np.ndarray:
    """A PIL image's pixels as (C, H, W), in the image's own dtype (uint8 for L/RGB/RGBA; mode "1" as 0/255)."""
    a = np.asarray(img)
    if img.mode == "1":
        a = a.astype(np.uint8) * np.uint8(255)
    a = a[:, :, None] if a.ndim == 2 else a
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def array_to_pil(chw: np.ndarray, mode: str | None = None, *, exact: bool = True):
    """A (C, H, W) array as a PIL image; floats are read as [0, 1] and scaled to 0..255.

    ``exact`` rounds (a float image that came from uint8 goes back unchanged); without it the
    scaled values are truncated, as torchvision's ``ToPILImage`` does (``pic.mul(255).byte()``).
    """
    from PIL import Image

    if chw.ndim != 3:
        raise ValueError(f"expected a (C, H, W) image, got shape {chw.shape}")
    c = chw.shape[0]
    if chw.dtype != np.uint8:
        scaled = chw.astype(np.float32) * np.float32(255)
        scaled = np.rint(scaled) if exact else scaled
        chw = np.clip(scaled, 0, 255).astype(np.uint8)
    default = _MODES_BY_CHANNELS.get(c)
    if default is None:
        raise ValueError(f"cannot make a PIL image of {c} channels; valid channel counts: 1, 2, 3, 4")
    hwc = np.ascontiguousarray(chw[0] if c == 1 else chw.transpose(1, 2, 0))
    img = Image.fromarray(hwc)  # uint8 2-D -> L, (H, W, 2|3|4) -> LA, RGB, RGBA
    return img if mode is None or mode == default else img.convert(mode)


def unpack(x, name: str) -> tuple[np.ndarray, Callable[[np.ndarray], object]]:
    """``x`` as float32 (C, H, W) or (N, C, H, W), and the function that turns a result back into x's kind.

    A result may have a different size or channel count than ``x`` (Resize, Grayscale); the kind
    is what is kept. ``name`` is the transform's, for the error on anything else.
    """
    if isinstance(x, Tensor):
        a = to_float(x.array)
        return _check(a, name), Tensor._wrap
    if is_pil(x):
        if x.mode not in _MODES_BY_CHANNELS.values():  # palette, 1-bit, CMYK, ...: to the plain mode they show as
            x = x.convert("L" if len(x.getbands()) == 1 else "RGB")
        mode = x.mode

        def to_pil(out: np.ndarray):
            keep = mode if _MODES_BY_CHANNELS.get(out.shape[0]) == _MODES_BY_CHANNELS.get(_channels(mode)) else None
            return array_to_pil(out, keep)

        return to_float(pil_to_array(x)), to_pil
    if isinstance(x, np.ndarray) or isinstance(x, (list, tuple)):
        a = np.asarray(x)
        if a.ndim == 2:
            def to_2d(out: np.ndarray):
                out = out[0] if out.shape[0] == 1 else out.transpose(1, 2, 0)
                return _like(out, a.dtype)

            return to_float(a[None]), to_2d
        if a.ndim == 3 and a.dtype == np.uint8 and is_hwc(a):
            return to_float(a.transpose(2, 0, 1)), lambda out: _like(out.transpose(1, 2, 0), np.uint8)
        return _check(to_float(a), name), lambda out: out
    raise TypeError(f"{name} expects a PIL image, a NumPy array or an ember Tensor, got {type(x).__name__}")


def _channels(mode: str) -> int:
    return {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}.get(mode, 3)


def _like(out: np.ndarray, dtype) -> np.ndarray:
    if dtype == np.uint8:
        return np.clip(np.rint(out * np.float32(255)), 0, 255).astype(np.uint8)
    return out


def _check(a: np.ndarray, name: str) -> np.ndarray:
    if a.ndim not in (3, 4):
        raise ValueError(f"{name} expects an NCHW batch or a CHW image, got shape {a.shape}")
    return a
