"""CIFAR-10 from the official "python version" batches, read without trusting pickle.

Each batch file (``data_batch_1`` ... ``data_batch_5``, ``test_batch``) is a pickled dict
``{b"data": uint8 array (10000, 3072), b"labels": [int] * 10000, ...}``; a row holds the red,
then green, then blue 32x32 plane, so ``data.reshape(-1, 3, 32, 32)`` is already NCHW.

Unpickling can run arbitrary code, so the batches go through :class:`RestrictedUnpickler`: it
resolves only the handful of globals a NumPy uint8 array needs (``_reconstruct``, ``ndarray``,
``dtype``, ``_frombuffer``, and ``_codecs.encode`` for bytes pickled by Python 3) and refuses
everything else with an error naming the file and the global.
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import tarfile
import threading
from pathlib import Path

import numpy as np

from ember.data.dataset import ImageArrayDataset
from ember.data.errors import DataError
from ember.data.sources import check_split, get_source, locate
from ember.data.vision_compat import TargetTransformMixin, check_target_transform, resolve_split

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class RefusedPickle(pickle.UnpicklingError):
    """The pickle asked for something outside the allowed NumPy payload."""


def _reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise RefusedPickle(f"refusing to build an array of type {subtype!r}")
    return np.ndarray.__new__(np.ndarray, shape, _dtype(dtype))


def _dtype(spec, align=False, copy=False):
    dt = np.dtype(spec)
    if dt.hasobject or dt.kind not in "biuf":
        raise RefusedPickle(f"refusing dtype {dt} (only numeric arrays are accepted)")
    return dt


def _frombuffer(buffer, dtype, shape, order):
    return np.frombuffer(buffer, dtype=_dtype(dtype)).reshape(shape, order=order).copy()


def _encode(text, encoding="latin1"):
    if not isinstance(text, str) or encoding != "latin1":
        raise RefusedPickle("refusing _codecs.encode other than str -> latin1 bytes")
    return text.encode("latin1")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that only builds plain containers, numbers, strings and numeric NumPy arrays."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _dtype,
        ("numpy.core.numeric", "_frombuffer"): _frombuffer,
        ("numpy._core.numeric", "_frombuffer"): _frombuffer,
        ("_codecs", "encode"): _encode,
    }

    def find_class(self, module: str, name: str):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise RefusedPickle(
                f"refusing to load global {module}.{name}: only NumPy array payloads are allowed"
            ) from None


def restricted_loads(payload: bytes, name: str = "<bytes>"):
    """Unpickle ``payload`` with :class:`RestrictedUnpickler`; any failure is a DataError naming ``name``."""
    try:
        # encoding="bytes" reads Python 2 str as bytes, which is how the official batches were written
        return RestrictedUnpickler(io.BytesIO(payload), encoding="bytes").load()
    except RefusedPickle as exc:
        raise DataError(f"unsafe pickle in {name}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError,
            OverflowError, struct.error) as exc:
        raise DataError(f"corrupt pickle in {name}: {type(exc).__name__}: {exc}") from None


def _get(d: dict, key: str):
    for k in (key.encode(), key):
        if k in d:
            return d[k]
    return None


def load_batch(path: str | os.PathLike, num_classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR batch file -> (uint8 (N, 3, 32, 32), int64 labels (N,)), validated."""
    path = Path(path)
    batch = restricted_loads(path.read_bytes(), str(path))
    if not isinstance(batch, dict):
        raise DataError(f"CIFAR batch {path} is a {type(batch).__name__}, expected a dict with data and labels")
    data, labels = _get(batch, "data"), _get(batch, "labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        what = f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataError(f"CIFAR batch {path}: 'data' must be a uint8 array (N, 3072), got {what}")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"CIFAR batch {path}: 'labels' must be a list of integers") from None
    if labels.shape != (data.shape[0],):
        raise DataError(
            f"CIFAR batch {path}: {data.shape[0]} images but labels of shape {labels.shape} (count mismatch)"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"CIFAR batch {path}: labels outside 0..{num_classes - 1}")
    return data.reshape(-1, 3, 32, 32), labels


def load_meta(path: str | os.PathLike) -> list[str] | None:
    """The class names in ``batches.meta``, or None when the file is absent."""
    path = Path(path)
    if not path.is_file():
        return None
    meta = restricted_loads(path.read_bytes(), str(path))
    names = _get(meta, "label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, (bytes, str)) for n in names):
        raise DataError(f"CIFAR meta file {path} has no list of label_names")
    return [n.decode() if isinstance(n, bytes) else n for n in names]


def extract_archive(archive: str | os.PathLike, dest: str | os.PathLike, members) -> None:
    """Copy the named files out of a .tar.gz, matching base names only, so no path in the archive is trusted."""
    archive, dest = Path(archive), Path(dest)
    wanted = set(members)
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in wanted:
                    (dest / base).write_bytes(tar.extractfile(member).read())
                    wanted.discard(base)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"corrupt archive {archive}: {exc}") from exc
    wanted.discard("batches.meta")  # optional
    if wanted:
        raise DataError(f"archive {archive} lacks {', '.join(sorted(wanted))}")


_PARSED: dict = {}
_PARSED_LOCK = threading.Lock()
_KEEP = 4


class CIFAR10(TargetTransformMixin, ImageArrayDataset):
    """CIFAR-10: 32x32 colour images in ten classes; 50,000 for training, 10,000 for testing.

    ``root`` is a directory containing ``cifar-10-batches-py`` (or the batch files directly);
    the search order, ``download``, and torchvision's ``train=`` and ``target_transform=`` are
    those of :class:`~ember.data.FashionMNIST`.
    ``data`` is uint8 (N, 3, 32, 32); the loader gives float32 in [0, 1].
    """

    classes = CIFAR10_CLASSES

    def __init__(self, root: str | os.PathLike | None = None, split: str | None = None, transform=None,
                 download: bool = True, progress: bool = True, *, train: bool | None = None,
                 target_transform=None):
        split = resolve_split(split, train)
        source = get_source("cifar10")
        check_split(source, split)
        files = locate("cifar10", split, root=root, download=download, progress=progress)
        paths = [files[f] for f in source.files[split]]
        key = tuple((str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in paths)
        with _PARSED_LOCK:
            hit = _PARSED.get(key)
        if hit is None:
            parts = [load_batch(p) for p in paths]  # all parsed before anything is kept
            x = np.concatenate([p[0] for p in parts])
            y = np.concatenate([p[1] for p in parts])
            x.flags.writeable = False
            y.flags.writeable = False
            hit = (x, y)
            with _PARSED_LOCK:
                _PARSED[key] = hit
                while len(_PARSED) > _KEEP:
                    _PARSED.pop(next(iter(_PARSED)))
        classes = load_meta(paths[0].parent / "batches.meta") or CIFAR10_CLASSES
        super().__init__(hit[0], hit[1], classes=classes, transform=transform, name="CIFAR10")
        self.target_transform = check_target_transform(target_transform)
        self.split = split
        self.train = split == "train"
        self.root = paths[0].parent

    def __repr__(self) -> str:
        return f"CIFAR10(split={self.split!r}, {len(self)} images, from {self.root})"
