"""PyTorch parity for the shape ops: forward values and input gradients, float32, rtol 1e-4, atol 1e-5.

Every case of ``cases.SHAPE`` runs twice: on contiguous inputs, and with ember reading
non-contiguous views of the same values (PyTorch gets contiguous copies).
"""
from __future__ import annotations

import pytest

import ember

from tests.ops.cases import SHAPE
from tests.ops.harness import check_parity

PARITY = [c for c in SHAPE if c.parity]


@pytest.mark.parametrize("noncontig", [False, True], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("case", PARITY, ids=[c.id for c in PARITY])
def test_matches_pytorch(case, noncontig, torch):
    check_parity(case, torch, noncontig)


@pytest.mark.parametrize("make", [
    lambda lib: lib.cat([lib.tensor([1.0, 2.0]), lib.tensor([3, 4])]),
    lambda lib: lib.cat([lib.tensor([1, 2], dtype=lib.int32), lib.tensor([3, 4])]),
    lambda lib: lib.stack([lib.tensor([True]), lib.tensor([3])]),
    lambda lib: lib.stack([lib.tensor([1.0], dtype=lib.float64), lib.tensor([2.0])]),
], ids=["float32+int64", "int32+int64", "bool+int64", "float64+float32"])
def test_cat_and_stack_promote_mixed_dtypes_like_pytorch(make, torch):
    e, t = make(ember), make(torch)
    assert e.dtype.name == str(t.dtype).replace("torch.", "")
    assert e.tolist() == t.tolist()
