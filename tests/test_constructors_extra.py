"""Constructors' ``size=`` keyword, the legacy ``Tensor(2, 3)``, ``nbytes``/``itemsize``, ``finfo``/``iinfo`` and
``set_printoptions`` (compared with PyTorch where PyTorch defines the answer)."""
from __future__ import annotations

import numpy as np
import pytest

import ember


def _name(dtype) -> str:
    return str(dtype).replace("torch.", "") if not isinstance(dtype, np.dtype) else dtype.name


# ----------------------------------------------------------------------------- size= keyword


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
def test_size_keyword(torch, name):
    for kw in ({"size": (2, 3)}, {"size": [4]}, {"size": ember.Size([1, 2])}, {"size": ()}):
        tkw = {"size": tuple(kw["size"]) if isinstance(kw["size"], tuple) else kw["size"]}
        e, t = getattr(ember, name)(**kw), getattr(torch, name)(**tkw)
        assert tuple(e.shape) == tuple(t.shape) and _name(e.dtype) == _name(t.dtype), (name, kw)
    assert getattr(ember, name)(size=3).shape == (3,)  # a bare int too (PyTorch wants a sequence there)
    e = getattr(ember, name)(size=(2,), dtype=ember.float64, requires_grad=True)
    assert e.shape == (2,) and e.dtype == np.float64 and e.requires_grad
    assert getattr(ember, name)(2, 3).shape == getattr(ember, name)((2, 3)).shape == (2, 3)  # positional forms
    with pytest.raises(TypeError, match=f"{name}\\(\\) got multiple values for argument 'size'"):
        getattr(ember, name)(2, size=(3,))


def test_size_keyword_of_full_and_randint(torch):
    assert ember.full(size=(2,), fill_value=3).tolist() == [3, 3] and ember.full(size=(2,), fill_value=3).dtype == np.int64
    for args, kw in (((0, 4), {"size": (2, 3)}), ((4,), {"size": (5,)}), ((), {"high": 4, "size": (2,)}),
                     ((), {"low": 2, "high": 4, "size": [3]})):
        e, t = ember.randint(*args, **kw), torch.randint(*args, **kw)
        assert tuple(e.shape) == tuple(t.shape) and _name(e.dtype) == _name(t.dtype), (args, kw)
        low = kw.get("low", args[0] if len(args) == 2 else 0)
        high = kw.get("high", args[-1] if args else None)
        assert e.numpy().min() >= low and e.numpy().max() < high


def test_new_constructors_keep_working():
    x = ember.ones(2, dtype=ember.float64)
    assert x.new_zeros(3, 2).shape == (3, 2) and x.new_zeros((3,)).dtype == np.float64
    assert ember.zeros_like(x).shape == (2,) and ember.rand_like(x).dtype == np.float64


# ----------------------------------------------------------------------------- Tensor(2, 3)


def test_legacy_tensor_sizes(torch):
    for args in ((2, 3), (4, 1, 2), (np.int64(2), 3), (ember.Size([2, 5]),), ()):
        targs = tuple(torch.Size(a) if isinstance(a, ember.Size) else a for a in args)
        e, t = ember.Tensor(*args), torch.Tensor(*targs)
        assert tuple(e.shape) == tuple(t.shape) and _name(e.dtype) == _name(t.dtype), args
        assert np.all(e.numpy() == 0)  # ember zero-fills PyTorch's uninitialised memory
    e = ember.Tensor([1.5, 2.0])
    assert e.dtype == np.float32 and e.tolist() == [1.5, 2.0]  # a list is data
    assert ember.Tensor((1.0, 2.0)).tolist() == [1.0, 2.0]  # a plain tuple too
    assert ember.Tensor(5).ndim == 0 and ember.Tensor(5).item() == 5  # one number stays a 0-d tensor (ember)


def test_tensor_data_forms_are_unchanged():
    a = np.arange(3.0)
    assert ember.Tensor(a).array is a  # no copy of an array
    assert ember.Tensor(a, "float32").dtype == np.float32  # positional dtype, as before
    t = ember.Tensor([1.0], ember.float64, True)
    assert t.dtype == np.float64 and t.requires_grad
    assert ember.Tensor([1.0], dtype=ember.float64, requires_grad=True).requires_grad
    with ember.no_grad():
        assert ember.Tensor(2, 3, dtype=ember.float64).dtype == np.float64
    with pytest.raises(TypeError, match="multiple values for argument 'dtype'"):
        ember.Tensor([1.0], ember.float64, dtype=ember.float32)
    with pytest.raises(TypeError, match="Tensor\\(\\) takes data"):
        ember.Tensor([1.0], None, False, 4)
    p = ember.nn.Parameter(ember.randn(2, 2))
    assert p.shape == (2, 2) and p.requires_grad


def test_nbytes_and_itemsize(torch):
    for shape, name in (((3, 2), "float32"), ((4,), "float64"), ((2, 5), "int8"), ((), "int64"), ((0, 3), "float16"),
                        ((3,), "bool")):
        e = ember.zeros(shape, dtype=getattr(ember, name))
        t = torch.zeros(shape, dtype=getattr(torch, name))
        assert (e.nbytes, e.itemsize) == (t.nbytes, t.itemsize), (shape, name)
    x = ember.zeros(3, 4)
    assert x.T.nbytes == x.nbytes == 48 and x[:, :2].nbytes == 24 and x.itemsize == x.element_size() == 4


# ----------------------------------------------------------------------------- finfo / iinfo


FINFO = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "bfloat16", "half", "double"])
def test_finfo_matches_pytorch(torch, name):
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    for attr in FINFO:
        assert getattr(e, attr) == getattr(t, attr), (name, attr)
    assert repr(e) == repr(t)
    assert isinstance(e.max, float) and isinstance(e.bits, int)


def test_finfo_default_and_names(torch):
    assert ember.finfo().dtype == "float32" and ember.finfo("float64").eps == torch.finfo(torch.float64).eps
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.finfo().dtype == "float64"
    finally:
        ember.set_default_dtype(ember.float32)
    assert np.float32(ember.finfo(ember.float32).max) == np.finfo(np.float32).max


@pytest.mark.parametrize("name", ["int8", "uint8", "int16", "int32", "int64", "long", "short"])
def test_iinfo_matches_pytorch(torch, name):
    e, t = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
    for attr in ("bits", "max", "min", "dtype"):
        assert getattr(e, attr) == getattr(t, attr), (name, attr)
    assert repr(e) == repr(t)


def test_finfo_iinfo_errors():
    with pytest.raises(TypeError, match="finfo\\(\\) requires a floating point input type, got int32"):
        ember.finfo(ember.int32)
    with pytest.raises(TypeError, match="iinfo\\(\\) requires an integer input type, got float32"):
        ember.iinfo(ember.float32)
    with pytest.raises(TypeError, match="ember.bool is not supported by ember.iinfo"):
        ember.iinfo(ember.bool)
    with pytest.raises(TypeError, match="unknown dtype"):
        ember.finfo("float8")


# ----------------------------------------------------------------------------- set_printoptions


@pytest.fixture
def printing():
    yield
    ember.set_printoptions(profile="default")


def test_default_printing_is_unchanged(printing):
    assert ember.get_printoptions() == {"precision": 4, "threshold": 200, "edgeitems": 3, "linewidth": 75,
                                        "sci_mode": None}
    assert repr(ember.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(ember.tensor([1.23456789])) == "tensor([1.2346])"
    assert "..." in repr(ember.arange(201)) and "..." not in repr(ember.arange(200))


def test_precision_threshold_edgeitems_linewidth(printing):
    ember.set_printoptions(precision=2)
    assert repr(ember.tensor([1.23456, 2.0])) == "tensor([1.23, 2.  ])"
    ember.set_printoptions(threshold=5, edgeitems=1)
    assert repr(ember.arange(10)) == "tensor([0, ..., 9])"
    assert ember.get_printoptions()["precision"] == 2  # options not given are kept
    ember.set_printoptions(profile="default", linewidth=30)
    lines = repr(ember.arange(20)).splitlines()
    assert len(lines) > 1 and max(len(line) for line in lines) <= 30
    ember.set_printoptions(profile="full")
    assert "..." not in repr(ember.arange(5000))
    ember.set_printoptions(threshold=float("inf"))  # PyTorch's spelling of never
    assert "..." not in repr(ember.arange(5000))
    ember.set_printoptions(profile="short")
    assert repr(ember.tensor([1.23456, 2.0])) == "tensor([1.23, 2.  ])"
    assert repr(ember.arange(1000)) == "tensor([  0,   1, ..., 998, 999])"


def test_sci_mode(printing):
    x = ember.tensor([1.5, 20.0])
    ember.set_printoptions(sci_mode=True)
    assert repr(x) == "tensor([1.5000e+00, 2.0000e+01])"
    ember.set_printoptions(sci_mode=False)
    assert repr(ember.tensor([1e-8, 1.0])) == "tensor([0.0000, 1.0000])"
    assert repr(ember.tensor([1, 2])) == "tensor([1, 2])"  # integers are not affected
    ember.set_printoptions(precision=2)  # sci_mode reset to automatic by every call, as PyTorch
    assert ember.get_printoptions()["sci_mode"] is None
    assert repr(ember.tensor([1e-8, 1.0])) == "tensor([1.e-08, 1.e+00])"


def test_printoptions_errors(printing):
    with pytest.raises(ValueError, match="profile must be"):
        ember.set_printoptions(profile="long")
    with pytest.raises(TypeError, match="precision must be a non-negative int"):
        ember.set_printoptions(precision=-1)
