"""MNIST / Fashion-MNIST: loading, the search order, downloads with checksums, and the not-found message."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil

import numpy as np
import pytest

import ember.data as data
from ember.data import DataError, DatasetNotFoundError, FashionMNIST, MNIST, download, sources

from .conftest import make_mnist_dir


def test_loads_directory_of_idx_files(tmp_path):
    written = make_mnist_dir(tmp_path / "fm", n_train=30, n_test=20)
    train = FashionMNIST(root=tmp_path / "fm", split="train", download=False)
    test = FashionMNIST(root=tmp_path / "fm", split="test", download=False)
    assert len(train) == 30 and len(test) == 20
    assert train.data.shape == (30, 1, 28, 28) and train.data.dtype == np.uint8
    np.testing.assert_array_equal(train.data[:, 0], written["train"][0])
    np.testing.assert_array_equal(test.targets, written["test"][1])
    assert train.targets.dtype == np.int64
    image, label = train[3]
    assert image.shape == (1, 28, 28) and image.dtype == np.float32
    np.testing.assert_allclose(image[0], written["train"][0][3] / 255.0, rtol=1e-6)
    assert label == 3
    assert train.classes[0] == "T-shirt/top" and len(train.classes) == 10 and data.classes == train.classes


def test_uncompressed_files_and_root_subdir(tmp_path):
    make_mnist_dir(tmp_path / "mnist", gz=False)
    ds = MNIST(root=tmp_path, split="test", download=False)  # found in root/mnist
    assert len(ds) == 20 and ds.classes == [str(i) for i in range(10)]


def test_unknown_split_lists_valid(tmp_path):
    with pytest.raises(ValueError, match="unknown split 'val'.*valid: train, test"):
        FashionMNIST(root=tmp_path, split="val", download=False)


def test_per_sample_transform_applied(tmp_path):
    make_mnist_dir(tmp_path / "fm")
    ds = FashionMNIST(root=tmp_path / "fm", transform=lambda im: im * 0 + 0.5, download=False)
    assert np.all(ds[0][0] == 0.5)


def test_search_order_root_then_cache_then_system(tmp_path, monkeypatch):
    make_mnist_dir(tmp_path / "root", n_train=11)
    make_mnist_dir(tmp_path / "cache" / "fashion-mnist", n_train=12)
    make_mnist_dir(tmp_path / "system", n_train=13)
    src = dataclasses.replace(sources.SOURCES["fashion-mnist"], system_dirs=(str(tmp_path / "system"),))
    monkeypatch.setitem(sources.SOURCES, "fashion-mnist", src)
    assert len(FashionMNIST(root=tmp_path / "root", download=False)) == 11
    assert len(FashionMNIST(download=False)) == 12  # EMBER_DATA points at tmp_path/cache
    assert data.available_datasets()["fashion-mnist"] == tmp_path / "cache" / "fashion-mnist"
    shutil.rmtree(tmp_path / "cache")
    assert len(FashionMNIST(download=False)) == 13
    assert data.available_datasets()["fashion-mnist"] == tmp_path / "system"
    # a root without the files falls through to the other places
    assert len(FashionMNIST(root=tmp_path / "empty", download=False)) == 13


def test_default_cache_dir_follows_home(tmp_path, monkeypatch):
    monkeypatch.delenv("EMBER_DATA")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data.cache_dir("fashion-mnist") == tmp_path / ".cache" / "ember" / "fashion-mnist"
    monkeypatch.setenv("EMBER_DATA", str(tmp_path / "elsewhere"))
    assert data.cache_dir("mnist") == tmp_path / "elsewhere" / "mnist"


def test_not_found_lists_every_place_and_how_to_get(tmp_path, monkeypatch):
    src = dataclasses.replace(sources.SOURCES["fashion-mnist"], system_dirs=("/nonexistent/fashion-mnist",))
    monkeypatch.setitem(sources.SOURCES, "fashion-mnist", src)
    with pytest.raises(DatasetNotFoundError) as info:
        FashionMNIST(root=tmp_path / "mine", split="train", download=True, progress=False)
    msg = str(info.value)
    for place in (str(tmp_path / "mine"), str(tmp_path / "cache" / "fashion-mnist"), "/nonexistent/fashion-mnist",
                  "fashion-mnist.s3-website", "network disabled", "apt-get install dataset-fashion-mnist",
                  "directory"):
        assert place in msg, place
    assert isinstance(info.value, FileNotFoundError)
    assert not (tmp_path / "mine").exists() or not any((tmp_path / "mine").iterdir())  # nothing half-written


def test_not_found_without_download_says_so(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="download=False"):
        MNIST(split="test", download=False)


def test_available_datasets_lists_all_known(tmp_path):
    result = data.available_datasets()
    assert set(result) == {"fashion-mnist", "mnist", "cifar10"} and all(v is None for v in result.values())
    make_mnist_dir(tmp_path / "cache" / "mnist")
    assert data.available_datasets()["mnist"] == tmp_path / "cache" / "mnist"


def _mirror(tmp_path, files: dict[str, bytes]):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name, payload in files.items():
        (mirror / name).write_bytes(payload)
    return mirror.as_uri() + "/"


def _with_mirrors(monkeypatch, name, mirrors, sha):
    src = dataclasses.replace(sources.SOURCES[name], mirrors=tuple(mirrors), sha256=sha)
    monkeypatch.setitem(sources.SOURCES, name, src)


def test_download_from_mirror_verifies_and_caches(tmp_path, monkeypatch):
    make_mnist_dir(tmp_path / "src")
    payloads = {p.name: p.read_bytes() for p in (tmp_path / "src").iterdir()}
    sha = {n: hashlib.sha256(b).hexdigest() for n, b in payloads.items()}
    # the first mirror is offline; the second (a local file:// one) serves the files
    _with_mirrors(monkeypatch, "fashion-mnist", ["https://offline.invalid/", _mirror(tmp_path, payloads)], sha)
    ds = FashionMNIST(split="test", download=True, progress=False)
    assert len(ds) == 20
    cached = tmp_path / "cache" / "fashion-mnist"
    assert sorted(p.name for p in cached.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert ds.root == cached


def test_download_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    make_mnist_dir(tmp_path / "src")
    payloads = {p.name: p.read_bytes() for p in (tmp_path / "src").iterdir()}
    sha = {n: hashlib.sha256(b).hexdigest() for n, b in payloads.items()}
    sha["t10k-images-idx3-ubyte.gz"] = "0" * 64
    _with_mirrors(monkeypatch, "fashion-mnist", [_mirror(tmp_path, payloads)], sha)
    with pytest.raises(DatasetNotFoundError, match=r"checksum mismatch .*t10k-images.*expected SHA-256 0000"):
        FashionMNIST(split="test", download=True, progress=False)
    cached = tmp_path / "cache" / "fashion-mnist"
    assert not (cached / "t10k-images-idx3-ubyte.gz").exists()
    assert not any(p.name.endswith(".part") for p in cached.iterdir())


def test_download_url_with_progress_bar(tmp_path, capsys):
    src = tmp_path / "blob.bin"
    src.write_bytes(os.urandom(200_000))
    dest = download.download_url(src.as_uri(), tmp_path / "out" / "blob.bin",
                                 hashlib.sha256(src.read_bytes()).hexdigest(), progress=True)
    assert dest.read_bytes() == src.read_bytes()
    with pytest.raises(DataError, match="checksum mismatch"):
        download.download_url(src.as_uri(), tmp_path / "out" / "again.bin", "f" * 64, progress=False)
    assert not (tmp_path / "out" / "again.bin").exists()


def test_download_uses_monkeypatched_fetch(tmp_path, monkeypatch):
    """The whole download path with a fake network: open_url is the only seam."""
    import io

    make_mnist_dir(tmp_path / "src")
    payloads = {p.name: p.read_bytes() for p in (tmp_path / "src").iterdir()}
    sha = {n: hashlib.sha256(b).hexdigest() for n, b in payloads.items()}
    seen = []

    class Response(io.BytesIO):
        headers = {}

    def fake_open(url):
        seen.append(url)
        return Response(payloads[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(download, "open_url", fake_open)
    _with_mirrors(monkeypatch, "mnist", ["https://example.org/mnist/"], sha)
    ds = MNIST(split="train", progress=False)
    assert len(ds) == 30 and seen == ["https://example.org/mnist/train-images-idx3-ubyte.gz",
                                      "https://example.org/mnist/train-labels-idx1-ubyte.gz"]


def test_corrupt_file_in_root_is_a_clear_error(tmp_path):
    make_mnist_dir(tmp_path / "fm")
    bad = tmp_path / "fm" / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:20])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz"):
        FashionMNIST(root=tmp_path / "fm", download=False)


def test_official_checksums_are_pinned():
    src = sources.get_source("fashion-mnist")
    assert set(src.sha256) == set(src.all_files())
    assert all(len(h) == 64 for h in src.sha256.values())


# ----------------------------------------------------------------------------- the real data (skips when absent)


def test_real_fashion_mnist_from_system(system_fashion):
    train = FashionMNIST(split="train", download=False)
    test = FashionMNIST(split="test", download=False)
    assert train.data.shape == (60000, 1, 28, 28) and test.data.shape == (10000, 1, 28, 28)
    np.testing.assert_array_equal(train.class_counts(), [6000] * 10)
    np.testing.assert_array_equal(test.class_counts(), [1000] * 10)
    assert train.targets.min() == 0 and train.targets.max() == 9
    assert data.available_datasets()["fashion-mnist"] == system_fashion


def test_real_fashion_mnist_from_a_directory(system_fashion, tmp_path):
    for f in system_fashion.iterdir():
        (tmp_path / f.name).symlink_to(f)
    test = FashionMNIST(root=tmp_path, split="test", download=False)
    assert len(test) == 10000
    np.testing.assert_array_equal(test.class_counts(), [1000] * 10)
    x = data.DataLoader(test, batch_size=10000).__iter__().__next__()[0]
    assert x.shape == (10000, 1, 28, 28) and x.dtype == np.float32 and 0 <= x.array.min() and x.array.max() <= 1


# ------------------------------------------------------------------ torchvision's constructor forms


def test_train_flag_is_an_alias_of_split(tmp_path):
    written = make_mnist_dir(tmp_path / "fm", n_train=12, n_test=7)
    assert len(FashionMNIST(root=tmp_path / "fm", train=True, download=False)) == 12
    test = FashionMNIST(root=tmp_path / "fm", train=False, download=False)
    assert len(test) == 7 and test.split == "test" and test.train is False
    assert len(FashionMNIST(tmp_path / "fm", False, download=False)) == 7  # torchvision's positional train
    assert len(FashionMNIST(root=tmp_path / "fm", split="test", train=False, download=False)) == 7
    np.testing.assert_array_equal(test.targets, written["test"][1])
    with pytest.raises(ValueError, match="split='test' and train=True disagree"):
        FashionMNIST(root=tmp_path / "fm", split="test", train=True, download=False)
    with pytest.raises(TypeError, match="train must be True or False"):
        FashionMNIST(root=tmp_path / "fm", train="yes", download=False)


def test_target_transform_applies_to_labels_and_loader_honours_it(tmp_path):
    from ember.data import DataLoader

    written = make_mnist_dir(tmp_path / "fm", n_train=10)
    ds = MNIST(root=tmp_path / "fm", train=True, download=False, target_transform=lambda y: y + 100)
    assert ds[3][1] == int(written["train"][1][3]) + 100
    x, y = next(iter(DataLoader(ds, batch_size=10)))
    np.testing.assert_array_equal(y.array, written["train"][1].astype(np.int64) + 100)
    assert x.shape == (10, 1, 28, 28)
    with pytest.raises(TypeError, match="target_transform must be callable"):
        MNIST(root=tmp_path / "fm", download=False, target_transform="onehot")


def test_torchvision_raw_layout_under_root(tmp_path):
    make_mnist_dir(tmp_path / "data" / "FashionMNIST" / "raw", n_train=9, gz=False)
    ds = FashionMNIST(root=tmp_path / "data", train=True, download=False)
    assert len(ds) == 9 and ds.root == tmp_path / "data" / "FashionMNIST" / "raw"
