"""Training-time data augmentation on whole NCHW batches, vectorised over the batch.

Every transform takes a float batch (N, C, H, W) — or one image (C, H, W) — as an ndarray or an
ember Tensor and returns the same kind. Randomness comes from, in order: the ``rng`` argument
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
from ember.data.dataset import to_float
from ember.data.mixup import Mixup
from ember.tensor import Tensor


class Transform:
    """Base class: handles Tensor/ndarray, single images and the rng; subclasses implement ``apply``."""

    def __init__(self, generator: np.random.Generator | None = None):
        self.generator = generator

    def apply(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x, rng: np.random.Generator | None = None):
        is_tensor = isinstance(x, Tensor)
        a = to_float(x)
        single = a.ndim == 3
        if single:
            a = a[None]
        if a.ndim != 4:
            raise ValueError(f"{type(self).__name__} expects an NCHW batch or a CHW image, got shape {a.shape}")
        out = self.apply(a, rng if rng is not None else (self.generator or erandom.generator()))
        out = out.astype(np.float32, copy=False)
        if single:
            out = out[0]
        return Tensor._wrap(out) if is_tensor else out

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


_PAD_MODES = ("constant", "reflect", "edge")


def _size2(size, name: str) -> tuple[int, int] | None:
    if size is None:
        return None
    h, w = (size, size) if np.ndim(size) == 0 else tuple(size)
    if int(h) != h or int(w) != w or h < 1 or w < 1:
        raise ValueError(f"{name} must be a positive int or (H, W), got {size!r}")
    return int(h), int(w)


class RandomCrop(Transform):
    """Pad by ``padding`` pixels on each side, then cut a random ``size`` window per image.

    ``size`` defaults to the input size (the usual "pad 4 and crop back to 32" of CIFAR
    training); ``padding_mode``: constant (``fill``), reflect or edge.
    """

    def __init__(self, size=None, padding: int = 4, fill: float = 0.0, padding_mode: str = "constant",
                 generator=None):
        super().__init__(generator)
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"unknown padding_mode {padding_mode!r}; valid: {', '.join(_PAD_MODES)}")
        if int(padding) != padding or padding < 0:
            raise ValueError(f"padding must be an integer >= 0, got {padding}")
        self.size = _size2(size, "crop size")
        self.padding = int(padding)
        self.fill = float(fill)
        self.padding_mode = padding_mode

    def apply(self, x, rng):
        n, _, h, w = x.shape
        ch, cw = self.size or (h, w)
        p = self.padding
        if p and self.padding_mode == "constant":  # np.pad's generic machinery costs more than the copy
            padded = np.full(x.shape[:2] + (h + 2 * p, w + 2 * p), self.fill, dtype=x.dtype)
            padded[:, :, p:p + h, p:p + w] = x
            x = padded
        elif p:
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode=self.padding_mode)
        hp, wp = x.shape[2], x.shape[3]
        if ch > hp or cw > wp:
            raise ValueError(f"crop {ch}x{cw} is larger than the padded image {hp}x{wp}")
        oy = rng.integers(0, hp - ch + 1, size=n)
        ox = rng.integers(0, wp - cw + 1, size=n)
        windows = sliding_window_view(x, (ch, cw), axis=(2, 3))  # (N, C, hp-ch+1, wp-cw+1, ch, cw), no copy
        return windows[np.arange(n), :, oy, ox]  # advanced indices around a slice -> (N, C, ch, cw)

    def _params(self):
        return f"size={self.size}, padding={self.padding}, padding_mode={self.padding_mode!r}"


def _bilinear(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, fill: float | None) -> np.ndarray:
    """Sample ``x`` (N, C, H, W) at fractional source positions ``rows, cols`` (N, Ho, Wo), bilinearly.

    Positions outside the image take ``fill``, or the nearest edge pixel when ``fill`` is None.
    """
    n, c, h, w = x.shape
    r0 = np.floor(rows)
    c0 = np.floor(cols)
    wr = (rows - r0)[..., None]
    wc = (cols - c0)[..., None]
    r0 = r0.astype(np.int64)
    c0 = c0.astype(np.int64)
    batch = np.arange(n)[:, None, None]
    xt = x.transpose(0, 2, 3, 1)  # NHWC so a gather gives (N, Ho, Wo, C)
    out = np.zeros(rows.shape + (c,), dtype=np.float32)
    for dr, dc, weight in ((0, 0, (1 - wr) * (1 - wc)), (0, 1, (1 - wr) * wc), (1, 0, wr * (1 - wc)), (1, 1, wr * wc)):
        ri, ci = r0 + dr, c0 + dc
        values = xt[batch, np.clip(ri, 0, h - 1), np.clip(ci, 0, w - 1)]
        if fill is not None:
            inside = (ri >= 0) & (ri < h) & (ci >= 0) & (ci < w)
            values = np.where(inside[..., None], values, np.float32(fill))
        out += weight * values
    return out.transpose(0, 3, 1, 2)


class RandomResizedCrop(Transform):
    """Crop a random box (area fraction in ``scale``, aspect ratio in ``ratio``) and resize it to ``size``.

    The aspect ratio is drawn log-uniformly; a box that would not fit is clipped to the image.
    ``size`` defaults to the input size, so this is "random scale" augmentation as well.
    """

    def __init__(self, size=None, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), generator=None):
        super().__init__(generator)
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
        return _bilinear(x, rows, cols, fill=None)

    def _params(self):
        return f"size={self.size}, scale={self.scale}, ratio={self.ratio}"


class RandomAffine(Transform):
    """Rotate by a random angle in ``[-degrees, degrees]`` and stretch each axis by a factor in
    ``[1 - stretch, 1 + stretch]``, about the image centre; uncovered pixels take ``fill``.

    Positive angles turn the picture counter-clockwise (as ``np.rot90``). Output pixel ``p``
    (centred coordinates) reads the source at ``S^-1 R(theta) p``, bilinearly.
    """

    def __init__(self, degrees: float = 10.0, stretch: float = 0.0, fill: float = 0.0, generator=None):
        super().__init__(generator)
        if degrees < 0 or not 0 <= stretch < 1:
            raise ValueError(f"need degrees >= 0 and 0 <= stretch < 1, got degrees={degrees}, stretch={stretch}")
        self.degrees = float(degrees)
        self.stretch = float(stretch)
        self.fill = float(fill)

    def apply(self, x, rng):
        n, _, h, w = x.shape
        theta = np.deg2rad(rng.uniform(-self.degrees, self.degrees, size=n))
        sy = rng.uniform(1 - self.stretch, 1 + self.stretch, size=n)
        sx = rng.uniform(1 - self.stretch, 1 + self.stretch, size=n)
        u = (np.arange(h) - (h - 1) / 2)[None, :, None]  # centred row coordinate of each output pixel
        v = (np.arange(w) - (w - 1) / 2)[None, None, :]
        cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
        rows = (cos * u + sin * v) / sy[:, None, None] + (h - 1) / 2
        cols = (-sin * u + cos * v) / sx[:, None, None] + (w - 1) / 2
        return _bilinear(x, rows, cols, fill=self.fill)

    def _params(self):
        return f"degrees={self.degrees}, stretch={self.stretch}, fill={self.fill}"


class RandomRotation(RandomAffine):
    """Rotate each image by a random angle in ``[-degrees, degrees]`` (small rotations: ~10 degrees)."""

    def __init__(self, degrees: float = 10.0, fill: float = 0.0, generator=None):
        super().__init__(degrees=degrees, stretch=0.0, fill=fill, generator=generator)

    def _params(self):
        return f"degrees={self.degrees}, fill={self.fill}"


# ----------------------------------------------------------------------------- photometric

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 grey from RGB


def _grey(x: np.ndarray) -> np.ndarray:
    """(N, 1, H, W) luminance: the image itself for one channel, 0.299 R + 0.587 G + 0.114 B for RGB."""
    if x.shape[1] == 3:
        return np.einsum("nchw,c->nhw", x, _LUMA)[:, None]
    return x.mean(axis=1, keepdims=True)


class ColorJitter(Transform):
    """Random brightness, contrast and saturation, each factor ``f ~ U[max(0, 1 - s), 1 + s]`` per image.

    brightness: ``x * f``; contrast: ``(x - m) * f + m`` with ``m`` the image's mean grey level;
    saturation (RGB only; grey images have none, so it is skipped for them):
    ``(x - g) * f + g`` with ``g`` the pixel's grey value. Results are clipped to [0, 1].
    """

    def __init__(self, brightness: float = 0.0, contrast: float = 0.0, saturation: float = 0.0, generator=None):
        super().__init__(generator)
        for name, v in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
            if v < 0:
                raise ValueError(f"{name} must be >= 0, got {v}")
        self.brightness, self.contrast, self.saturation = float(brightness), float(contrast), float(saturation)

    @staticmethod
    def _factors(strength: float, n: int, rng) -> np.ndarray:
        return rng.uniform(max(0.0, 1 - strength), 1 + strength, size=n).astype(np.float32)[:, None, None, None]

    def apply(self, x, rng):
        n = x.shape[0]
        out = x
        if self.brightness:
            out = out * self._factors(self.brightness, n, rng)
        if self.contrast:
            mean = _grey(out).mean(axis=(1, 2, 3), keepdims=True)
            out = (out - mean) * self._factors(self.contrast, n, rng) + mean
        if self.saturation and x.shape[1] == 3:
            grey = _grey(out)
            out = (out - grey) * self._factors(self.saturation, n, rng) + grey
        return np.clip(out, 0.0, 1.0)

    def _params(self):
        return f"brightness={self.brightness}, contrast={self.contrast}, saturation={self.saturation}"


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
    "rotate": (RandomRotation, {"degrees": 10.0}),
    "stretch": (RandomAffine, {"degrees": 0.0, "stretch": 0.1}),
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
