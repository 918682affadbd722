"""Small image sets for the experiments: synthetic shapes and patterns (always available) and a Fashion-MNIST subset.

:func:`shapes` draws grey images of four shapes — a horizontal bar, a vertical bar, a plus and a
hollow square — at a random position and size, with random brightness and pixel noise. Every class
looks the same mirrored left-right and shifted a little, so horizontal flips and random crops are
label-preserving augmentations, exactly as for photographs. With a handful of images per class an
MLP memorises the training set (each shape at a few positions) and fails at new positions: a
small-scale version of the overfitting the notes describe.

:func:`patterns` draws each class as one fixed smooth grey pattern (a blurred random field, made
left-right symmetric), shifted by up to two pixels, dimmed at random and buried in strong pixel
noise. The classes sit at fixed places, like Fashion-MNIST's centred garments, so an MLP can learn
them; with a few hundred images it also memorises the noise of each one — the overfitting that
L2, dropout and augmentation are meant to reduce.

:func:`fashion_subset` takes a class-balanced subset of the Fashion-MNIST training split when its
files are on this machine (it never downloads); experiments fall back to :func:`shapes` otherwise.
"""
from __future__ import annotations

import numpy as np

SHAPE_CLASSES = ("horizontal bar", "vertical bar", "plus", "hollow square")


def _draw(kind: int, size: int, rng: np.random.Generator) -> np.ndarray:
    img = np.zeros((size, size), dtype=np.float32)
    half = int(rng.integers(size // 5, size // 3 + 1))  # half-length of the shape
    thick = int(rng.integers(1, 3))
    margin = half + thick
    cy, cx = rng.integers(margin, size - margin, size=2)
    if kind in (0, 2):  # horizontal stroke
        img[cy - thick // 2: cy + (thick + 1) // 2, cx - half: cx + half + 1] = 1
    if kind in (1, 2):  # vertical stroke
        img[cy - half: cy + half + 1, cx - thick // 2: cx + (thick + 1) // 2] = 1
    if kind == 3:  # hollow square
        img[cy - half: cy + half + 1, cx - half: cx + half + 1] = 1
        img[cy - half + thick: cy + half + 1 - thick, cx - half + thick: cx + half + 1 - thick] = 0
    return img * rng.uniform(0.6, 1.0)


def shapes(n_per_class: int, size: int = 16, noise: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_per_class`` images of each of the four shapes: float32 (N, 1, size, size) and int64 labels, shuffled."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(SHAPE_CLASSES)), n_per_class)
    images = np.stack([_draw(int(k), size, rng) for k in labels])[:, None]
    images = np.clip(images + noise * rng.standard_normal(images.shape), 0, 1).astype(np.float32)
    order = rng.permutation(len(labels))
    return images[order], labels[order].astype(np.int64)


def patterns(n_per_class: int, classes: int = 6, size: int = 16, noise: float = 0.8, shift: int = 2,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_per_class`` noisy, shifted copies of each class's pattern: float32 (N, 1, size, size), int64 labels."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    field = gaussian_filter(rng.standard_normal((classes, size, size)), sigma=(0, 2, 2))
    field = field + field[:, :, ::-1]  # left-right symmetric: a flip keeps the label
    lo, span = field.min(axis=(1, 2), keepdims=True), np.ptp(field, axis=(1, 2), keepdims=True)
    templates = (field - lo) / span
    labels = np.repeat(np.arange(classes), n_per_class)
    images = np.empty((len(labels), 1, size, size), dtype=np.float32)
    for i, k in enumerate(labels):
        dy, dx = rng.integers(-shift, shift + 1, size=2)
        images[i, 0] = np.roll(templates[k], (dy, dx), axis=(0, 1)) * rng.uniform(0.7, 1.0)
    images = np.clip(images + noise * rng.standard_normal(images.shape), 0, 1).astype(np.float32)
    order = rng.permutation(len(labels))
    return images[order], labels[order].astype(np.int64)


def fashion_subset(n_train: int, n_val: int, seed: int = 0):
    """A class-balanced (x_train, y_train, x_val, y_val) from Fashion-MNIST's training split, pixels in
    [0, 1]; None when the files are not on this machine."""
    from ember.data import FashionMNIST
    from ember.data.errors import DatasetNotFoundError

    try:
        data = FashionMNIST(split="train", download=False, progress=False)
    except (DatasetNotFoundError, OSError):
        return None
    x, y = data.data, np.asarray(data.targets)
    rng = np.random.default_rng(seed)
    per_class = (n_train + n_val) // 10
    picked = np.concatenate([rng.choice(np.flatnonzero(y == k), per_class, replace=False) for k in range(10)])
    picked = rng.permutation(picked)
    xs = (x[picked].astype(np.float32) / 255.0)
    ys = y[picked].astype(np.int64)
    return xs[:n_train], ys[:n_train], xs[n_train:], ys[n_train:]
