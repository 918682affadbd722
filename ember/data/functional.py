"""Array-level image operations behind the transforms, on float32 NCHW batches.

Kept apart from the transform classes so the maths can be checked on its own (against
``torch.nn.functional.interpolate`` for resizing, against hand-written formulas elsewhere) and
shared: RandomCrop, CenterCrop and Pad pad the same way; Resize and RandomResizedCrop resample
the same way. Nothing here draws random numbers or knows about PIL images or Tensors.
"""
from __future__ import annotations

from numbers import Real

import numpy as np

from ember.data.image import InterpolationMode

PAD_MODES = ("constant", "edge", "reflect", "symmetric")
GREY_WEIGHTS = np.array([0.2989, 0.587, 0.114], dtype=np.float32)  # torchvision's rgb_to_grayscale on tensors


def _is_number(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def size2(size, name: str = "size") -> tuple[int, int]:
    """An int or (H, W) (or a 1-sequence, torchvision's square) as a pair of positive ints."""
    if _is_number(size):
        size = (size, size)
    try:
        size = tuple(size)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence (H, W), got {type(size).__name__}") from None
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or not all(_is_number(s) and int(s) == s and s >= 1 for s in size):
        raise ValueError(f"{name} must be a positive int or (H, W), got {size!r}")
    return int(size[0]), int(size[1])


def padding_ltrb(padding) -> tuple[int, int, int, int]:
    """torchvision's padding forms: an int (all sides), (left/right, top/bottom) or (left, top, right, bottom)."""
    if _is_number(padding):
        padding = (padding,)
    try:
        p = tuple(padding)
    except TypeError:
        raise TypeError(f"padding must be an int or a sequence of 1, 2 or 4 ints, got {type(padding).__name__}") \
            from None
    if len(p) not in (1, 2, 4) or not all(_is_number(v) and int(v) == v and v >= 0 for v in p):
        raise ValueError(f"padding must be an int >= 0 or a sequence of 1, 2 or 4 such ints, got {padding!r}")
    p = tuple(int(v) for v in p)
    if len(p) == 1:
        return p * 4
    if len(p) == 2:
        return p[0], p[1], p[0], p[1]
    return p  # type: ignore[return-value]


def check_pad_mode(mode: str) -> str:
    if mode not in PAD_MODES:
        raise ValueError(f"unknown padding_mode {mode!r}; valid: {', '.join(PAD_MODES)}")
    return mode


def fill_value(fill, name: str = "fill") -> np.ndarray:
    """A number or one value per channel, as float32 (0-d or (C,))."""
    a = np.asarray(fill, dtype=np.float32) if fill is not None else np.float32(0)
    if a.ndim > 1:
        raise ValueError(f"{name} must be a number or one number per channel, got {fill!r}")
    return a


def _channel_fill(fill: np.ndarray, channels: int) -> np.ndarray:
    if fill.ndim == 1 and fill.size not in (1, channels):
        raise ValueError(f"fill has {fill.size} values but the image has {channels} channels")
    return fill.reshape(-1, 1, 1) if fill.ndim == 1 else fill


def pad(x: np.ndarray, ltrb: tuple[int, int, int, int], fill=0.0, mode: str = "constant") -> np.ndarray:
    """Pad an (N, C, H, W) batch by (left, top, right, bottom); ``fill`` per channel for mode "constant"."""
    left, top, right, bottom = ltrb
    if not any(ltrb):
        return x
    n, c, h, w = x.shape
    if mode == "constant":  # np.pad's generic machinery costs more than one copy
        out = np.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
        out[...] = _channel_fill(fill_value(fill), c)
        out[:, :, top:top + h, left:left + w] = x
        return out
    if mode in ("reflect",) and (max(left, right) >= w or max(top, bottom) >= h):
        raise ValueError(f"reflect padding of {ltrb} needs an image larger than the padding, got {h}x{w}")
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode=mode)


def center_crop(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """torchvision's centre crop: the window's corner at ``round((H - h) / 2)``; zero-padded when larger."""
    th, tw = size
    h, w = x.shape[-2:]
    if th > h or tw > w:
        pl, pt = (tw - w) // 2 if tw > w else 0, (th - h) // 2 if th > h else 0
        pr, pb = (tw - w + 1) // 2 if tw > w else 0, (th - h + 1) // 2 if th > h else 0
        x = pad(x, (pl, pt, pr, pb))
        h, w = x.shape[-2:]
        if h == th and w == tw:
            return x
    top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
    return x[..., top:top + th, left:left + tw]


def resized_output_size(h: int, w: int, size, max_size: int | None = None) -> tuple[int, int]:
    """torchvision's Resize rule: an int matches the shorter side (the longer keeps the aspect ratio, floored)."""
    if _is_number(size) or len(size) == 1:
        requested = int(size if _is_number(size) else size[0])
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = requested, int(requested * long / short)
        if max_size is not None:
            if max_size <= requested:
                raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size for the "
                                 f"smaller edge size = {requested}")
            if new_long > max_size:
                new_short, new_long = int(max_size * new_short / new_long), max_size
        return (new_long, new_short) if w <= h else (new_short, new_long)
    if max_size is not None:
        raise ValueError("max_size is only supported when size is an int (the shorter side); got "
                         f"size={list(size)}")
    return int(size[0]), int(size[1])


def resize_weights(n_in: int, n_out: int, mode: InterpolationMode, antialias: bool) -> np.ndarray:
    """The (n_out, n_in) matrix that resamples one axis; separable, so a resize is two matrix products.

    Bilinear uses the triangle filter with PyTorch's half-pixel centres (``align_corners=False``):
    output pixel ``i`` is centred on ``(i + 0.5) * n_in / n_out`` in the input. With ``antialias``
    and shrinking, the triangle is widened by the scale (as Pillow and
    ``interpolate(..., antialias=True)`` do) so every input pixel contributes; without it, only
    the two nearest do. Nearest is PyTorch's ``floor(i * n_in / n_out)``.
    """
    scale = n_in / n_out
    weights = np.zeros((n_out, n_in), dtype=np.float64)
    out = np.arange(n_out)
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        offset = 0.5 if mode is InterpolationMode.NEAREST_EXACT else 0.0
        src = np.minimum(np.floor((out + offset) * scale).astype(np.int64), n_in - 1)
        weights[out, src] = 1.0
        return weights.astype(np.float32)
    if mode is not InterpolationMode.BILINEAR:
        raise ValueError(f"{mode.value} resizing of arrays and tensors is not implemented; valid: nearest, "
                         "nearest-exact, bilinear (PIL images take every mode)")
    support = scale if (antialias and scale > 1.0) else 1.0
    if support == 1.0:  # plain bilinear: clamp the source position, blend the two neighbours
        src = np.maximum((out + 0.5) * scale - 0.5, 0.0)
        i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        frac = src - i0
        np.add.at(weights, (out, i0), 1.0 - frac)
        np.add.at(weights, (out, i1), frac)
        return weights.astype(np.float32)
    centre = (out + 0.5) * scale
    j = np.arange(n_in)
    tri = np.clip(1.0 - np.abs((j[None, :] + 0.5 - centre[:, None]) / support), 0.0, None)
    lo = np.maximum((centre - support + 0.5).astype(np.int64), 0)  # PyTorch's/Pillow's window bounds
    hi = np.minimum((centre + support + 0.5).astype(np.int64), n_in)
    tri[(j[None, :] < lo[:, None]) | (j[None, :] >= hi[:, None])] = 0.0
    return (tri / tri.sum(axis=1, keepdims=True)).astype(np.float32)


def resize(x: np.ndarray, size: tuple[int, int], mode: InterpolationMode = InterpolationMode.BILINEAR,
           antialias: bool = True) -> np.ndarray:
    """Resize the last two axes of ``x`` to ``size`` (H, W)."""
    h, w = x.shape[-2:]
    oh, ow = size
    if (oh, ow) == (h, w):
        return x
    wh = resize_weights(h, oh, mode, antialias)
    ww = resize_weights(w, ow, mode, antialias)
    return np.matmul(wh, np.matmul(x, ww.T)).astype(np.float32, copy=False)


def rgb_to_grayscale(x: np.ndarray, num_output_channels: int = 1) -> np.ndarray:
    """Luma ``0.2989 R + 0.587 G + 0.114 B`` (torchvision's weights) repeated to 1 or 3 channels."""
    c = x.shape[-3]
    if c == 1:
        grey = x
    elif c == 3:
        grey = np.einsum("...chw,c->...hw", x, GREY_WEIGHTS)[..., None, :, :]
    else:
        raise ValueError(f"grayscale needs 1 or 3 channels, got {c}")
    reps = [1] * x.ndim
    reps[-3] = num_output_channels
    return np.tile(grey, reps).astype(np.float32, copy=False) if num_output_channels > 1 else grey.copy()


def rgb_to_hsv(x: np.ndarray) -> np.ndarray:
    """torchvision's RGB -> HSV on (..., 3, H, W), all three in [0, 1]."""
    r, g, b = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    maxc, minc = x.max(axis=-3), x.min(axis=-3)
    eqc = maxc == minc
    cr = maxc - minc
    ones = np.ones_like(maxc)
    s = cr / np.where(eqc, ones, maxc)
    cr_div = np.where(eqc, ones, cr)
    rc, gc, bc = (maxc - r) / cr_div, (maxc - g) / cr_div, (maxc - b) / cr_div
    hr = (maxc == r) * (bc - gc)
    hg = ((maxc == g) & (maxc != r)) * (2.0 + rc - bc)
    hb = ((maxc != g) & (maxc != r)) * (4.0 + gc - rc)
    h = np.mod((hr + hg + hb) / 6.0 + 1.0, 1.0)
    return np.stack((h, s, maxc), axis=-3)


def hsv_to_rgb(x: np.ndarray) -> np.ndarray:
    h, s, v = x[..., 0, :, :], x[..., 1, :, :], x[..., 2, :, :]
    i = np.floor(h * 6.0)
    f = h * 6.0 - i
    i = i.astype(np.int64) % 6
    p = np.clip(v * (1.0 - s), 0.0, 1.0)
    q = np.clip(v * (1.0 - s * f), 0.0, 1.0)
    t = np.clip(v * (1.0 - s * (1.0 - f)), 0.0, 1.0)
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = [np.choose(i, [c[k] for c in choices]) for k in range(3)]
    return np.stack(out, axis=-3).astype(np.float32, copy=False)


def adjust_hue(x: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Turn the hue of each image of an (N, 3, H, W) batch by ``factor`` (N,) of a full turn (in [-0.5, 0.5])."""
    hsv = rgb_to_hsv(x)
    hsv[:, 0] = np.mod(hsv[:, 0] + factor[:, None, None], 1.0)
    return hsv_to_rgb(hsv)


def gaussian_kernels(size: int, sigma: np.ndarray) -> np.ndarray:
    """One normalised 1-D Gaussian of ``size`` taps per sigma: (N, size), as torchvision builds them."""
    half = (size - 1) * 0.5
    t = np.linspace(-half, half, size)
    k = np.exp(-0.5 * (t[None, :] / sigma[:, None]) ** 2)
    return (k / k.sum(axis=1, keepdims=True)).astype(np.float32)


def blur(x: np.ndarray, kx: np.ndarray, ky: np.ndarray) -> np.ndarray:
    """Separable per-image blur of (N, C, H, W) with kernels (N, kw) along W and (N, kh) along H, reflect padding."""
    from numpy.lib.stride_tricks import sliding_window_view

    kh, kw = ky.shape[1], kx.shape[1]
    h, w = x.shape[-2:]
    if kh // 2 >= h or kw // 2 >= w:
        raise ValueError(f"blur kernel {kh}x{kw} needs an image of at least {kh // 2 + 1}x{kw // 2 + 1}, "
                         f"got {h}x{w}")
    xp = np.pad(x, ((0, 0), (0, 0), (0, 0), (kw // 2, kw // 2)), mode="reflect")
    x = np.einsum("nchwk,nk->nchw", sliding_window_view(xp, kw, axis=3), kx)
    xp = np.pad(x, ((0, 0), (0, 0), (kh // 2, kh // 2), (0, 0)), mode="reflect")
    return np.einsum("nchwk,nk->nchw", sliding_window_view(xp, kh, axis=2), ky).astype(np.float32, copy=False)


def sample(x: np.ndarray, rows: np.ndarray, cols: np.ndarray, fill, mode: InterpolationMode = InterpolationMode.BILINEAR
           ) -> np.ndarray:
    """Sample ``x`` (N, C, H, W) at fractional source positions ``rows, cols`` (N, Ho, Wo).

    Positions outside the image take ``fill`` (a number or one per channel), or the nearest
    edge pixel when ``fill`` is None. Nearest mode rounds the positions.
    """
    n, c, h, w = x.shape
    batch = np.arange(n)[:, None, None]
    xt = x.transpose(0, 2, 3, 1)  # NHWC so a gather gives (N, Ho, Wo, C)
    fill_c = None if fill is None else fill_value(fill)
    if fill_c is not None and fill_c.ndim == 1 and fill_c.size not in (1, c):
        raise ValueError(f"fill has {fill_c.size} values but the image has {c} channels")
    if mode in (InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT):
        taps = [(np.rint(rows).astype(np.int64), np.rint(cols).astype(np.int64), None)]
    elif mode is InterpolationMode.BILINEAR:
        r0, c0 = np.floor(rows), np.floor(cols)
        wr, wc = (rows - r0)[..., None], (cols - c0)[..., None]
        r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
        taps = [(r0, c0, (1 - wr) * (1 - wc)), (r0, c0 + 1, (1 - wr) * wc), (r0 + 1, c0, wr * (1 - wc)),
                (r0 + 1, c0 + 1, wr * wc)]
    else:
        raise ValueError(f"{mode.value} sampling is not implemented; valid: nearest, bilinear")
    out = np.zeros(rows.shape + (c,), dtype=np.float32)
    for ri, ci, weight in taps:
        values = xt[batch, np.clip(ri, 0, h - 1), np.clip(ci, 0, w - 1)]
        if fill_c is not None:
            inside = (ri >= 0) & (ri < h) & (ci >= 0) & (ci < w)
            values = np.where(inside[..., None], values, fill_c)
        out += values if weight is None else weight * values
    return out.transpose(0, 3, 1, 2)


def inverse_affine(angle: np.ndarray, translate: np.ndarray, scale: np.ndarray, shear: np.ndarray) -> np.ndarray:
    """torchvision's inverse affine matrices (N, 2, 3), mapping output to input positions about the centre.

    ``angle`` (N,) in degrees, clockwise as in torchvision's ``F.affine``; ``translate`` (N, 2)
    pixels (x, y); ``scale`` (N,); ``shear`` (N, 2) degrees (x, y).
    """
    rot = np.deg2rad(angle)
    sx, sy = np.deg2rad(shear[:, 0]), np.deg2rad(shear[:, 1])
    a = np.cos(rot - sy) / np.cos(sy)
    b = -np.cos(rot - sy) * np.tan(sx) / np.cos(sy) - np.sin(rot)
    c = np.sin(rot - sy) / np.cos(sy)
    d = -np.sin(rot - sy) * np.tan(sx) / np.cos(sy) + np.cos(rot)
    m = np.stack([np.stack([d, -b], -1), np.stack([-c, a], -1)], -2) / scale[:, None, None]  # (N, 2, 2)
    shift = -np.einsum("nij,nj->ni", m, translate)
    return np.concatenate([m, shift[:, :, None]], axis=2)


def affine(x: np.ndarray, matrix: np.ndarray, fill, mode: InterpolationMode, center=None) -> np.ndarray:
    """Warp each image by its inverse matrix (N, 2, 3) acting on (x, y) pixel coordinates about the centre.

    ``center`` (x, y) in pixels defaults to the image centre; uncovered pixels take ``fill``.
    """
    n, _, h, w = x.shape
    cx, cy = ((w - 1) * 0.5, (h - 1) * 0.5) if center is None else (center[0] - 0.5, center[1] - 0.5)
    u = (np.arange(w) - cx)[None, None, :]  # x offset of each output pixel from the centre
    v = (np.arange(h) - cy)[None, :, None]
    m = matrix[:, :, :, None, None]
    cols = m[:, 0, 0] * u + m[:, 0, 1] * v + m[:, 0, 2] + cx
    rows = m[:, 1, 0] * u + m[:, 1, 1] * v + m[:, 1, 2] + cy
    return sample(x, rows, cols, fill, mode)


def pair_range(value, name: str, centre: float = 0.0, bound: tuple[float, float] | None = None
               ) -> tuple[float, float]:
    """A number ``v`` as ``(centre - v, centre + v)`` (v >= 0), or a (min, max) pair as given, checked."""
    if _is_number(value):
        if value < 0:
            raise ValueError(f"if {name} is a single number, it must be non-negative, got {value}")
        lo, hi = centre - float(value), centre + float(value)
    else:
        try:
            lo, hi = (float(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number or a (min, max) pair, got {value!r}") from None
        if lo > hi:
            raise ValueError(f"{name} range must be (min, max) with min <= max, got {value!r}")
    if bound is not None and not (bound[0] <= lo and hi <= bound[1]):
        raise ValueError(f"{name} values should be between {bound}, got {value!r}")
    return lo, hi

