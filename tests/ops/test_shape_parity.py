"""PyTorch parity for the shape ops: forward values and input gradients, float32, rtol 1e-4, atol 1e-5.

Every case of ``cases.SHAPE`` runs twice: on contiguous inputs, and with ember reading
non-contiguous views of the same values (PyTorch gets contiguous copies).
"""
from __future__ import annotations

import pytest

from tests.ops.cases import SHAPE
from tests.ops.harness import check_parity

PARITY = [c for c in SHAPE if c.parity]


@pytest.mark.parametrize("noncontig", [False, True], ids=["contiguous", "noncontiguous"])
@pytest.mark.parametrize("case", PARITY, ids=[c.id for c in PARITY])
def test_matches_pytorch(case, noncontig, torch):
    check_parity(case, torch, noncontig)
