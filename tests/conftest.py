"""Shared test helpers: a PyTorch handle for parity tests (skipped when torch is missing) and seeding."""
from __future__ import annotations

import numpy as np
import pytest

import ember


def pytest_collection_modifyitems(config, items):
    # every test in a parity module or using the torch fixture is marked 'parity'
    for item in items:
        if "torch" in getattr(item, "fixturenames", ()) or "parity" in item.nodeid.split("::")[0]:
            item.add_marker(pytest.mark.parity)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _seed():
    ember.manual_seed(0)
    np.random.seed(0)
    yield
