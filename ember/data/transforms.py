"""torchvision's conversion transforms and the small helpers around them.

ember's datasets already give float32 CHW arrays in [0, 1], which is what torchvision's
``ToTensor`` produces from a PIL image; so here ``ToTensor`` converts PIL images and HWC uint8
arrays as torchvision does and lets float CHW arrays through as Tensors. A torchvision
pipeline such as ``Compose([ToTensor(), Normalize((0.5,), (0.5,))])`` then runs unchanged on
ember's datasets and on PIL images alike.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import ember.random as erandom
from ember.data.augment import Compose, apply_transform
from ember.data.dataset import to_float
from ember.data.image import array_to_pil, is_hwc, is_pil, pil_to_array
from ember.tensor import Tensor


def _array(x, name: str) -> np.ndarray:
    """The pixels of a PIL image / array / Tensor as an ndarray in CHW (or NCHW) order, dtype untouched."""
    if is_pil(x):
        return pil_to_array(x)
    if isinstance(x, Tensor):
        a = x.array
        return a[None] if a.ndim == 2 else a
    if isinstance(x, np.ndarray):
        if x.ndim == 2:
            return x[None]
        if x.ndim == 3:
            return x.transpose(2, 0, 1) if is_hwc(x) else x
        if x.ndim == 4:
            return x
        raise ValueError(f"{name} expects an image of 2 or 3 dimensions (or an NCHW batch), got shape {x.shape}")
    raise TypeError(f"{name}: pic should be a PIL Image, a NumPy array or an ember Tensor, got {type(x).__name__}")


class ToTensor:
    """A PIL image or HWC array to a CHW Tensor; uint8 is scaled to float32 in [0, 1] (``x / 255``).

    Other dtypes keep their values (as in torchvision: a float HWC array is only transposed).
    Float CHW arrays and Tensors (what ember's datasets give) pass through as Tensors, so the
    transform is harmless where torchvision code puts it first.
    """

    def __call__(self, pic) -> Tensor:
        a = _array(pic, "ToTensor")
        a = to_float(a) if a.dtype == np.uint8 else a
        return Tensor._wrap(np.ascontiguousarray(a))

    def __repr__(self) -> str:
        return "ToTensor()"


class PILToTensor:
    """A PIL image (or HWC uint8 array) to a uint8 CHW Tensor, values unscaled."""

    def __call__(self, pic) -> Tensor:
        if not (is_pil(pic) or isinstance(pic, np.ndarray)):
            raise TypeError(f"PILToTensor: pic should be a PIL Image or a NumPy array, got {type(pic).__name__}")
        return Tensor._wrap(np.ascontiguousarray(_array(pic, "PILToTensor")))

    def __repr__(self) -> str:
        return "PILToTensor()"


class ToPILImage:
    """A CHW Tensor or array (or HWC array) to a PIL image; floats become ``uint8(x * 255)`` (truncated, as torchvision).

    ``mode``: the PIL mode to convert to (by default L, LA, RGB or RGBA by channel count).
    """

    def __init__(self, mode: str | None = None):
        if mode is not None and not isinstance(mode, str):
            raise TypeError(f"mode must be a PIL mode string such as 'RGB', got {type(mode).__name__}")
        self.mode = mode

    def __call__(self, pic):
        if is_pil(pic):
            return pic if self.mode is None else pic.convert(self.mode)
        a = _array(pic, "ToPILImage")
        if a.ndim != 3:
            raise ValueError(f"ToPILImage converts one image (C, H, W), got shape {a.shape}")
        return array_to_pil(a, self.mode, exact=False)

    def __repr__(self) -> str:
        return "ToPILImage()" if self.mode is None else f"ToPILImage(mode={self.mode!r})"


def _per_channel(values, name: str) -> tuple[float, ...]:
    vals = (values,) if isinstance(values, (int, float, np.number)) else values
    try:
        vals = tuple(float(v) for v in vals)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number or a sequence of numbers, got {values!r}") from None
    if not vals:
        raise ValueError(f"{name} must not be empty")
    return vals


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a float (..., C, H, W) Tensor or array, as torchvision's.

    Works on float input only (put ``ToTensor()`` before it for PIL images and uint8 arrays);
    ``inplace`` overwrites the input's values and returns it.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean = list(_per_channel(mean, "mean"))
        self.std = list(_per_channel(std, "std"))
        if len(self.mean) != len(self.std) and 1 not in (len(self.mean), len(self.std)):
            raise ValueError(f"mean has {len(self.mean)} values but std has {len(self.std)}")
        if any(s == 0 for s in self.std):
            raise ValueError(f"std evaluated to zero, leading to division by zero: std={self.std}")
        self.inplace = bool(inplace)

    def __call__(self, tensor):
        if is_pil(tensor):
            raise TypeError("Normalize expects a float Tensor or array (C, H, W), got a PIL image; put ToTensor() "
                            "before Normalize")
        is_tensor = isinstance(tensor, Tensor)
        a = tensor.array if is_tensor else np.asarray(tensor)
        if a.dtype.kind != "f":
            raise TypeError(f"Normalize expects a float tensor, got {a.dtype}; put ToTensor() before Normalize")
        if a.ndim < 3:
            raise ValueError(f"Normalize expects a tensor image of size (..., C, H, W), got shape {a.shape}")
        c = a.shape[-3]
        for name, vals in (("mean", self.mean), ("std", self.std)):
            if len(vals) not in (1, c):
                raise ValueError(f"Normalize has {len(vals)} {name} values but the image has {c} channels")
        mean = np.asarray(self.mean, dtype=a.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=a.dtype).reshape(-1, 1, 1)
        if self.inplace:
            if not a.flags.writeable:
                raise ValueError("Normalize(inplace=True) was given a read-only array; use inplace=False")
            np.subtract(a, mean, out=a)
            np.divide(a, std, out=a)
            return tensor
        out = (a - mean) / std
        return Tensor._wrap(out) if is_tensor else out

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Lambda:
    """A user function as a transform (its repr stays short in a Compose)."""

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__!r}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return "Lambda()"


class RandomApply:
    """Apply ``transforms`` in order with probability ``p``: once per call for one image, per image for an NCHW batch."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomApply probability must be in [0, 1], got {p}")
        self.transforms = Compose(transforms)
        self.p = float(p)

    def __call__(self, img, rng: np.random.Generator | None = None):
        rng = rng if rng is not None else erandom.generator()
        batch = isinstance(img, (np.ndarray, Tensor)) and np.ndim(img.array if isinstance(img, Tensor) else img) == 4
        if not batch:
            return apply_transform(self.transforms, img, None, rng)[0] if rng.random() < self.p else img
        a = img.array if isinstance(img, Tensor) else img
        chosen = np.flatnonzero(rng.random(a.shape[0]) < self.p)
        out = to_float(a).copy()
        if chosen.size:
            out[chosen] = to_float(apply_transform(self.transforms, out[chosen], None, rng)[0])
        return Tensor._wrap(out) if isinstance(img, Tensor) else out

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms.transforms)
        return f"RandomApply(p={self.p}, transforms=[{inner}])"
