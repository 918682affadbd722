"""default_collate / default_convert: the same structure, values and dtypes as PyTorch's, batch for batch."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import ember
from ember.data import default_collate, default_convert

Point = namedtuple("Point", ["x", "y"])


def plain(obj):
    """Tensors (ember's or PyTorch's) as (dtype, values); containers kept, so outputs compare with ==."""
    if isinstance(obj, ember.Tensor):
        return ("tensor", obj.array.dtype.str, obj.array.shape, obj.array.tolist())
    if type(obj).__module__.startswith("torch"):
        a = obj.numpy()
        return ("tensor", a.dtype.str, a.shape, a.tolist())
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, [plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [plain(v) for v in obj])
    return obj


def rng():
    return np.random.default_rng(0)


BATCHES = {
    "python_floats_are_float64": lambda t: [1.5, 2.0, -3.25],
    "python_ints_are_int64": lambda t: [1, 2, 3],
    "bools_stay_bool": lambda t: [True, False],
    "int_then_float_is_float32": lambda t: [1, 2.5],
    "numpy_scalars_keep_dtype": lambda t: [np.float32(1.5), np.float32(2.5)],
    "numpy_int32_scalars": lambda t: [np.int32(4), np.int32(5)],
    "uint8_arrays_stay_uint8": lambda t: [np.arange(6, dtype=np.uint8).reshape(2, 3) + i for i in range(3)],
    "float64_arrays_stay_float64": lambda t: [rng().standard_normal(3) for _ in range(2)],
    "tensors_are_stacked": lambda t: [t.tensor([1.0, 2.0]), t.tensor([3.0, 4.0])],
    "tuple_samples_give_a_list": lambda t: [(np.ones(2, np.float32), 0), (np.zeros(2, np.float32), 1)],
    "list_samples_give_a_list": lambda t: [[1, 2.5], [3, 4.5]],
    "dict_samples": lambda t: [{"img": np.full(2, i, np.float32), "label": i, "name": f"s{i}"} for i in range(3)],
    "namedtuple_samples": lambda t: [Point(np.float64(i), i) for i in range(3)],
    "nested": lambda t: [({"a": (1, 2.0)}, ["x", b"y"]) for _ in range(2)],
    "strings_stay_a_list": lambda t: ["cat", "dog"],
}


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_default_collate_matches_pytorch(torch, name):
    from torch.utils.data import default_collate as torch_collate

    make = BATCHES[name]
    ours = default_collate(make(ember))
    theirs = torch_collate(make(torch))
    assert plain(ours) == plain(theirs)


def test_default_collate_dtypes_without_torch():
    """The rules PyTorch users rely on, spelled out (the parity test above needs torch)."""
    assert default_collate([1.5, 2.0]).dtype == np.float64
    assert default_collate([1, 2]).dtype == np.int64
    assert default_collate([np.zeros(2, np.uint8)] * 2).dtype == np.uint8
    x, y = default_collate([(np.ones((1, 2, 2), np.float32), 3), (np.zeros((1, 2, 2), np.float32), 4)])
    assert x.shape == (2, 1, 2, 2) and x.dtype == np.float32 and y.tolist() == [3, 4]
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3] and p.y.dtype == np.float64


@pytest.mark.parametrize("sample", [
    3, 2.5, "text", np.arange(3), np.float32(2.0), (np.zeros(2), 3), [np.ones(1), "a"], {"a": np.ones(2), "b": 1},
    Point(np.ones(1), 2),
], ids=lambda s: type(s).__name__)
def test_default_convert_matches_pytorch(torch, sample):
    from torch.utils.data import default_convert as torch_convert

    assert plain(default_convert(sample)) == plain(torch_convert(sample))


@pytest.mark.parametrize("batch,error,match", [
    ([object()], TypeError, "must contain tensors, numpy arrays, numbers, dicts or lists; found"),
    ([np.array(["a", "b"])], TypeError, "found <U1"),
    ([(1, 2), (3,)], RuntimeError, "equal size"),
    ([np.zeros(2), np.zeros(3)], RuntimeError, "different shapes"),
    ([], TypeError, "non-empty list"),
])
def test_uncollatable_batches_are_clear_errors(batch, error, match):
    with pytest.raises(error, match=match):
        default_collate(batch)
