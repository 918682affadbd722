"""Fixtures for the training tests: tiny Fashion-MNIST-format IDX files and tiny models/loss functions."""
from __future__ import annotations

import numpy as np
import pytest

from ember.data import write_idx

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def synthetic_images(n: int, seed: int, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (n, size, size) images in ten classes: class k has a bright 6x6 square at its own place on a
    noisy background, so a small model learns it within a few dozen steps."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    rng.shuffle(y)
    x = rng.integers(0, 70, size=(n, size, size)).astype(np.uint8)
    for k in range(10):
        r, c = 3 + 8 * (k // 4), 2 + 6 * (k % 4)
        x[y == k, r:r + 6, c:c + 6] = rng.integers(180, 256, size=(int((y == k).sum()), 6, 6)).astype(np.uint8)
    return x, y.astype(np.uint8)


def write_tiny_fashion(root, n_train: int = 400, n_test: int = 100) -> str:
    """The four Fashion-MNIST IDX files (gzipped, official names) with synthetic images in ``root``."""
    for split, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        x, y = synthetic_images(n, seed)
        write_idx(root / FILES[split][0], x)
        write_idx(root / FILES[split][1], y)
    return str(root)


@pytest.fixture
def tiny_fashion(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-fashion")
    return write_tiny_fashion(root)
