"""Fixtures for ember.data tests: no network, no user cache, no system dataset unless a test asks for it."""
from __future__ import annotations

import dataclasses
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from ember.data import download, sources
from ember.data.idx import write_idx

SYSTEM_FASHION = Path("/usr/share/datasets/fashion-mnist")


def _offline_open_url(url: str):
    if url.startswith("file://"):
        return urllib.request.urlopen(url)  # noqa: S310 - local files only
    raise urllib.error.URLError(f"network disabled in tests ({url})")


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """Point the cache at a temp dir, hide system dirs, and refuse every non-file:// URL."""
    monkeypatch.setenv("EMBER_DATA", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "open_url", _offline_open_url)
    hidden = {name: dataclasses.replace(src, system_dirs=()) for name, src in sources.SOURCES.items()}
    monkeypatch.setattr(sources, "SOURCES", hidden)
    return tmp_path


@pytest.fixture
def system_fashion(monkeypatch):
    """Restore the real system directory for Fashion-MNIST; skip when the Debian package is absent."""
    if not (SYSTEM_FASHION / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist")
    src = dataclasses.replace(sources.SOURCES["fashion-mnist"], system_dirs=(str(SYSTEM_FASHION),))
    monkeypatch.setitem(sources.SOURCES, "fashion-mnist", src)
    return SYSTEM_FASHION


def make_mnist_dir(directory: Path, n_train: int = 30, n_test: int = 20, gz: bool = True, seed: int = 0):
    """Write a tiny MNIST-layout dataset; returns {split: (images uint8 (N,28,28), labels uint8 (N,))}."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    out = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", x)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", y)
        out[split] = (x, y)
    return out
