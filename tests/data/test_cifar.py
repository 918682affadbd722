"""CIFAR-10 batches: parsed by the restricted unpickler, which refuses anything but NumPy payloads."""
from __future__ import annotations

import hashlib
import io
import pickle
import tarfile
import dataclasses

import numpy as np
import pytest

from ember.data import CIFAR10, DataError, DatasetNotFoundError, sources
from ember.data.cifar import load_batch, restricted_loads

FILES = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"]


def _batch(n, seed, byte_keys=True, protocol=2):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    k = (lambda s: s.encode()) if byte_keys else (lambda s: s)
    payload = {k("batch_label"): k(f"batch {seed}"), k("labels"): labels, k("data"): data,
               k("filenames"): [k(f"img{i}.png") for i in range(n)]}
    return pickle.dumps(payload, protocol=protocol), data, labels


def make_cifar(root, n=6, protocol=2, meta=True):
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    written = {}
    for i, name in enumerate(FILES):
        blob, x, y = _batch(n, i, byte_keys=i % 2 == 0, protocol=protocol)
        (d / name).write_bytes(blob)
        written[name] = (x, y)
    if meta:
        (d / "batches.meta").write_bytes(pickle.dumps({b"label_names": [b"a", b"b", b"c", b"d", b"e", b"f", b"g",
                                                                       b"h", b"i", b"j"], b"num_vis": 3072}))
    return written


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_loads_train_and_test(tmp_path, protocol):
    written = make_cifar(tmp_path, protocol=protocol)
    train = CIFAR10(tmp_path, split="train", download=False)
    test = CIFAR10(tmp_path, "test", download=False)
    assert train.data.shape == (30, 3, 32, 32) and test.data.shape == (6, 3, 32, 32)
    x, y = written["data_batch_2"]
    np.testing.assert_array_equal(train.data[6:12].reshape(6, -1), x)  # rows are R, G, B planes -> NCHW
    np.testing.assert_array_equal(train.targets[6:12], y)
    assert train.classes == list("abcdefghij")
    image, label = test[0]
    assert image.shape == (3, 32, 32) and image.dtype == np.float32 and 0.0 <= image.min() and image.max() <= 1.0


def test_default_class_names_without_meta(tmp_path):
    make_cifar(tmp_path, meta=False)
    assert CIFAR10(tmp_path, "test", download=False).classes[:2] == ["airplane", "automobile"]


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    make_cifar(tmp_path)
    marker = tmp_path / "pwned"
    evil = pickle.dumps({b"data": _Exploit(marker), b"labels": [0]}, protocol=2)
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(evil)
    with pytest.raises(DataError, match=r"unsafe pickle in .*test_batch.*refusing to load global "
                                        r"(posix|os)\.system"):
        CIFAR10(tmp_path, "test", download=False)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    pickle.dumps(eval, protocol=2),  # builtins.eval
    pickle.dumps(np.load, protocol=2),  # a NumPy function that is not a plain array constructor
    pickle.dumps(np.array([object()], dtype=object), protocol=2),  # an object array
])
def test_other_globals_and_object_arrays_refused(payload):
    with pytest.raises(DataError, match="refusing"):
        restricted_loads(payload, "x")


def test_wrong_payloads(tmp_path):
    p = tmp_path / "b"
    cases = [
        (pickle.dumps([1, 2, 3]), "is a list, expected a dict"),
        (pickle.dumps({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}), "must be a uint8 array"),
        (pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}), r"\(N, 3072\)"),
        (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}), "count mismatch"),
        (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}), "outside 0..9"),
        (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": ["a", "b"]}), "list of integers"),
    ]
    for blob, message in cases:
        p.write_bytes(blob)
        with pytest.raises(DataError, match=message):
            load_batch(p)


def test_truncated_batch_nothing_half_loaded(tmp_path):
    make_cifar(tmp_path)
    bad = tmp_path / "cifar-10-batches-py" / "data_batch_4"
    bad.write_bytes(bad.read_bytes()[:500])
    with pytest.raises(DataError, match=r"corrupt pickle in .*data_batch_4"):
        CIFAR10(tmp_path, "train", download=False)


def test_missing_batch_is_not_found(tmp_path):
    make_cifar(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetNotFoundError, match="cifar10 \\(train\\) not found"):
        CIFAR10(tmp_path, "train", download=False)
    assert len(CIFAR10(tmp_path, "test", download=False)) == 6  # the test split is complete


def test_download_archive_with_checksum(tmp_path, monkeypatch):
    make_cifar(tmp_path / "src")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
        info = tarfile.TarInfo("../../escape")  # a hostile member name is ignored, never written
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "cifar-10-python.tar.gz").write_bytes(buf.getvalue())
    src = dataclasses.replace(sources.SOURCES["cifar10"], mirrors=(mirror.as_uri() + "/",),
                              sha256={"cifar-10-python.tar.gz": hashlib.sha256(buf.getvalue()).hexdigest()})
    monkeypatch.setitem(sources.SOURCES, "cifar10", src)
    ds = CIFAR10(split="test", progress=False)
    assert len(ds) == 6 and ds.classes == list("abcdefghij")
    cache = tmp_path / "cache" / "cifar10"
    assert sorted(p.name for p in (cache / "cifar-10-batches-py").iterdir()) == sorted(FILES + ["batches.meta"])
    assert not (cache / "cifar-10-python.tar.gz").exists() and not (tmp_path / "escape").exists()

    src = dataclasses.replace(src, sha256={"cifar-10-python.tar.gz": "1" * 64})
    monkeypatch.setitem(sources.SOURCES, "cifar10", src)
    monkeypatch.setenv("EMBER_DATA", str(tmp_path / "cache2"))
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch"):
        CIFAR10(split="test", progress=False)


def test_python2_era_pickle_as_in_the_official_files():
    """The official batches were written by Python 2's cPickle: str payloads, numpy.core module path."""
    array = (b"cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02K\x00\x85U\x01b\x87Rq\x03(K\x01K\x02K"
             b"\x03\x86cnumpy\ndtype\nq\x04U\x02u1K\x00K\x01\x87Rq\x05(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff"
             b"K\x00tb\x89U\x06\x01\x02\x03\x04\x05\x06tb")
    blob = b"\x80\x02}q\x00(U\x04dataq\x06" + array + b"U\x06labelsq\x07]q\x08(K\x01K\x02eu."
    out = restricted_loads(blob, "py2")
    np.testing.assert_array_equal(out[b"data"], [[1, 2, 3], [4, 5, 6]])
    assert out[b"data"].dtype == np.uint8 and out[b"labels"] == [1, 2]


def test_torchvision_forms_train_flag_and_target_transform(tmp_path):
    written = make_cifar(tmp_path)
    test = CIFAR10(root=tmp_path, train=False, download=False, target_transform=lambda y: -y)
    assert len(test) == 6 and test.train is False
    assert test[2][1] == -written["test_batch"][1][2]
    assert len(CIFAR10(tmp_path, True, download=False)) == 30
    with pytest.raises(ValueError, match="disagree"):
        CIFAR10(tmp_path, "train", train=False, download=False)
