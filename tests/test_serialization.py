"""ember.save / ember.load: exact round trips, no code execution, atomic writes, clear errors."""
from __future__ import annotations

import os
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember import serialization
from ember.serialization import CheckpointFormatError


def _net():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4, 2))


def _same(a, b):
    """Structural equality that also checks types, dtypes and key order."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, ember.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.array, b.array)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def test_checkpoint_round_trips_exactly(tmp_path):
    net = _net()
    net(ember.randn(2, 3, 3, 3))  # move the BN statistics
    optimizer_state = {"state": {0: {"step": 3, "exp_avg": np.ones((4, 3, 3, 3), np.float32)},
                                 1: {"step": 3, "exp_avg": np.zeros(4, np.float64)}},
                       "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "amsgrad": False,
                                         "name": None}]}
    ckpt = {"model": net.state_dict(), "optimizer": optimizer_state, "epoch": 3, "best": 0.25,
            "rng": ember.get_rng_state(), "history": [1.0, 2, "three", None, float("nan"), float("inf")],
            "np_scalars": [np.float32(1.5), np.int64(7), np.bool_(True)], "raw": b"\x00\x01ember",
            "big": 2 ** 100, "nested": OrderedDict([("z", 1), ("a", {"b": [(), (1,)]})])}
    path = tmp_path / "run.ckpt"
    ember.save(ckpt, path)
    back = ember.load(path)
    _same(ckpt, back)
    assert isinstance(back["model"], OrderedDict) and type(back["optimizer"]["state"]) is dict
    assert back["epoch"] == 3 and type(back["epoch"]) is int and type(back["best"]) is float
    assert back["model"]["1.num_batches_tracked"].dtype == np.int64
    assert back["model"]["0.weight"].dtype == np.float32


def test_loaded_state_dict_restores_the_model(tmp_path):
    a, b = _net(), _net()
    a(ember.randn(2, 3, 3, 3))
    ember.save(a.state_dict(), tmp_path / "w.ckpt")
    b.load_state_dict(ember.load(str(tmp_path / "w.ckpt")))
    a.eval(), b.eval()
    x = ember.randn(2, 3, 3, 3)
    np.testing.assert_array_equal(a(x).array, b(x).array)


def test_tensors_parameters_and_shared_references(tmp_path):
    p = nn.Parameter(ember.randn(3))
    t = ember.randn(2, requires_grad=True)
    f64 = ember.randn(2, dtype=ember.float64)
    ember.save({"p": p, "t": t, "again": t, "f64": f64, "list": [t]}, tmp_path / "x")
    back = ember.load(tmp_path / "x")
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    assert back["t"].requires_grad and back["again"] is back["t"] and back["list"][0] is back["t"]
    assert back["f64"].dtype == np.float64


def test_the_file_is_an_npz_readable_without_pickle(tmp_path):
    ember.save({"w": np.arange(6).reshape(2, 3)}, tmp_path / "c.npz")
    with np.load(tmp_path / "c.npz", allow_pickle=False) as z:
        np.testing.assert_array_equal(z["a0"], np.arange(6).reshape(2, 3))


def test_load_never_unpickles(tmp_path):
    """An archive smuggling a pickled object array is refused, not executed."""
    path = tmp_path / "evil.ckpt"
    good = tmp_path / "good.ckpt"
    ember.save({"x": np.zeros(2)}, good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as z:
        z.writestr("ember.json", src.read("ember.json"))
        with z.open("a0.npy", "w") as f:  # an object array: reading it would need pickle
            np.lib.format.write_array(f, np.array([print], dtype=object), allow_pickle=True)
    with pytest.raises(CheckpointFormatError, match="evil.ckpt"):
        ember.load(path)


def test_unsupported_objects_fail_at_save_naming_where(tmp_path):
    with pytest.raises(TypeError, match=r"object\['opt'\]\['fn'\]: cannot save an object of type function"):
        ember.save({"opt": {"fn": lambda: 0}}, tmp_path / "x")
    with pytest.raises(TypeError, match=r"save module.state_dict\(\) instead"):
        ember.save(_net(), tmp_path / "x")
    with pytest.raises(TypeError, match="dtype object"):
        ember.save(np.array([1, "a"], dtype=object), tmp_path / "x")
    assert not (tmp_path / "x").exists() and not list(tmp_path.iterdir())


def test_crash_during_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    ember.save({"epoch": 1, "w": np.ones(1000)}, path)
    before = path.read_bytes()

    real = np.lib.format.write_array
    calls = {"n": 0}

    def crash_midway(f, arr, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:  # the first array is already partly on disk
            raise OSError("disk full (simulated)")
        return real(f, arr, *a, **kw)

    monkeypatch.setattr(np.lib.format, "write_array", crash_midway)
    with pytest.raises(OSError, match="simulated"):
        ember.save({"epoch": 2, "w": np.zeros(1000), "v": np.zeros(5)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert ember.load(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model.ckpt"]  # no temporary file left behind


def test_crash_before_replace_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    ember.save({"epoch": 1}, path)

    def no_replace(src, dst):
        raise KeyboardInterrupt  # killed just before the rename

    monkeypatch.setattr(serialization.os, "replace", no_replace)
    with pytest.raises(KeyboardInterrupt):
        ember.save({"epoch": 2}, path)
    monkeypatch.undo()
    assert ember.load(path) == {"epoch": 1}
    assert len(list(tmp_path.iterdir())) == 1


def test_save_fsyncs_before_replacing(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(serialization.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(serialization.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    ember.save({"a": 1}, tmp_path / "f")
    assert events[:2] == ["fsync", "replace"]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip", "empty"])
def test_corrupt_or_truncated_file_names_its_path(tmp_path, damage):
    path = tmp_path / "bad.ckpt"
    ember.save({"w": np.arange(1000, dtype=np.float32), "epoch": 3}, path)
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"this is not a checkpoint at all" * 10)
    elif damage == "flip":
        i = raw.index(b"\x93NUMPY") + 200  # inside the array data: caught by the zip CRC
        path.write_bytes(raw[:i] + bytes([raw[i] ^ 0xFF]) + raw[i + 1:])
    else:
        path.write_bytes(b"")
    with pytest.raises(CheckpointFormatError, match=str(path).replace("\\", "\\\\")):
        ember.load(path)


def test_foreign_npz_and_missing_file(tmp_path):
    np.savez(tmp_path / "plain.npz", x=np.ones(3))
    with pytest.raises(CheckpointFormatError, match=r"plain\.npz is not an ember checkpoint"):
        ember.load(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        ember.load(tmp_path / "nope.ckpt")
    with pytest.raises(ValueError, match="CPU only"):
        ember.load(tmp_path / "plain.npz", map_location="cuda")


def test_file_objects(tmp_path):
    import io

    buf = io.BytesIO()
    ember.save({"x": ember.ones(2)}, buf)
    buf.seek(0)
    np.testing.assert_array_equal(ember.load(buf)["x"].data, [1.0, 1.0])


def test_new_file_gets_normal_permissions(tmp_path):
    path = tmp_path / "perm.ckpt"
    ember.save({"a": 1}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
