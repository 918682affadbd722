"""ember.random: the global generator and explicit Generators (seeding, state round trips, PyTorch's API)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.random as R
from ember.random import Generator


def test_manual_seed_chains_and_restarts_the_stream():
    g = Generator()
    assert g.initial_seed() == 67280421310721  # PyTorch's default before manual_seed
    assert g.manual_seed(42) is g and g.initial_seed() == 42
    a = R.numpy_rng(g).random(5)
    assert np.array_equal(R.numpy_rng(Generator().manual_seed(42)).random(5), a)
    assert not np.array_equal(R.numpy_rng(Generator().manual_seed(43)).random(5), a)
    assert Generator().manual_seed(-1).initial_seed() == 2**64 - 1  # as PyTorch reads negative seeds


def test_state_round_trip_replays_the_stream():
    g = Generator().manual_seed(7)
    R.numpy_rng(g).random(3)
    state = g.get_state()
    assert isinstance(state, ember.Tensor) and state.dtype == np.uint8 and state.ndim == 1
    first = R.numpy_rng(g).random(4)
    other = Generator().set_state(state)
    assert np.array_equal(R.numpy_rng(other).random(4), first) and other.initial_seed() == 7
    g.set_state(state)
    assert np.array_equal(R.numpy_rng(g).random(4), first)


def test_seed_is_fresh_and_reported():
    g = Generator()
    s = g.seed()
    assert g.initial_seed() == s and isinstance(s, int)
    assert np.array_equal(R.numpy_rng(Generator().manual_seed(s)).random(2), R.numpy_rng(g).random(2))


def test_the_global_generator_is_a_generator_too():
    assert ember.Generator is Generator
    assert ember.manual_seed(5) is R.default_generator and ember.initial_seed() == 5
    a = ember.randn(3).array
    ember.manual_seed(5)
    assert np.array_equal(ember.randn(3).array, a)
    assert R.numpy_rng(None) is R.generator()
    state = R.get_rng_state()
    b = R.generator().random(2)
    R.set_rng_state(state)
    assert np.array_equal(R.generator().random(2), b)


@pytest.mark.parametrize("call,error,match", [
    (lambda: Generator().manual_seed(1.5), TypeError, "seed must be an integer"),
    (lambda: Generator().manual_seed(2**64), ValueError, "seed must be in"),
    (lambda: Generator(device="cuda"), ValueError, "CPU"),
    (lambda: Generator().set_state(ember.tensor([1.0, 2.0])), TypeError, "uint8"),
    (lambda: Generator().set_state(ember.zeros(3, dtype=ember.uint8)), ValueError, "expected 45 bytes"),
    (lambda: R.numpy_rng(3), TypeError, "ember.Generator"),
])
def test_bad_use_is_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()
