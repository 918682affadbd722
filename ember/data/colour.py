"""torchvision's colour and blur transforms: Grayscale, RandomGrayscale, GaussianBlur, RandomErasing.

Random choices are made per image of a batch (ember's batch transforms); for one image they
are one draw, as in torchvision. Grey uses torchvision's tensor weights
``0.2989 R + 0.587 G + 0.114 B``; a PIL image given to :class:`Grayscale` is converted by
Pillow, as torchvision does.
"""
from __future__ import annotations

import numbers

import numpy as np

from ember.data import functional as F
from ember.data.augment import Transform
from ember.data.image import is_pil


def _probability(p, name: str) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} probability must be a number in [0, 1], got {p!r}")
    return float(p)


class Grayscale(Transform):
    """Convert to grey, with 1 or 3 (equal) output channels; a grey input stays grey."""

    def __init__(self, num_output_channels: int = 1):
        super().__init__()
        if num_output_channels not in (1, 3):
            raise ValueError(f"num_output_channels should be either 1 or 3, got {num_output_channels!r}")
        self.num_output_channels = int(num_output_channels)

    def __call__(self, x, rng=None):
        if is_pil(x):
            grey = x.convert("L")
            return grey if self.num_output_channels == 1 else grey.convert("RGB")
        return super().__call__(x, rng)

    def apply(self, x, rng):
        return F.rgb_to_grayscale(x, self.num_output_channels)

    def _params(self):
        return f"num_output_channels={self.num_output_channels}"


class RandomGrayscale(Transform):
    """Make each image grey with probability ``p``, keeping its channel count (3 equal channels for RGB)."""

    def __init__(self, p: float = 0.1, generator=None):
        super().__init__(generator)
        self.p = _probability(p, "RandomGrayscale")

    def apply(self, x, rng):
        chosen = np.flatnonzero(rng.random(x.shape[0]) < self.p)
        if x.shape[1] == 1 or not chosen.size:
            return x
        out = x.copy()
        out[chosen] = F.rgb_to_grayscale(x[chosen], x.shape[1])
        return out

    def _params(self):
        return f"p={self.p}"


class GaussianBlur(Transform):
    """Blur with a Gaussian of ``kernel_size`` taps (int, or (x, y)), sigma ``~ U[sigma]`` per image.

    ``kernel_size`` values must be positive and odd; ``sigma``: a fixed number > 0, or (min, max).
    The border is reflected, as torchvision does.
    """

    def __init__(self, kernel_size, sigma=(0.1, 2.0), generator=None):
        super().__init__(generator)
        ks = F.size2(kernel_size, "kernel_size")
        if any(k % 2 == 0 for k in ks):
            raise ValueError(f"kernel_size values should be odd and positive, got {kernel_size!r}")
        self.kernel_size = ks
        if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
            if sigma <= 0:
                raise ValueError(f"if sigma is a single number, it must be positive, got {sigma}")
            sigma = (float(sigma), float(sigma))
        else:
            try:
                sigma = tuple(float(s) for s in sigma)
            except (TypeError, ValueError):
                raise ValueError(f"sigma must be a number or a (min, max) pair, got {sigma!r}") from None
            if len(sigma) != 2 or not 0.0 < sigma[0] <= sigma[1]:
                raise ValueError(f"sigma values should be positive and of the form (min, max), got {sigma!r}")
        self.sigma = sigma

    def apply(self, x, rng):
        sigma = rng.uniform(*self.sigma, size=x.shape[0])
        kx = F.gaussian_kernels(self.kernel_size[0], sigma)
        ky = F.gaussian_kernels(self.kernel_size[1], sigma)
        return F.blur(x, kx, ky)

    def _params(self):
        return f"kernel_size={self.kernel_size}, sigma={self.sigma}"


class RandomErasing(Transform):
    """Erase one random box per image with probability ``p`` (Zhong et al.; torchvision's cutout).

    The box covers a fraction of the area in ``scale`` with aspect ratio in ``ratio`` (drawn
    log-uniformly); up to ten boxes are tried and an image where none fits is left as it is.
    ``value``: a number, one per channel, or "random" (standard normal noise). ``inplace``
    writes the result into the given array or Tensor.
    """

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, inplace: bool = False,
                 generator=None):
        super().__init__(generator)
        self.p = _probability(p, "RandomErasing")
        if isinstance(value, str):
            if value != "random":
                raise ValueError(f"if value is a str, it should be 'random', got {value!r}")
        elif not isinstance(value, (numbers.Real, tuple, list)):
            raise TypeError(f"value should be a number, a sequence of numbers or 'random', got "
                            f"{type(value).__name__}")
        self.value = value
        self.scale = F.pair_range(scale, "scale", bound=(0.0, 1.0))
        self.ratio = F.pair_range(ratio, "ratio")
        if self.ratio[0] <= 0:
            raise ValueError(f"ratio must be positive, got {ratio!r}")
        self.inplace = bool(inplace)

    def __call__(self, x, rng=None):
        out = super().__call__(x, rng)
        if not self.inplace or is_pil(x):
            return out
        target = getattr(x, "array", x)
        if not isinstance(target, np.ndarray) or target.dtype.kind != "f":
            raise TypeError("RandomErasing(inplace=True) needs a float array or Tensor")
        target[...] = getattr(out, "array", out)
        return x

    def apply(self, x, rng):
        n, c, h, w = x.shape
        tries = 10
        area = rng.uniform(*self.scale, size=(n, tries)) * h * w
        aspect = np.exp(rng.uniform(*np.log(self.ratio), size=(n, tries)))
        eh = np.rint(np.sqrt(area * aspect)).astype(np.int64)
        ew = np.rint(np.sqrt(area / aspect)).astype(np.int64)
        fits = (eh < h) & (ew < w)
        first = fits.argmax(axis=1)
        eh, ew = eh[np.arange(n), first], ew[np.arange(n), first]
        active = fits.any(axis=1) & (rng.random(n) < self.p)
        top = rng.integers(0, h - eh + 1)[:, None]
        left = rng.integers(0, w - ew + 1)[:, None]
        rows = (np.arange(h)[None] >= top) & (np.arange(h)[None] < top + eh[:, None])
        cols = (np.arange(w)[None] >= left) & (np.arange(w)[None] < left + ew[:, None])
        mask = (rows[:, :, None] & cols[:, None, :] & active[:, None, None])[:, None]
        if isinstance(self.value, str):
            fill = rng.standard_normal(x.shape).astype(np.float32)
        else:
            fill = F.fill_value(self.value, "value")
            if fill.ndim == 1 and fill.size not in (1, c):
                raise ValueError(f"value has {fill.size} numbers but the image has {c} channels")
            fill = fill.reshape(-1, 1, 1) if fill.ndim == 1 else fill
        return np.where(mask, fill, x)

    def _params(self):
        return f"p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value}, inplace={self.inplace}"
