"""``torchvision.transforms.v2``'s names over ember's transforms: ``from ember.vision.transforms import v2``.

v2 splits v1's ``ToTensor`` in two: ``ToImage`` (PIL image or HWC array → CHW tensor, dtype kept, so uint8
stays uint8) then ``ToDtype(ember.float32, scale=True)`` (uint8 0..255 → float 0..1). The usual pipeline::

    v2.Compose([v2.ToImage(), v2.ToDtype(ember.float32, scale=True), v2.Normalize(mean, std)])

gives what v1's ``Compose([ToTensor(), Normalize(mean, std)])`` gives. Everything else is v1's transforms
under the same names.

One difference from torchvision: ember's geometric and colour transforms compute in float32, so a uint8
tensor (what ``ToImage`` makes) comes out of them as float32 in [0, 1], where torchvision's would stay
uint8. A later ``ToDtype(float32, scale=True)`` then leaves it as it is, so the common pipelines
(``ToImage, RandomResizedCrop, RandomHorizontalFlip, ToDtype, Normalize``) give the same values as
torchvision's up to uint8 rounding of the intermediate image.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

import ember.random as erandom
from ember import dtypes as _dt
from ember.data.augment import (
    ColorJitter, Compose, RandomAffine, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, RandomRotation,
    RandomVerticalFlip, apply_transform,
)
from ember.data.colour import GaussianBlur, Grayscale, RandomErasing, RandomGrayscale
from ember.data.geometry import CenterCrop, Pad, Resize
from ember.data.image import InterpolationMode, is_hwc, is_pil, pil_to_array
from ember.data.transforms import Lambda, Normalize, PILToTensor, RandomApply, ToPILImage, ToTensor
from ember.tensor import Tensor
from ember.vision.transforms import functional

__all__ = [
    "CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "GaussianBlur", "Grayscale", "Identity",
    "InterpolationMode", "Lambda", "Normalize", "PILToTensor", "Pad", "RandomAffine", "RandomApply", "RandomChoice",
    "RandomCrop", "RandomErasing", "RandomGrayscale", "RandomHorizontalFlip", "RandomOrder", "RandomResizedCrop",
    "RandomRotation", "RandomVerticalFlip", "Resize", "ToDtype", "ToImage", "ToPILImage", "ToPureTensor", "ToTensor",
    "functional",
]


class ToImage:
    """A PIL image, an (H, W, C) or (H, W) array, or a tensor, to a (C, H, W) Tensor with its dtype kept.

    Unlike ``ToTensor`` nothing is scaled: uint8 stays uint8 (follow with ``ToDtype(float32, scale=True)``).
    A 3-D array is read as HWC, except a float array whose first axis is a channel count and last is not:
    that is CHW already (what ember's datasets hand out), and is only wrapped."""

    def __call__(self, inpt) -> Tensor:
        if is_pil(inpt):
            a = pil_to_array(inpt)
        elif isinstance(inpt, Tensor):
            a = inpt.array
            if a.ndim < 2:
                raise ValueError(f"ToImage expects an image of at least 2 dimensions, got shape {a.shape}")
            return Tensor._wrap(a[None]) if a.ndim == 2 else inpt
        elif isinstance(inpt, np.ndarray):
            if inpt.ndim == 2:
                a = inpt[None]
            elif inpt.ndim == 3:
                a = inpt.transpose(2, 0, 1) if is_hwc(inpt) else inpt
            else:
                raise ValueError(f"ToImage expects an array image of 2 or 3 dimensions (H, W[, C]), got shape "
                                 f"{inpt.shape}")
        else:
            raise TypeError(f"ToImage expects a PIL image, a NumPy array or an ember Tensor, got "
                            f"{type(inpt).__name__}")
        return Tensor._wrap(np.ascontiguousarray(a))

    def __repr__(self) -> str:
        return "ToImage()"


def _value_bits(dtype: np.dtype) -> int:
    """Bits that carry the value of an integer image dtype (7 for int8, 8 for uint8, ...), as torchvision."""
    return dtype.itemsize * 8 - (1 if dtype.kind == "i" else 0)


def _max_value(dtype: np.dtype) -> float:
    return 1.0 if dtype.kind == "f" else float(2 ** _value_bits(dtype) - 1)


class ToDtype:
    """Convert an image tensor (or array) to ``dtype``; with ``scale=True`` the values are mapped between the
    dtypes' ranges as torchvision does: integers span 0..max (255 for uint8), floats 0..1. So uint8 → float
    divides by 255, float → uint8 multiplies by 255.999 and truncates, integer → integer shifts bits.

    ``dtype`` is one dtype; torchvision's dict form (one dtype per tv_tensor type) has no meaning here, as
    ember has no tv_tensor types."""

    def __init__(self, dtype, scale: bool = False) -> None:
        if isinstance(dtype, dict):
            raise TypeError("ToDtype(dtype={...}): a dtype per tv_tensor type is not supported (ember has no "
                            "tv_tensors); pass one dtype, applied to the image")
        self.dtype = _dt.resolve(dtype)
        self.scale = bool(scale)

    def __call__(self, inpt):
        if is_pil(inpt):
            raise TypeError("ToDtype expects an image tensor, got a PIL image; put ToImage() before ToDtype")
        is_tensor = isinstance(inpt, Tensor)
        if not (is_tensor or isinstance(inpt, np.ndarray)):
            raise TypeError(f"ToDtype expects an ember Tensor or a NumPy array, got {type(inpt).__name__}")
        a = inpt.array if is_tensor else inpt
        src, dst = a.dtype, self.dtype
        if src == dst:
            return inpt
        if src.kind == "f" and dst.kind == "f" or not self.scale:
            return inpt.to(dst) if is_tensor else a.astype(dst)  # a tensor's cast stays differentiable
        if src.kind == "b" or dst.kind == "b":
            raise TypeError(f"ToDtype(scale=True) converts between float and integer images, not {src} → {dst}")
        if dst.kind == "f":
            out = a.astype(dst) * dst.type(1.0 / _max_value(src))  # a product, as torchvision and ToTensor
        elif src.kind == "f":
            eps = 1e-3  # torchvision's: 1.0 maps to max, not max + 1, after truncation
            out = (a * (_max_value(dst) + 1.0 - eps)).astype(dst)
        else:
            shift = _value_bits(dst) - _value_bits(src)
            out = (np.left_shift(a.astype(dst), shift) if shift >= 0 else np.right_shift(a, -shift).astype(dst))
        return Tensor._wrap(out) if is_tensor else out

    def __repr__(self) -> str:
        return f"ToDtype(dtype=ember.{self.dtype.name}, scale={self.scale})"


class ConvertImageDtype(ToDtype):
    """``ToDtype(dtype, scale=True)`` under its older name."""

    def __init__(self, dtype=np.float32) -> None:
        super().__init__(dtype, scale=True)

    def __repr__(self) -> str:
        return f"ConvertImageDtype(dtype=ember.{self.dtype.name})"


class ToPureTensor:
    """torchvision's unwrapping of tv_tensors (Image, Mask, ...) into plain tensors. ember's tensors are
    plain already, so everything passes through unchanged."""

    def __call__(self, inpt):
        return inpt

    def __repr__(self) -> str:
        return "ToPureTensor()"


class Identity:
    """Returns its input: a placeholder where a pipeline wants a transform that does nothing."""

    def __call__(self, inpt):
        return inpt

    def __repr__(self) -> str:
        return "Identity()"


def _callables(transforms: Sequence[Callable], name: str) -> list:
    if not isinstance(transforms, Sequence) or isinstance(transforms, str):
        raise TypeError(f"{name}: argument transforms should be a sequence of callables, got "
                        f"{type(transforms).__name__}")
    for t in transforms:
        if not callable(t):
            raise TypeError(f"{name} needs callables, got {type(t).__name__}")
    return list(transforms)


class RandomChoice:
    """Apply one of ``transforms``, picked at random per call (with probabilities ``p``, normalised to sum to 1;
    equal when None). The draw comes from the ``rng`` the DataLoader passes, else ember's global generator."""

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None) -> None:
        self.transforms = _callables(transforms, "RandomChoice")
        if not self.transforms:
            raise ValueError("RandomChoice needs at least one transform")
        if p is None:
            p = [1.0] * len(self.transforms)
        if len(p) != len(self.transforms):
            raise ValueError(f"Length of p doesn't match the number of transforms: {len(p)} != "
                             f"{len(self.transforms)}")
        p = np.asarray(p, dtype=np.float64)
        if (p < 0).any() or p.sum() <= 0:
            raise ValueError(f"RandomChoice probabilities must be non-negative with a positive sum, got {p.tolist()}")
        self.p = (p / p.sum()).tolist()

    def __call__(self, inpt, rng: np.random.Generator | None = None):
        rng = rng if rng is not None else erandom.generator()
        i = int(np.searchsorted(np.cumsum(self.p), rng.random(), side="right"))
        return apply_transform(self.transforms[min(i, len(self.transforms) - 1)], inpt, None, rng)[0]

    def __repr__(self) -> str:
        return f"RandomChoice(transforms=[{', '.join(map(repr, self.transforms))}], p={self.p})"


class RandomOrder:
    """Apply ``transforms`` in a random order, drawn per call."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = _callables(transforms, "RandomOrder")

    def __call__(self, inpt, rng: np.random.Generator | None = None):
        rng = rng if rng is not None else erandom.generator()
        for i in rng.permutation(len(self.transforms)):
            inpt = apply_transform(self.transforms[i], inpt, None, rng)[0]
        return inpt

    def __repr__(self) -> str:
        return f"RandomOrder(transforms=[{', '.join(map(repr, self.transforms))}])"
