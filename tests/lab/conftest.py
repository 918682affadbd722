"""Fixtures for the lab tests: each experiment runs once (quick) per test session and its result is shared."""
from __future__ import annotations

import pytest

import ember.lab

_RESULTS: dict = {}


@pytest.fixture
def lab_result(tmp_path_factory):
    """``lab_result(name)`` runs experiment ``name`` with quick=True (once per session) and returns its dict."""

    def get(name: str) -> dict:
        if name not in _RESULTS:
            out = tmp_path_factory.mktemp(f"lab-{name}")
            _RESULTS[name] = ember.lab.run(name, out, quick=True)
        return _RESULTS[name]

    return get
