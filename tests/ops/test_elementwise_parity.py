"""PyTorch parity for the elementwise ops: forward values and input gradients, float32, rtol 1e-4, atol 1e-5.

Every case of ``cases.ELEMENTWISE`` runs twice: on contiguous inputs, and with ember reading
non-contiguous views of the same values (PyTorch gets contiguous copies).
"""
from __future__ import annotations

import numpy as np
import pytest

import ember

from tests.ops.cases import ELEMENTWISE
from tests.ops.harness import check_parity

PARITY = [c for c in ELEMENTWISE if c.parity]


@pytest.mark.parametrize("noncontig", [False, True], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("case", PARITY, ids=[c.id for c in PARITY])
def test_matches_pytorch(case, noncontig, torch):
    check_parity(case, torch, noncontig)


_DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64"]


@pytest.mark.parametrize("op", ["add", "mul", "div"])
@pytest.mark.parametrize("da", _DTYPES)
@pytest.mark.parametrize("db", _DTYPES)
@pytest.mark.parametrize("b_0d", [False, True], ids=["tensor", "0d"])
def test_binary_result_dtype_matches_pytorch(op, da, db, b_0d, torch):
    def make(lib):
        a = lib.tensor([1, 2, 3]).to(getattr(lib, da))
        b = (lib.tensor(2) if b_0d else lib.tensor([1, 2, 1])).to(getattr(lib, db))
        return getattr(lib, op)(a, b)

    e, t = make(ember), make(torch)
    assert e.dtype.name == str(t.dtype).replace("torch.", ""), f"{da} {op} {db}: ember {e.dtype}, torch {t.dtype}"
    np.testing.assert_allclose(e.array.astype(np.float64), t.numpy().astype(np.float64), rtol=1e-6)


@pytest.mark.parametrize("da", _DTYPES)
@pytest.mark.parametrize("scalar", [2, 2.5, True])
@pytest.mark.parametrize("op", ["add", "mul", "div"])
def test_tensor_and_python_scalar_dtype_matches_pytorch(da, scalar, op, torch):
    def make(lib):
        return getattr(lib, op)(lib.tensor([1, 2, 3]).to(getattr(lib, da)), scalar)

    e, t = make(ember), make(torch)
    assert e.dtype.name == str(t.dtype).replace("torch.", ""), f"{da} {op} {scalar!r}: ember {e.dtype}, torch {t.dtype}"
