"""One global random generator, seeded by ``ember.manual_seed``; init, dropout and shuffling draw from it."""
from __future__ import annotations

import numpy as np

_gen = np.random.Generator(np.random.PCG64(0))
_seed = 0


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator; the same seed gives the same initial weights, masks and batches."""
    global _gen, _seed
    _seed = int(seed)
    _gen = np.random.Generator(np.random.PCG64(_seed))
    return _gen


seed = manual_seed


def initial_seed() -> int:
    return _seed


def generator() -> np.random.Generator:
    return _gen


def get_rng_state() -> dict:
    """The generator's full state as plain JSON-able data (for checkpoints)."""
    return _gen.bit_generator.state


def set_rng_state(state: dict) -> None:
    _gen.bit_generator.state = state
