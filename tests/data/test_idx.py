"""IDX reader/writer: round trips and every kind of broken file gives a DataError naming it."""
from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp

from ember.data import DataError
from ember.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, read_image_label_pair, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = write_idx(tmp_path / name, a)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    b = read_idx(path)
    assert b.dtype == a.dtype and b.dtype.isnative
    np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.uint8, hnp.array_shapes(min_dims=1, max_dims=4, max_side=6)))
def test_round_trip_any_shape(tmp_path_factory, a):
    path = write_idx(tmp_path_factory.mktemp("idx") / "x.idx", a)
    np.testing.assert_array_equal(read_idx(path), a)


def test_header_layout_is_mnist(tmp_path):
    path = write_idx(tmp_path / "img", np.zeros((2, 28, 28), np.uint8))
    raw = path.read_bytes()
    assert struct.unpack(">IIII", raw[:16]) == (IMAGES_MAGIC, 2, 28, 28)
    assert len(raw) == 16 + 2 * 28 * 28


def _pair(tmp_path, n_img=5, n_lab=5, labels=None):
    img = write_idx(tmp_path / "img.gz", np.zeros((n_img, 28, 28), np.uint8))
    lab = write_idx(tmp_path / "lab.gz", np.asarray(labels if labels is not None else np.arange(n_lab) % 10, np.uint8))
    return img, lab


def test_pair_reads_int64_labels(tmp_path):
    x, y = read_image_label_pair(*_pair(tmp_path))
    assert x.shape == (5, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64


def test_wrong_magic_names_file(tmp_path):
    img, lab = _pair(tmp_path)
    with pytest.raises(DataError, match=r"lab\.gz.*wrong magic number 0x00000801.*expected 0x00000803"):
        read_image_label_pair(lab, img)


def test_invalid_magic(tmp_path):
    p = tmp_path / "bad.idx"
    p.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match=r"bad\.idx.*invalid magic number"):
        read_idx(p)
    p.write_bytes(b"PK\x03\x04" + b"\x00" * 8)  # a zip file, say
    with pytest.raises(DataError, match="invalid magic"):
        read_idx(p)


@pytest.mark.parametrize("cut", [2, 10, 100])
def test_truncated_file(tmp_path, cut):
    path = write_idx(tmp_path / "img", np.ones((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-cut] if cut > 16 else path.read_bytes()[:cut])
    with pytest.raises(DataError, match=r"img.*truncated"):
        read_idx(path, expect_magic=IMAGES_MAGIC)


def test_trailing_bytes(tmp_path):
    path = write_idx(tmp_path / "img", np.ones((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes() + b"junk")
    with pytest.raises(DataError, match="4 bytes after the data"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    path = write_idx(tmp_path / "img.gz", np.ones((50, 28, 28), np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"corrupt gzip data in IDX file .*img\.gz"):
        read_idx(path)


def test_gz_name_without_gzip(tmp_path):
    path = tmp_path / "img.gz"
    path.write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 1) + b"\x05")
    with pytest.raises(DataError, match="not gzip"):
        read_idx(path)


def test_gzip_detected_by_signature(tmp_path):
    path = tmp_path / "labels.bin"
    path.write_bytes(gzip.compress(struct.pack(">II", LABELS_MAGIC, 3) + bytes([1, 2, 3])))
    np.testing.assert_array_equal(read_idx(path), [1, 2, 3])


def test_count_mismatch_names_both_files(tmp_path):
    img, lab = _pair(tmp_path, n_img=5, n_lab=4)
    with pytest.raises(DataError, match=r"img\.gz holds 5 images but .*lab\.gz holds 4 labels"):
        read_image_label_pair(img, lab)


def test_label_out_of_range(tmp_path):
    img, lab = _pair(tmp_path, labels=[0, 1, 2, 12, 3])
    with pytest.raises(DataError, match=r"label 12 at index 3"):
        read_image_label_pair(img, lab)


def test_write_rejects_bad_dtype(tmp_path):
    with pytest.raises(ValueError, match="IDX cannot store dtype int64; valid:"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))
