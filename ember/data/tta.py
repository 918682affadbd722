"""Test-time augmentation: average the predicted class probabilities over several views of each image.

Views per mode:

* ``"none"`` — the image itself;
* ``"flip"`` — the image and its horizontal mirror (2 views);
* ``"five_crop"`` — four corner crops and the centre crop (5 views);
* ``"ten_crop"`` — the five crops and their mirrors (10 views).

Crops are ``crop_size`` windows. For a network with a fixed input size (``crop_size`` equal to
the image size, the default) the image is first zero-padded by ``padding`` pixels on each side
— the same geometry as training with ``RandomCrop(padding=...)`` — so the corner crops are
shifted copies; for a network that accepts smaller inputs, pass ``crop_size < H`` and
``padding=0``. The result is ``mean_v softmax(f(view_v))``, shape (N, classes).
"""
from __future__ import annotations

import numpy as np

from ember.data.dataset import to_float
from ember.tensor import Tensor, no_grad

MODES = ("none", "flip", "five_crop", "ten_crop")


def _crops(x: np.ndarray, crop: tuple[int, int], padding: int) -> list[np.ndarray]:
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    h, w = x.shape[2:]
    ch, cw = crop
    if ch > h or cw > w:
        raise ValueError(f"crop {ch}x{cw} is larger than the (padded) image {h}x{w}")
    top, left = (h - ch) // 2, (w - cw) // 2
    corners = [(0, 0), (0, w - cw), (h - ch, 0), (h - ch, w - cw), (top, left)]
    return [x[:, :, r:r + ch, c:c + cw] for r, c in corners]


def tta_views(images, mode: str = "flip", crop_size=None, padding: int = 2) -> list[np.ndarray]:
    """The list of augmented views of an NCHW batch that :func:`tta_predict` averages over."""
    if mode not in MODES:
        raise ValueError(f"unknown TTA mode {mode!r}; valid: {', '.join(MODES)}")
    x = to_float(images)
    if x.ndim != 4:
        raise ValueError(f"tta expects an NCHW batch, got shape {x.shape}")
    if mode == "none":
        return [x]
    if mode == "flip":
        return [x, x[..., ::-1]]
    h, w = x.shape[2:]
    crop = (h, w) if crop_size is None else ((crop_size, crop_size) if np.ndim(crop_size) == 0 else tuple(crop_size))
    views = _crops(x, crop, padding)
    if mode == "ten_crop":
        views += [v[..., ::-1] for v in views]
    return views


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def tta_predict(predict_fn, images, mode: str = "flip", crop_size=None, padding: int = 2,
                outputs: str = "logits", batch_size: int | None = None) -> np.ndarray:
    """Class probabilities averaged over the views of ``mode``; returns float32 (N, classes).

    ``predict_fn`` maps an ember Tensor batch (N, C, h, w) to logits (``outputs="logits"``, the
    default: softmax is applied per view) or probabilities (``outputs="probs"``), as a Tensor or
    ndarray; it runs under ``ember.no_grad()``. ``batch_size`` splits large inputs.
    """
    if outputs not in ("logits", "probs"):
        raise ValueError(f"unknown outputs {outputs!r}; valid: logits, probs")
    x = to_float(images)
    n = x.shape[0]
    step = n if batch_size is None else int(batch_size)
    if step < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    chunks = []
    with no_grad():
        for start in range(0, n, step):
            total = None
            views = tta_views(x[start:start + step], mode, crop_size, padding)
            for view in views:
                out = predict_fn(Tensor._wrap(np.ascontiguousarray(view)))
                out = np.asarray(out.array if isinstance(out, Tensor) else out, dtype=np.float64)
                if out.ndim != 2 or out.shape[0] != view.shape[0]:
                    raise ValueError(f"predict_fn must return (N, classes), got shape {out.shape}")
                probs = _softmax(out) if outputs == "logits" else out
                total = probs if total is None else total + probs
            chunks.append(total / len(views))
    return np.concatenate(chunks).astype(np.float32)
