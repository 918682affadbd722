"""``ember.save`` / ``ember.load``: checkpoints that never execute code when loaded (NOTES §7:
periodic checkpoints, then choose the best).

File format: a zip archive that is also a valid ``.npz``. Every array is one ``a<k>.npy`` entry,
written and read with ``allow_pickle=False``; everything else is described by one JSON header,
``ember.json``::

    {"format": "ember", "version": 1, "root": <node>}

A node is a JSON primitive (None, bool, int, float — NaN/±inf included — str) or an object whose
``"t"`` field names its kind: ``dict`` (key/value node pairs in order, ``"od"`` for an OrderedDict;
keys may be any node, so int keys survive), ``list``, ``tuple``, ``tensor``/``parameter`` (array name
and requires_grad), ``ndarray``, ``npscalar`` (a NumPy scalar, kept as its dtype), ``bytes``. So a
checkpoint ``{"model": state_dict, "optimizer": state_dict, "epoch": 3, "rng": {...}}`` round-trips
exactly: key order, int vs float, float32 vs float64. A tensor referenced twice is stored once and
loads as one object.

Saving is atomic: the archive is written to a temporary file in the destination's directory,
flushed and fsync'ed, then moved over the destination with ``os.replace``, so a crash mid-save
leaves the previous file intact. A corrupt or truncated file raises :class:`CheckpointFormatError`
naming the path.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ember.tensor import Tensor

__all__ = ["save", "load", "CheckpointFormatError"]

FORMAT = "ember"
VERSION = 1
HEADER = "ember.json"


class CheckpointFormatError(ValueError):
    """The file is not a readable ember checkpoint (corrupt, truncated, or something else entirely)."""


# ----------------------------------------------------------------------------- encoding


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.memo: dict[int, dict] = {}

    def array(self, arr: np.ndarray, where: str) -> str:
        if arr.dtype.hasobject:
            raise TypeError(f"{where}: cannot save an array of Python objects (dtype object); ember.save stores "
                            f"numeric, boolean and string arrays only")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = arr
        return name

    def node(self, obj: Any, where: str):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, float)):
            return int(obj) if isinstance(obj, int) else float(obj)
        if isinstance(obj, Tensor):
            key = id(obj)
            if key in self.memo:
                return self.memo[key]
            from ember.nn.module import Parameter

            kind = "parameter" if isinstance(obj, Parameter) else "tensor"
            node = {"t": kind, "a": self.array(obj.array, where), "rg": bool(obj.requires_grad)}
            self.memo[key] = node
            return node
        if isinstance(obj, np.ndarray):
            return {"t": "ndarray", "a": self.array(obj, where)}
        if isinstance(obj, np.generic):
            return {"t": "npscalar", "a": self.array(np.asarray(obj), where)}
        if isinstance(obj, (bytes, bytearray)):
            return {"t": "bytes", "a": self.array(np.frombuffer(bytes(obj), dtype=np.uint8), where)}
        if isinstance(obj, dict):
            items = [[self.node(k, f"{where} key {k!r}"), self.node(v, f"{where}[{k!r}]")] for k, v in obj.items()]
            node = {"t": "dict", "k": items}
            if isinstance(obj, OrderedDict):
                node["od"] = True
            return node
        if isinstance(obj, (list, tuple)):
            return {"t": "list" if isinstance(obj, list) else "tuple",
                    "v": [self.node(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        from ember.nn.module import Module

        hint = " (save module.state_dict() instead)" if isinstance(obj, Module) else ""
        raise TypeError(f"{where}: cannot save an object of type {type(obj).__name__}{hint}; ember.save stores "
                        f"tensors, arrays, numbers, strings, bytes, None and dicts/lists/tuples of them")


def _decode(node, arrays: dict[str, np.ndarray], memo: dict[str, Tensor]):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if not isinstance(node, dict) or "t" not in node:
        raise ValueError(f"unexpected header entry {str(node)[:80]!r}")
    t = node["t"]
    if t == "dict":
        pairs = [(_decode(k, arrays, memo), _decode(v, arrays, memo)) for k, v in node["k"]]
        return OrderedDict(pairs) if node.get("od") else dict(pairs)
    if t == "list":
        return [_decode(v, arrays, memo) for v in node["v"]]
    if t == "tuple":
        return tuple(_decode(v, arrays, memo) for v in node["v"])
    if t in ("tensor", "parameter"):
        name = node["a"]
        if name not in memo:
            arr = arrays[name]
            if t == "parameter":
                from ember.nn.module import Parameter

                out = Parameter(arr, requires_grad=bool(node.get("rg", True)))
            else:
                out = Tensor._wrap(arr)
                if node.get("rg"):
                    out.requires_grad_(True)
            memo[name] = out
        return memo[name]
    if t == "ndarray":
        return arrays[node["a"]]
    if t == "npscalar":
        return arrays[node["a"]][()]
    if t == "bytes":
        return arrays[node["a"]].tobytes()
    raise ValueError(f"unknown entry kind {t!r}")


# ----------------------------------------------------------------------------- writing


def _write_archive(fileobj, header: dict, arrays: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr(HEADER, json.dumps(header, separators=(",", ":")))
        for name, arr in arrays.items():
            with z.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _file_mode(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0666 minus the umask."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def save(obj: Any, f) -> None:
    """Save ``obj`` (tensors, arrays, numbers, strings, None, nested in dicts/lists/tuples) to ``f``.

    ``f`` is a path (written atomically: temporary file in the same directory, fsync, ``os.replace``)
    or a writable binary file object. Nothing is pickled, so :func:`load` never runs code.
    """
    enc = _Encoder()
    header = {"format": FORMAT, "version": VERSION, "root": enc.node(obj, "object")}
    if hasattr(f, "write"):
        _write_archive(f, header, enc.arrays)
        return
    path = Path(os.fspath(f))
    directory = str(path.parent) if str(path.parent) else "."
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        os.chmod(tmp, _file_mode(path))
        with os.fdopen(fd, "wb") as out:
            _write_archive(out, header, enc.arrays)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


# ----------------------------------------------------------------------------- reading


def _read_archive(fileobj, label: str):
    try:
        with zipfile.ZipFile(fileobj) as z:
            names = set(z.namelist())
            if HEADER not in names:
                raise CheckpointFormatError(f"{label} is not an ember checkpoint (no {HEADER} header; ember.load "
                                            f"reads files written by ember.save)")
            header = json.loads(z.read(HEADER).decode("utf-8"))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise CheckpointFormatError(f"{label} is not an ember checkpoint (unknown header)")
            if int(header.get("version", 0)) > VERSION:
                raise CheckpointFormatError(f"{label} was written by a newer ember (format version "
                                            f"{header['version']}, this ember reads up to {VERSION})")
            arrays = {}
            for entry in names - {HEADER}:
                if entry.endswith(".npy"):
                    with z.open(entry) as fh:
                        arrays[entry[:-4]] = np.lib.format.read_array(fh, allow_pickle=False)
            return _decode(header["root"], arrays, {})
    except CheckpointFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, KeyError, ValueError, TypeError, OSError,
            UnicodeDecodeError, json.JSONDecodeError) as e:
        if isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise CheckpointFormatError(f"cannot load {label}: the file is corrupt or truncated "
                                    f"({type(e).__name__}: {e})") from e


def load(f, map_location=None, weights_only: bool = True) -> Any:
    """Load what :func:`save` wrote, from a path or a readable binary file object.

    ``map_location`` may be None or ``'cpu'`` (ember runs on the CPU); ``weights_only`` is accepted for
    PyTorch compatibility — ember's format holds data only, so loading is always safe.
    """
    if map_location not in (None, "cpu"):
        raise ValueError(f"ember runs on the CPU only; map_location must be None or 'cpu', got {map_location!r}")
    if hasattr(f, "read"):
        data = f.read()
        return _read_archive(io.BytesIO(data), getattr(f, "name", "<file object>"))
    path = Path(os.fspath(f))
    if not path.exists():
        raise FileNotFoundError(f"no such checkpoint: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a checkpoint file")
    with open(path, "rb") as fh:
        return _read_archive(fh, str(path))
