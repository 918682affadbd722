"""Small synthetic 2-D problems from the notes, each reproducible from a seed.

* :func:`make_xor` — the four corners of the unit square labelled ``x0 XOR x1``: no line
  separates the classes, so a linear classifier fails and an MLP with one hidden layer succeeds.
* :func:`make_moons` — two interleaving half circles.
* :func:`make_spirals` — ``k`` interleaved arms, the classic "needs depth and width" toy.
* :func:`make_blobs` — isotropic Gaussian clusters, linearly separable when far apart.

Each returns a :class:`~ember.data.TensorDataset` of float32 points (N, D) and int64 labels (N,).
"""
from __future__ import annotations

import numpy as np

from ember.data.dataset import TensorDataset


def _dataset(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, shuffle: bool) -> TensorDataset:
    if shuffle:
        order = rng.permutation(len(y))
        x, y = x[order], y[order]
    return TensorDataset(x.astype(np.float32), y.astype(np.int64))


def _check_n(n: int, minimum: int = 1) -> int:
    if int(n) != n or n < minimum:
        raise ValueError(f"n_samples must be an integer >= {minimum}, got {n}")
    return int(n)


def make_xor(n_samples: int = 200, noise: float = 0.1, seed: int = 0, shuffle: bool = True) -> TensorDataset:
    """Points around (0,0), (0,1), (1,0), (1,1) with Gaussian ``noise``; label = x0 XOR x1.

    ``make_xor(4, noise=0, shuffle=False)`` is exactly the truth table.
    """
    n = _check_n(n_samples)
    rng = np.random.default_rng(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    which = np.arange(n) % 4
    x = corners[which] + noise * rng.standard_normal((n, 2))
    y = (corners[which, 0] != corners[which, 1]).astype(np.int64)
    return _dataset(x, y, rng, shuffle)


def make_moons(n_samples: int = 200, noise: float = 0.1, seed: int = 0, shuffle: bool = True) -> TensorDataset:
    """Two half circles: class 0 ``(cos t, sin t)``, class 1 ``(1 - cos t, 0.5 - sin t)``, t in [0, pi]."""
    n = _check_n(n_samples, 2)
    rng = np.random.default_rng(seed)
    n0 = n // 2 + n % 2
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, n - n0)
    x = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1), np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    x += noise * rng.standard_normal(x.shape)
    y = np.repeat([0, 1], [n0, n - n0])
    return _dataset(x, y, rng, shuffle)


def make_spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.2, turns: float = 1.0,
                 seed: int = 0, shuffle: bool = True) -> TensorDataset:
    """``n_classes`` spiral arms: radius r in [0, 1], angle ``turns * 4 r + 2 pi k / n_classes`` plus noise."""
    n = _check_n(n_samples, n_classes)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % n_classes
    r = np.empty(n)
    for k in range(n_classes):  # per class, radii evenly spread from the centre outwards
        members = y == k
        r[members] = np.linspace(0.0, 1.0, int(members.sum()))
    theta = turns * 4.0 * r + 2 * np.pi * y / n_classes + noise * rng.standard_normal(n)
    x = np.stack([r * np.sin(theta), r * np.cos(theta)], 1)
    return _dataset(x, y, rng, shuffle)


def make_blobs(n_samples: int = 300, centers: int | np.ndarray = 3, n_features: int = 2, std: float = 1.0,
               box: tuple[float, float] = (-10.0, 10.0), seed: int = 0, shuffle: bool = True) -> TensorDataset:
    """Gaussian clusters: ``centers`` given as (K, D) coordinates, or K centres drawn uniformly in ``box``."""
    n = _check_n(n_samples)
    rng = np.random.default_rng(seed)
    if np.ndim(centers) == 0:
        centres = rng.uniform(box[0], box[1], size=(int(centers), n_features))
    else:
        centres = np.asarray(centers, dtype=np.float64)
        if centres.ndim != 2:
            raise ValueError(f"centers must be an int or a (K, D) array, got shape {centres.shape}")
    y = np.arange(n) % centres.shape[0]
    x = centres[y] + std * rng.standard_normal((n, centres.shape[1]))
    return _dataset(x, y, rng, shuffle)
