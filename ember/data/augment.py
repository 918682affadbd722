"""Training-time data augmentation on whole NCHW batches, vectorised over the batch.

Every transform takes a float batch (N, C, H, W) — or one image (C, H, W) — as an ndarray or an
ember Tensor, or one PIL image or HWC uint8 array as torchvision users hand them, and returns the
same kind (see :mod:`ember.data.image`). Arguments follow torchvision's names and forms
(``RandomCrop(32, padding=4)``, ``ColorJitter(0.4, 0.4, 0.4, 0.1)``, ``RandomRotation((-10, 20))``);
the ember forms that predate them still work. Randomness comes from, in order: the ``rng`` argument
(the DataLoader passes each batch its own, so batches are reproducible and independent of
worker threads), the transform's own ``generator``, or ember's global generator (fixed by
``ember.manual_seed``). Per-sample choices (flip or not, crop offset, angle, ...) are drawn as
arrays and applied with broadcasting and fancy indexing — no Python loop over images.

What the notes describe and where it is here:

* horizontal flips — :class:`RandomHorizontalFlip`
* random crops (after zero padding) and scales — :class:`RandomCrop`, :class:`RandomResizedCrop`
* colour jitter (brightness, contrast, saturation) — :class:`ColorJitter`
* PCA colour augmentation (AlexNet): add ``[p1 p2 p3] [a1 l1, a2 l2, a3 l3]^T`` to every pixel,
  ``p_i, l_i`` the eigenvectors/values of the RGB covariance, ``a_i ~ N(0, std)`` — :class:`PCALighting`
* rotation and stretching — :class:`RandomRotation`, :class:`RandomAffine`
* cutout (zero a random square) — :class:`Cutout`; mixup — :class:`~ember.data.mixup.Mixup`

:func:`parse_augment` turns a spec such as ``"flip,crop:padding=4,cutout"`` into a :class:`Compose`.
"""
from __future__ import annotations

import ast
import inspect

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import ember.random as erandom
from ember.data import functional as F
from ember.data.dataset import to_float
from ember.data.image import InterpolationMode, interpolation_mode, unpack
from ember.data.mixup import Mixup


class Transform:
    """Base class: handles Tensor/ndarray, single images and the rng; subclasses implement ``apply``."""

    def __init__(self, generator: erandom.Generator | np.random.Generator | None = None):
        if generator is not None:
            erandom.numpy_rng(generator)  # the type check, up front
        self.generator = generator

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x, rng: np.random.Generator | None = None):
        a, restore = unpack(x, type(self).__name__)
        single = a.ndim == 3
        if single:
            a = a[None]
        out = self.apply(a, rng if rng is not None else erandom.numpy_rng(self.generator))
        out = out.astype(np.float32, copy=False)
        return restore(out[0] if single else out)

    def _params(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._params()})"


def _takes_rng(fn) -> bool:
    if isinstance(fn, (Transform, Compose, Mixup)):
        return True
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "rng" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def apply_transform(transform, x, y, rng: np.random.Generator | None):
    """Apply one batch transform: label-mixing ones see ``(x, y)``, the rest only ``x``; returns ``(x, y)``."""
    if getattr(transform, "mixes_labels", False):
        if y is None:
            raise ValueError(f"{transform!r} mixes labels but the batch has none")
        return transform(x, y, rng=rng)
    return (transform(x, rng=rng) if _takes_rng(transform) else transform(x)), y


class Compose:
    """Apply transforms in order. Called as ``c(x)`` it returns x; as ``c(x, y)`` it returns ``(x, y)``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose needs callables, got {type(t).__name__}")

    @property
    def mixes_labels(self) -> bool:
        return any(getattr(t, "mixes_labels", False) for t in self.transforms)

    def __call__(self, x, y=None, rng: np.random.Generator | None = None):
        if y is None and self.mixes_labels:
            raise ValueError("this Compose contains a label-mixing transform (mixup): call it with (images, labels)")
        for t in self.transforms:
            x, y = apply_transform(t, x, y, rng)
        return x if y is None else (x, y)

    def __len__(self) -> int:
        return len(self.transforms)

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


# ----------------------------------------------------------------------------- geometry


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__(generator)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"flip probability must be in [0, 1], got {p}")
        self.p = float(p)

    def apply(self, x, rng):
        flip = rng.random(x.shape[0]) < self.p
        out = x.copy()
        out[flip] = x[flip, ..., ::-1]  # copies only the flipped images (twice as fast as np.where)
        return out

    def _params(self):
        return f"p={self.p}"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror each image top-bottom with probability ``p`` (upright objects rarely want this; text and
    satellite images may)."""

    def apply(self, x, rng):
        flip = rng.random(x.shape[0]) < self.p
        out = x.copy()
        out[flip] = x[flip, ..., ::-1, :]
        return out


def _size2(size, name: str) -> tuple[int, int] | None:
    return None if size is None else F.size2(size, name)


def _fill_repr(fill: np.ndarray):
    return float(fill) if fill.ndim == 0 else [float(v) for v in fill]


class RandomCrop(Transform):
    """Pad by ``padding`` pixels, then cut a random ``size`` window per image (torchvision's arguments).

    ``padding``: an int, (left/right, top/bottom) or (left, top, right, bottom); ``pad_if_needed``
    pads an image smaller than ``size`` up to it; ``padding_mode``: constant (``fill``, a number or
    one per channel), edge, reflect or symmetric. ember's own form leaves ``size`` out: the window
    is then the input size and ``padding`` defaults to 4 (the "pad 4 and crop back to 32" of CIFAR
    training); with a ``size``, ``padding`` defaults to 0 as in torchvision.
    """

    def __init__(self, size=None, padding=None, pad_if_needed: bool = False, fill=0.0,
                 padding_mode: str = "constant", generator=None):
        super().__init__(generator)
        if not isinstance(pad_if_needed, (bool, np.bool_, int)):  # ember's old third positional was fill
            raise TypeError(f"pad_if_needed must be a bool, got {pad_if_needed!r} (pass fill= by keyword)")
        self.size = _size2(size, "crop size")
        if padding is None:
            padding = 4 if self.size is None else 0
        self._ltrb = F.padding_ltrb(padding)
        self.padding = padding  # as given, like torchvision's attribute
        self.pad_if_needed = bool(pad_if_needed)
        self.fill = F.fill_value(fill)
        self.padding_mode = F.check_pad_mode(padding_mode)

    def apply(self, x, rng):
        n = x.shape[0]
        x = F.pad(x, self._ltrb, self.fill, self.padding_mode)
        hp, wp = x.shape[2], x.shape[3]
        ch, cw = self.size or (hp - self._ltrb[1] - self._ltrb[3], wp - self._ltrb[0] - self._ltrb[2])
        if self.pad_if_needed and (ch > hp or cw > wp):
            dw, dh = max(cw - wp, 0), max(ch - hp, 0)
            x = F.pad(x, (dw, dh, dw, dh), self.fill, self.padding_mode)
            hp, wp = x.shape[2], x.shape[3]
        if ch > hp or cw > wp:
            raise ValueError(f"crop {ch}x{cw} is larger than the padded image {hp}x{wp} (pad_if_needed=True pads "
                             "small images up to the crop)")
        oy = rng.integers(0, hp - ch + 1, size=n)
        ox = rng.integers(0, wp - cw + 1, size=n)
        windows = sliding_window_view(x, (ch, cw), axis=(2, 3))  # (N, C, hp-ch+1, wp-cw+1, ch, cw), no copy
        return windows[np.arange(n), :, oy, ox]  # advanced indices around a slice -> (N, C, ch, cw)

    def _params(self):
        return f"size={self.size}, padding={self.padding}, padding_mode={self.padding_mode!r}"


def _bilinear(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, fill) -> np.ndarray:
    return F.sample(x, rows, cols, fill, InterpolationMode.BILINEAR)


class RandomResizedCrop(Transform):
    """Crop a random box (area fraction in ``scale``, aspect ratio in ``ratio``) and resize it to ``size``.

    The aspect ratio is drawn log-uniformly; a box that would not fit is clipped to the image
    (torchvision retries ten times, then takes a centre crop). ``size`` defaults to the input
    size, so this is "random scale" augmentation as well. The box is sampled at the output
    pixels' centres (``interpolation`` nearest or bilinear), without antialiasing.
    """

    def __init__(self, size=None, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                 interpolation=InterpolationMode.BILINEAR, antialias: bool | None = True, generator=None):
        super().__init__(generator)
        self.interpolation = interpolation_mode(interpolation)
        if self.interpolation not in (InterpolationMode.NEAREST, InterpolationMode.BILINEAR):
            raise ValueError(f"RandomResizedCrop supports interpolation nearest or bilinear, got "
                             f"{self.interpolation.value}")
        self.antialias = antialias
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f"scale must satisfy 0 < min <= max <= 1, got {scale}")
        if not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio must satisfy 0 < min <= max, got {ratio}")
        self.size = _size2(size, "size")
        self.scale = tuple(float(s) for s in scale)
        self.ratio = tuple(float(r) for r in ratio)

    def apply(self, x, rng):
        n, _, h, w = x.shape
        oh, ow = self.size or (h, w)
        area = rng.uniform(*self.scale, size=n) * h * w
        aspect = np.exp(rng.uniform(np.log(self.ratio[0]), np.log(self.ratio[1]), size=n))
        bw = np.minimum(np.sqrt(area * aspect), w)
        bh = np.minimum(np.sqrt(area / aspect), h)
        top = rng.uniform(0, 1, size=n) * (h - bh)
        left = rng.uniform(0, 1, size=n) * (w - bw)
        # output pixel centre i + 0.5 maps to top + (i + 0.5) * bh / oh in source pixel units
        rows = top[:, None] + (np.arange(oh)[None] + 0.5) * (bh / oh)[:, None] - 0.5
        cols = left[:, None] + (np.arange(ow)[None] + 0.5) * (bw / ow)[:, None] - 0.5
        rows = np.broadcast_to(rows[:, :, None], (n, oh, ow))
        cols = np.broadcast_to(cols[:, None, :], (n, oh, ow))
        return F.sample(x, rows, cols, None, self.interpolation)

    def _params(self):
        return f"size={self.size}, scale={self.scale}, ratio={self.ratio}, interpolation={self.interpolation.value}"


def _angle_range(degrees) -> tuple[float, float]:
    return F.pair_range(degrees, "degrees")


class RandomAffine(Transform):
    """Random rotation, translation, scale and shear about the centre (torchvision's arguments),
    plus ember's ``stretch``: each axis scaled by its own factor in ``[1 - stretch, 1 + stretch]``.

    ``degrees``: d for ``[-d, d]`` or (min, max); ``translate``: (a, b), the largest shift as a
    fraction of the width and height (whole pixels, as torchvision rounds them); ``scale``:
    (min, max); ``shear``: s for x-shear in ``[-s, s]``, (min, max) for x, or four values for x
    and y; ``fill``: a number or one per channel, in the image's [0, 1] units; ``center``: (x, y)
    in pixels. Uncovered pixels take ``fill``; sampling is nearest unless ``interpolation`` says bilinear
    (torchvision's default, kept so its scripts draw the same images; bilinear is smoother for small rotations,
    and ember's ``rotate``/``stretch`` recipes use it).
    """

    def __init__(self, degrees=10.0, translate=None, scale=None, shear=None,
                 interpolation=InterpolationMode.NEAREST, fill=0.0, center=None, *, stretch: float = 0.0,
                 generator=None):
        super().__init__(generator)
        self.degrees = _angle_range(degrees)
        if translate is not None:
            if F._is_number(translate) or len(translate) != 2 or not all(0.0 <= t <= 1.0 for t in translate):
                raise ValueError(f"translate must be a pair (a, b) of fractions in [0, 1], got {translate!r} "
                                 "(ember's per-axis scaling is stretch=, by keyword)")
            translate = tuple(float(t) for t in translate)
        if scale is not None:
            if F._is_number(scale) or len(scale) != 2 or not 0 < scale[0] <= scale[1]:
                raise ValueError(f"scale must be a pair (min, max) with 0 < min <= max, got {scale!r}")
            scale = tuple(float(v) for v in scale)
        if shear is not None:
            if F._is_number(shear) or len(shear) == 2:
                shear = F.pair_range(shear, "shear") + (0.0, 0.0)
            elif len(shear) == 4:
                shear = F.pair_range(shear[:2], "shear") + F.pair_range(shear[2:], "shear")
            else:
                raise ValueError(f"shear must be a number or a sequence of 2 or 4 numbers, got {shear!r}")
        if not 0 <= stretch < 1:
            raise ValueError(f"stretch must be in [0, 1), got {stretch}")
        if center is not None and (len(center) != 2):
            raise ValueError(f"center must be a pair (x, y), got {center!r}")
        self.translate, self.scale, self.shear = translate, scale, shear
        self.interpolation = interpolation_mode(interpolation)
        self.fill = F.fill_value(fill)
        self.center = None if center is None else tuple(float(c) for c in center)
        self.stretch = float(stretch)

    def _matrix(self, n, h, w, rng):
        """The inverse matrices; angles are drawn first, so rotation alone uses one uniform draw per image."""
        zeros = np.zeros(n)
        angle = rng.uniform(*self.degrees, size=n)
        translate = np.zeros((n, 2))
        if self.translate is not None:
            limit = np.array([self.translate[0] * w, self.translate[1] * h])
            translate = np.round(rng.uniform(-limit, limit, size=(n, 2)))
        scale = np.ones(n) if self.scale is None else rng.uniform(*self.scale, size=n)
        shear = np.stack([zeros, zeros], 1)
        if self.shear is not None:
            shear = np.stack([rng.uniform(*self.shear[:2], size=n), rng.uniform(*self.shear[2:], size=n)], 1)
        m = F.inverse_affine(-angle, translate, scale, shear)  # ember's angles turn counter-clockwise
        if self.stretch:
            sy = rng.uniform(1 - self.stretch, 1 + self.stretch, size=n)
            sx = rng.uniform(1 - self.stretch, 1 + self.stretch, size=n)
            m = m / np.stack([sx, sy], 1)[:, :, None]
        return m

    def apply(self, x, rng):
        n, _, h, w = x.shape
        return F.affine(x, self._matrix(n, h, w, rng), self.fill, self.interpolation, self.center)

    def _params(self):
        parts = [f"degrees={list(self.degrees)}"]
        parts += [f"{k}={list(v)}" for k, v in (("translate", self.translate), ("scale", self.scale),
                                                ("shear", self.shear)) if v is not None]
        if self.stretch:
            parts.append(f"stretch={self.stretch}")
        return ", ".join(parts + [f"interpolation={self.interpolation.value}", f"fill={_fill_repr(self.fill)}"])


class RandomRotation(RandomAffine):
    """Rotate each image by a random angle in ``[-degrees, degrees]`` (or (min, max)); positive turns
    counter-clockwise, as in torchvision. ``expand`` (grow the canvas to hold the whole turned
    image) is not supported: every image of a batch must keep one size.
    """

    def __init__(self, degrees=10.0, interpolation=InterpolationMode.NEAREST, expand: bool = False,
                 center=None, fill=0.0, generator=None):
        if isinstance(interpolation, (int, float)) and not isinstance(interpolation, bool):
            raise TypeError(f"interpolation must be an InterpolationMode or its name, got {interpolation!r} "
                            "(ember's old second positional argument was fill: pass fill= by keyword)")
        if expand:
            raise ValueError("RandomRotation(expand=True) is not supported: rotated images keep their size")
        super().__init__(degrees=degrees, interpolation=interpolation, fill=fill, center=center, generator=generator)
        self.expand = False

    def _params(self):
        return f"degrees={list(self.degrees)}, interpolation={self.interpolation.value}, fill={_fill_repr(self.fill)}"


# ----------------------------------------------------------------------------- photometric

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 grey from RGB


def _grey(x: np.ndarray) -> np.ndarray:
    """(N, 1, H, W) luminance: the image itself for one channel, 0.299 R + 0.587 G + 0.114 B for RGB."""
    if x.shape[1] == 3:
        return np.einsum("nchw,c->nhw", x, _LUMA)[:, None]
    return x.mean(axis=1, keepdims=True)


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order per image (as torchvision).

    Each of brightness, contrast and saturation is a strength ``s`` (factor ``f ~ U[max(0, 1 - s),
    1 + s]`` per image) or a (min, max) factor range; hue is ``h`` in [0, 0.5] (a shift ``~ U[-h, h]``
    of a full turn of the colour wheel) or a range within [-0.5, 0.5].
    brightness: ``x * f``; contrast: ``(x - m) * f + m`` with ``m`` the image's mean grey level;
    saturation: ``(x - g) * f + g`` with ``g`` the pixel's grey value; hue: rotate H in HSV space.
    Saturation and hue need colour, so grey images skip them. Each step is clipped to [0, 1].
    """

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0, generator=None):
        super().__init__(generator)
        self.brightness = self._range(brightness, "brightness")
        self.contrast = self._range(contrast, "contrast")
        self.saturation = self._range(saturation, "saturation")
        self.hue = self._range(hue, "hue", centre=0.0, bound=(-0.5, 0.5))

    @staticmethod
    def _range(value, name: str, centre: float = 1.0, bound=(0.0, float("inf"))):
        """torchvision's rule: a number is a strength about ``centre`` (floored at 0), a pair a range; no-op -> None."""
        if F._is_number(value) and value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
        lo, hi = F.pair_range(value, name, centre)
        if centre == 1.0 and F._is_number(value):
            lo = max(lo, 0.0)
        if not (bound[0] <= lo and hi <= bound[1]):
            raise ValueError(f"{name} values should be between {list(bound)}, got {value!r}")
        return None if lo == hi == centre else (lo, hi)

    def apply(self, x, rng):
        n = x.shape[0]
        colour = x.shape[1] == 3
        ranges = [self.brightness, self.contrast, self.saturation if colour else None, self.hue if colour else None]
        factors = [None if r is None else rng.uniform(*r, size=n).astype(np.float32) for r in ranges]
        active = [k for k, f in enumerate(factors) if f is not None]
        if not active:
            return x
        order = rng.permuted(np.tile(np.arange(len(active)), (n, 1)), axis=1)  # a random order per image
        out = x.copy()
        for step in range(len(active)):
            for slot, k in enumerate(active):
                rows = np.flatnonzero(order[:, step] == slot)
                if rows.size:
                    out[rows] = self._adjust(k, out[rows], factors[k][rows])
        return out

    @staticmethod
    def _adjust(k: int, x: np.ndarray, f: np.ndarray) -> np.ndarray:
        f4 = f[:, None, None, None]
        if k == 0:
            out = x * f4
        elif k == 1:
            mean = _grey(x).mean(axis=(1, 2, 3), keepdims=True)
            out = (x - mean) * f4 + mean
        elif k == 2:
            grey = _grey(x)
            out = (x - grey) * f4 + grey
        else:
            out = F.adjust_hue(x, f)
        return np.clip(out, 0.0, 1.0)

    def _params(self):
        def show(r, zero):
            return zero if r is None else list(r)

        return (f"brightness={show(self.brightness, 0.0)}, contrast={show(self.contrast, 0.0)}, "
                f"saturation={show(self.saturation, 0.0)}, hue={show(self.hue, 0.0)}")


class PCALighting(Transform):
    """AlexNet's PCA colour augmentation: shift every pixel of an image by ``sum_i a_i l_i p_i``.

    ``p_i, l_i`` are the eigenvectors and eigenvalues of the channel covariance of training pixels
    (:meth:`fit`, or given), ``a_i ~ N(0, std)`` drawn once per image (AlexNet used std 0.1).
    Unfitted, it estimates them from each batch's own pixels. :meth:`imagenet` gives the
    published ImageNet RGB values (for pixels in [0, 1]).
    """

    IMAGENET_EIGVAL = np.array([0.2175, 0.0188, 0.0045], dtype=np.float32)
    IMAGENET_EIGVEC = np.array([[-0.5675, 0.7192, 0.4009],
                                [-0.5808, -0.0045, -0.8140],
                                [-0.5836, -0.6948, 0.4203]], dtype=np.float32)

    def __init__(self, std: float = 0.1, eigval=None, eigvec=None, generator=None):
        super().__init__(generator)
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}")
        self.std = float(std)
        if (eigval is None) != (eigvec is None):
            raise ValueError("give both eigval and eigvec, or neither")
        self.eigval = None if eigval is None else np.asarray(eigval, dtype=np.float32)
        self.eigvec = None if eigvec is None else np.asarray(eigvec, dtype=np.float32)

    @classmethod
    def imagenet(cls, std: float = 0.1, generator=None) -> "PCALighting":
        return cls(std, cls.IMAGENET_EIGVAL, cls.IMAGENET_EIGVEC, generator)

    @staticmethod
    def _eig(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pixels = x.transpose(0, 2, 3, 1).reshape(-1, x.shape[1]).astype(np.float64)
        cov = np.atleast_2d(np.cov(pixels, rowvar=False))
        val, vec = np.linalg.eigh(cov)
        return np.clip(val[::-1], 0, None).astype(np.float32), vec[:, ::-1].astype(np.float32)

    def fit(self, x) -> "PCALighting":
        """Eigen-decompose the channel covariance of training images (N, C, H, W)."""
        a = to_float(x)
        if a.ndim != 4:
            raise ValueError(f"PCALighting.fit expects an NCHW batch, got shape {a.shape}")
        self.eigval, self.eigvec = self._eig(a)
        return self

    def apply(self, x, rng):
        eigval, eigvec = (self.eigval, self.eigvec) if self.eigval is not None else self._eig(x)
        if eigvec.shape != (x.shape[1], x.shape[1]):
            raise ValueError(f"PCALighting was fitted on {eigvec.shape[0]} channels, the batch has {x.shape[1]}")
        alpha = rng.normal(0.0, self.std, size=(x.shape[0], x.shape[1])).astype(np.float32)
        shift = (alpha * eigval) @ eigvec.T  # (N, C): sum_i a_i l_i p_i for each image
        return x + shift[:, :, None, None]

    def _params(self):
        return f"std={self.std}, fitted={self.eigval is not None}"


# ----------------------------------------------------------------------------- occlusion


class Cutout(Transform):
    """Zero (or ``fill``) one random ``size`` x ``size`` square per image, with probability ``p``.

    The square lies wholly inside the image, so exactly ``size**2`` pixels per channel change.
    """

    def __init__(self, size: int = 8, p: float = 1.0, fill: float = 0.0, generator=None):
        super().__init__(generator)
        if int(size) != size or size < 1:
            raise ValueError(f"cutout size must be a positive integer, got {size}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"cutout probability must be in [0, 1], got {p}")
        self.size, self.p, self.fill = int(size), float(p), float(fill)

    def apply(self, x, rng):
        n, _, h, w = x.shape
        s = self.size
        if s > h or s > w:
            raise ValueError(f"cutout square {s} is larger than the image {h}x{w}")
        top = rng.integers(0, h - s + 1, size=n)[:, None]
        left = rng.integers(0, w - s + 1, size=n)[:, None]
        active = rng.random(n) < self.p
        rows = (np.arange(h)[None] >= top) & (np.arange(h)[None] < top + s)  # (N, H)
        cols = (np.arange(w)[None] >= left) & (np.arange(w)[None] < left + s)  # (N, W)
        mask = rows[:, :, None] & cols[:, None, :] & active[:, None, None]
        return np.where(mask[:, None], np.float32(self.fill), x)

    def _params(self):
        return f"size={self.size}, p={self.p}"


# ----------------------------------------------------------------------------- spec parser

#: name -> (class, defaults used by the parser; tuned for 28x28 and 32x32 images)
AUGMENTATIONS = {
    "flip": (RandomHorizontalFlip, {}),
    "crop": (RandomCrop, {"padding": 2}),
    "resized_crop": (RandomResizedCrop, {"scale": (0.6, 1.0)}),
    "jitter": (ColorJitter, {"brightness": 0.3, "contrast": 0.3, "saturation": 0.3}),
    "lighting": (PCALighting, {"std": 0.1}),
    "rotate": (RandomRotation, {"degrees": 10.0, "interpolation": "bilinear"}),
    "stretch": (RandomAffine, {"degrees": 0.0, "stretch": 0.1, "interpolation": "bilinear"}),
    "cutout": (Cutout, {"size": 8}),
    "mixup": (Mixup, {"alpha": 0.2}),
}


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_augment(spec: str | None, num_classes: int | None = None) -> Compose:
    """Build a :class:`Compose` from ``"name[:key=value...],..."``, e.g. ``"flip,crop:padding=4,mixup:alpha=0.4"``.

    Names: see :data:`AUGMENTATIONS`. An empty spec or "none" gives an empty Compose.
    ``num_classes`` is handed to mixup. Unknown names or parameters are rejected with the valid ones.
    """
    if spec is None or spec.strip().lower() in ("", "none"):
        return Compose([])
    transforms = []
    for item in spec.split(","):
        name, *options = [part.strip() for part in item.strip().split(":")]
        if name not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {name!r}; valid: {', '.join(AUGMENTATIONS)}")
        cls, defaults = AUGMENTATIONS[name]
        kwargs = dict(defaults)
        if cls is Mixup:
            kwargs["num_classes"] = num_classes
        valid = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "generator")]
        for option in options:
            key, sep, value = option.partition("=")
            key = key.strip()
            if not sep or key not in valid:
                raise ValueError(
                    f"bad option {option!r} for augmentation {name!r}; valid: {', '.join(k + '=...' for k in valid)}"
                )
            kwargs[key] = _value(value.strip())
        try:
            transforms.append(cls(**kwargs))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"augmentation {item.strip()!r}: {exc}") from None
    return Compose(transforms)
