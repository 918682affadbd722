"""torchvision's deterministic geometric transforms: Resize, CenterCrop and Pad.

They work on every kind :mod:`ember.data.image` knows (PIL images come back as PIL images), on
one image or an NCHW batch. Resize hands PIL images to Pillow, as torchvision does; arrays and
Tensors are resampled by :func:`ember.data.functional.resize`, which matches
``torch.nn.functional.interpolate`` (bilinear, half-pixel centres, antialiased when shrinking).
"""
from __future__ import annotations

from ember.data import functional as F
from ember.data.augment import Transform
from ember.data.image import InterpolationMode, interpolation_mode, is_pil, pil_resample


class Resize(Transform):
    """Resize to ``size``: (H, W), or an int that the shorter side becomes (the longer keeps the aspect ratio).

    ``max_size`` caps the longer side for an int ``size``; ``interpolation``: nearest or bilinear
    for arrays and Tensors, any Pillow filter for PIL images; ``antialias`` (default True, as
    torchvision) low-pass filters when shrinking so fine detail does not alias.
    """

    def __init__(self, size, interpolation=InterpolationMode.BILINEAR, max_size: int | None = None,
                 antialias: bool | None = True):
        super().__init__()
        if isinstance(size, (list, tuple)) and len(size) not in (1, 2):
            raise ValueError(f"size must be an int or a sequence of 1 or 2 ints, got {size!r}")
        F.size2(size, "size")  # the type and range check
        self.size = size
        self.interpolation = interpolation_mode(interpolation)
        self.max_size = max_size
        self.antialias = True if antialias is None else bool(antialias)
        F.resized_output_size(100, 100, size, max_size)  # rejects a bad max_size now, not at the first image

    def __call__(self, x, rng=None):
        if is_pil(x):
            h, w = F.resized_output_size(x.height, x.width, self.size, self.max_size)
            return x if (h, w) == (x.height, x.width) else x.resize((w, h), pil_resample(self.interpolation))
        return super().__call__(x, rng)

    def apply(self, x, rng):
        size = F.resized_output_size(x.shape[2], x.shape[3], self.size, self.max_size)
        return F.resize(x, size, self.interpolation, self.antialias)

    def _params(self):
        return (f"size={self.size}, interpolation={self.interpolation.value}, max_size={self.max_size}, "
                f"antialias={self.antialias}")


class CenterCrop(Transform):
    """Cut the central ``size`` (int or (H, W)) window; an image smaller than that is zero-padded first."""

    def __init__(self, size):
        super().__init__()
        self.size = F.size2(size, "crop size")

    def apply(self, x, rng):
        return F.center_crop(x, self.size)

    def _params(self):
        return f"size={self.size}"


class Pad(Transform):
    """Pad the border: ``padding`` an int, (left/right, top/bottom) or (left, top, right, bottom).

    ``padding_mode``: constant (``fill``, a number or one per channel, in the image's [0, 1]
    units), edge, reflect (mirror without repeating the edge) or symmetric (repeating it).
    """

    def __init__(self, padding, fill=0.0, padding_mode: str = "constant"):
        super().__init__()
        self._ltrb = F.padding_ltrb(padding)
        self.padding = padding
        self.fill = F.fill_value(fill)
        self.padding_mode = F.check_pad_mode(padding_mode)

    def apply(self, x, rng):
        return F.pad(x, self._ltrb, self.fill, self.padding_mode)

    def _params(self):
        fill = float(self.fill) if self.fill.ndim == 0 else self.fill.tolist()
        return f"padding={self.padding}, fill={fill}, padding_mode={self.padding_mode}"

