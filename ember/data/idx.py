"""The IDX file format of the MNIST family, read and written with validation.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the
array in row-major order, big-endian::

    magic = 0x00 0x00 <type code> <ndim>
    type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64

so MNIST's image files start with 0x00000803 (= 2051: uint8, 3 dims) and its label files with
0x00000801 (= 2049: uint8, 1 dim). Files may be gzipped (``.gz``, or detected by the gzip
signature 1f 8b). Every check failure is a :class:`~ember.data.errors.DataError` naming the
file; nothing is returned unless the whole file parsed.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from ember.data.errors import DataError

# type code -> big-endian dtype
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}

IMAGES_MAGIC = 0x00000803  # 2051: uint8, 3 dims (count, rows, cols)
LABELS_MAGIC = 0x00000801  # 2049: uint8, 1 dim (count)

_GZIP_SIGNATURE = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzipped; a broken gzip stream is a DataError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc}") from exc
    if raw[:2] == _GZIP_SIGNATURE:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"corrupt gzip data in IDX file {path}: {exc} (delete it and fetch it again)") from exc
    if path.suffix == ".gz":
        raise DataError(f"IDX file {path} ends in .gz but is not gzip data (it starts with {raw[:4].hex()})")
    return raw


def parse_idx(buffer: bytes, name: str = "<bytes>", expect_magic: int | None = None) -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into a native-endian ndarray.

    ``expect_magic`` (e.g. :data:`IMAGES_MAGIC`) pins the type and rank; ``name`` is used in
    error messages. The size must match the header exactly: a short file is truncated, a long
    one is not what its header says.
    """
    if len(buffer) < 4:
        raise DataError(f"IDX file {name} is truncated: {len(buffer)} bytes, not even a 4-byte header")
    magic = struct.unpack(">I", buffer[:4])[0]
    zero, code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if expect_magic is not None and magic != expect_magic:
        raise DataError(
            f"IDX file {name} has the wrong magic number 0x{magic:08x} ({magic}); expected "
            f"0x{expect_magic:08x} ({expect_magic}) — is it the right file (images vs labels), or corrupt?"
        )
    if zero != 0 or code not in IDX_DTYPES or ndim == 0:
        raise DataError(
            f"IDX file {name} has an invalid magic number 0x{magic:08x}: expected 0x0000TTNN with type TT in "
            f"{{{', '.join(f'0x{c:02x}' for c in IDX_DTYPES)}}} and NN >= 1 dimensions"
        )
    header = 4 + 4 * ndim
    if len(buffer) < header:
        raise DataError(f"IDX file {name} is truncated inside its header ({len(buffer)} of {header} bytes)")
    shape = struct.unpack(f">{ndim}I", buffer[4:header])
    dtype = IDX_DTYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(buffer) < expected:
        raise DataError(
            f"IDX file {name} is truncated: header says shape {shape} ({expected} bytes in all) but the file "
            f"has {len(buffer)} bytes"
        )
    if len(buffer) > expected:
        raise DataError(
            f"IDX file {name} has {len(buffer) - expected} bytes after the data its header announces "
            f"(shape {shape}); the file is corrupt or not IDX"
        )
    array = np.frombuffer(buffer, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def read_idx(path: str | os.PathLike, expect_magic: int | None = None) -> np.ndarray:
    """Read one IDX file (gzipped or not); see :func:`parse_idx` for the checks."""
    path = Path(path)
    return parse_idx(_read_bytes(path), name=str(path), expect_magic=expect_magic)


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file, gzipped when ``compress`` (default: when the name ends in .gz)."""
    path = Path(path)
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder("=")
    if dtype not in _CODES:
        raise ValueError(
            f"IDX cannot store dtype {array.dtype}; valid: {', '.join(str(d) for d in _CODES)}"
        )
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"IDX stores 1 to 255 dimensions, got {array.ndim}")
    code = _CODES[dtype]
    payload = struct.pack(">I", (code << 8) | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
    return path


def read_image_label_pair(images_path: str | os.PathLike, labels_path: str | os.PathLike,
                          num_classes: int | None = 10) -> tuple[np.ndarray, np.ndarray]:
    """Read an MNIST-style (images, labels) pair and check they belong together.

    Returns ``images`` as uint8 (N, rows, cols) and ``labels`` as int64 (N,). A count mismatch or
    a label outside ``0..num_classes-1`` is a DataError naming both files.
    """
    images = read_idx(images_path, expect_magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, expect_magic=LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"image/label count mismatch: {images_path} holds {images.shape[0]} images but {labels_path} "
            f"holds {labels.shape[0]} labels"
        )
    if num_classes is not None and labels.size and int(labels.max()) >= num_classes:
        bad = int(np.argmax(labels >= num_classes))
        raise DataError(
            f"label file {labels_path} has label {int(labels[bad])} at index {bad}, outside 0..{num_classes - 1}"
        )
    return images, labels.astype(np.int64)
