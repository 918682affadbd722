"""Assertions shared by the tests."""
from __future__ import annotations

import numpy as np


def assert_close(actual, expected, rtol=1e-4, atol=1e-5, what="value"):
    """Compare an ember/torch/numpy value with float32 tolerance, with a readable message."""
    a = np.asarray(actual.detach().numpy() if hasattr(actual, "detach") else actual, dtype=np.float64)
    e = np.asarray(expected.detach().numpy() if hasattr(expected, "detach") else expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=what)
