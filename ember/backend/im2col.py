"""Sliding-window geometry shared by convolution and pooling (NCHW): output sizes, padding, and
strided *views* of every window (no copy, no Python loop over pixels). The convolution kernels
themselves (im2col, GEMM, col2im) are in ember/backend/conv2d.py."""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def out_size(size: int, k: int, s: int, p: int, d: int = 1, ceil_mode: bool = False) -> int:
    """Output length of a sliding window (PyTorch's rule): ⌊(size + 2p − d(k−1) − 1)/s⌋ + 1, or with
    ``ceil_mode`` ⌈…⌉ + 1 less one if the last window would start past the input and its left padding.
    In ceil mode the last window may hang over the end (even past a too-small input); the overhang is
    padding that never wins a max and never counts in an average. A result ≤ 0 means no window fits."""
    num = size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    n = num // s + 1  # floor division, also for a negative numerator
    if ceil_mode and (n - 1) * s >= size + p:
        n -= 1
    return n


def pad2d(x: np.ndarray, ph: int, pw: int, value: float = 0.0, extra_h: int = 0, extra_w: int = 0) -> np.ndarray:
    """Pad H by (ph, ph + extra_h) and W by (pw, pw + extra_w); returns ``x`` itself when nothing to pad."""
    if ph == pw == extra_h == extra_w == 0:
        return x
    n, c, h, w = x.shape
    out = np.empty((n, c, h + 2 * ph + extra_h, w + 2 * pw + extra_w), dtype=x.dtype)
    if value == 0:
        out.fill(0)
    else:
        out.fill(value)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def windows(xp: np.ndarray, kh: int, kw: int, sh: int, sw: int, dh: int, dw: int, ho: int, wo: int) -> np.ndarray:
    """A read-only view of shape (N, C, Ho, Wo, kh, kw) over a padded NCHW array."""
    n, c = xp.shape[:2]
    s0, s1, s2, s3 = xp.strides
    return as_strided(xp, (n, c, ho, wo, kh, kw), (s0, s1, s2 * sh, s3 * sw, s2 * dh, s3 * dw), writeable=False)


def tap_slice(i: int, j: int, sh: int, sw: int, dh: int, dw: int, ho: int, wo: int) -> tuple:
    """Where kernel tap (i, j) reads in the padded input, for all output positions."""
    return (
        slice(None),
        slice(None),
        slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
        slice(j * dw, j * dw + sw * (wo - 1) + 1, sw),
    )


def unpad2d(xp: np.ndarray, ph: int, pw: int, h: int, w: int) -> np.ndarray:
    if ph == pw == 0 and xp.shape[2:] == (h, w):
        return xp
    return xp[:, :, ph:ph + h, pw:pw + w]
