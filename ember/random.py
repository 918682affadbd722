"""Random number generation: ember's global generator (``ember.manual_seed``) and explicit :class:`Generator`\\ s.

Everything random in ember (initialisation, dropout, shuffling, augmentation) draws from a NumPy
``PCG64`` generator. The global one is ``default_generator``; a :class:`Generator` of your own,
passed as ``generator=`` (``random_split``, the DataLoader, the samplers), gives a stream that
other draws cannot disturb, as in PyTorch. The numbers differ from PyTorch's (another
algorithm); the reproducibility guarantees are the same.
"""
from __future__ import annotations

import contextlib
import os
import threading

import numpy as np

_DEFAULT_SEED = 67280421310721  # what PyTorch's Generator() reports before manual_seed
_U64 = 2**64
_STATE_BYTES = 8 + 16 + 16 + 1 + 4  # seed, PCG64 state, increment, has_uint32, uinteger


def _pcg(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__} {seed!r}")
    if not -(2**63) <= int(seed) < _U64:
        raise ValueError(f"seed must be in [-2**63, 2**64), got {seed}")
    return int(seed) % _U64  # PyTorch reads negative seeds as their unsigned 64-bit value


class Generator:
    """A random stream of its own: ``g = ember.Generator().manual_seed(42)``, then ``generator=g``.

    ``get_state()`` is a uint8 tensor (like PyTorch's ByteTensor) that ``set_state`` takes back,
    so a checkpoint can hold it next to the weights.
    """

    def __init__(self, device: str = "cpu") -> None:
        if str(device) != "cpu":
            raise ValueError(f"ember generators live on the CPU; got device={device!r}")
        self.device = "cpu"
        self._seed = _DEFAULT_SEED
        self._rng = _pcg(self._seed)

    def manual_seed(self, seed: int) -> "Generator":
        """Restart the stream from ``seed``; returns the generator, so it chains into ``Generator().manual_seed(0)``."""
        self._seed = _check_seed(seed)
        self._rng = _pcg(self._seed)
        return self

    def seed(self) -> int:
        """Seed from the operating system's entropy (a non-reproducible stream); returns that seed."""
        value = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The whole state (seed and position in the stream) as a 1-D uint8 tensor."""
        from ember.tensor import Tensor

        st = self._rng.bit_generator.state
        raw = (self._seed.to_bytes(8, "little") + st["state"]["state"].to_bytes(16, "little")
               + st["state"]["inc"].to_bytes(16, "little") + bytes([st["has_uint32"]])
               + int(st["uinteger"]).to_bytes(4, "little"))
        return Tensor._wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state) -> "Generator":
        """Go back to a state from :meth:`get_state` (of this or another Generator)."""
        from ember.tensor import Tensor

        a = new_state.array if isinstance(new_state, Tensor) else new_state
        if not isinstance(a, np.ndarray) or a.dtype != np.uint8:
            raise TypeError(f"set_state expects the uint8 tensor get_state() returns, got "
                            f"{getattr(a, 'dtype', type(a).__name__)}")
        if a.shape != (_STATE_BYTES,):
            raise ValueError(f"not a Generator state: expected {_STATE_BYTES} bytes, got shape {tuple(a.shape)}")
        raw = a.tobytes()
        rng = _pcg(0)
        rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[8:24], "little"), "inc": int.from_bytes(raw[24:40], "little")},
            "has_uint32": raw[40], "uinteger": int.from_bytes(raw[41:45], "little"),
        }
        self._seed, self._rng = int.from_bytes(raw[:8], "little"), rng
        return self


default_generator = Generator().manual_seed(0)  # ember's global stream (PyTorch's torch.default_generator)


def manual_seed(seed: int) -> Generator:
    """Reseed the global generator; the same seed gives the same initial weights, masks and batches."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the global generator from the operating system's entropy; returns that seed (``torch.seed()``)."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


_drawing = threading.local()  # .rng: a stream that replaces the global one in this thread (see drawing_from)


def _current() -> np.random.Generator:
    rng = getattr(_drawing, "rng", None)
    return default_generator._rng if rng is None else rng


def generator() -> np.random.Generator:
    """The global generator's NumPy stream (what ember's own code draws from), or the stream this thread was
    given by :func:`drawing_from`."""
    return _current()


@contextlib.contextmanager
def drawing_from(rng: np.random.Generator):
    """Inside the block, this thread's draws from the global generator come from ``rng`` instead. The
    DataLoader reads each batch's samples this way, so random per-sample transforms get a stream that
    depends on (seed, epoch, batch) only — the same with any number of worker threads."""
    prev = getattr(_drawing, "rng", None)
    _drawing.rng = rng
    try:
        yield rng
    finally:
        _drawing.rng = prev


def numpy_rng(generator: "Generator | np.random.Generator | None" = None) -> np.random.Generator:
    """The NumPy stream behind a ``generator=`` argument: the global one for None.

    The one place that interprets ``generator=``, so every API taking it accepts the same things.
    """
    if generator is None:
        return _current()  # the global stream, or this thread's replacement
    if isinstance(generator, Generator):
        return generator._rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"generator must be an ember.Generator (or None for the global one), "
                    f"got {type(generator).__name__}")


def get_rng_state() -> dict:
    """The global generator's full state as plain JSON-able data (for checkpoints)."""
    return default_generator._rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    default_generator._rng.bit_generator.state = state
