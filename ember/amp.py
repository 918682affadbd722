"""``ember.amp``: PyTorch's mixed-precision boilerplate (``autocast``, ``GradScaler``) on a framework that computes
in each tensor's own dtype.

Automatic mixed precision runs chosen ops in float16/bfloat16 on GPUs (or bfloat16 on some CPUs) and scales the
loss so small float16 gradients do not underflow. ember has neither a GPU nor NumPy bfloat16, so both are
accepted and do nothing, as PyTorch's own do when the device they were asked for is missing: ``autocast``
leaves every op in its input's dtype and ``GradScaler`` is disabled (scale 1, ``step`` is ``optimizer.step()``).
A script written for AMP therefore runs unchanged, in float32; ``autocast(dtype=ember.bfloat16)`` included
(``ember.bfloat16`` exists as a name for this, though no tensor can have that dtype: see ember/dtypes.py).
"""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

__all__ = ["autocast", "GradScaler", "is_autocast_available"]

_warned: set = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


def is_autocast_available(device_type: str) -> bool:
    return False


class autocast:
    """``with ember.autocast(device_type, dtype=None, enabled=True):`` — a no-op: ops keep their inputs' dtype.
    Enabled, it warns once that nothing is cast (PyTorch warns likewise when the device is missing)."""

    def __init__(self, device_type: str = "cpu", dtype: Any = None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        self.device_type, self.dtype, self.enabled = device_type, dtype, bool(enabled)
        if self.enabled:
            _warn_once("autocast", f"autocast(device_type={device_type!r}) does nothing in ember: every op runs in "
                                   "its inputs' dtype (float32 unless you chose otherwise)")

    def __enter__(self) -> "autocast":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return wrapper


class GradScaler:
    """PyTorch's loss scaler, always disabled: there are no float16 gradients to protect from underflow.
    ``scale(loss)`` returns the loss, ``step(optimizer)`` runs ``optimizer.step()``, ``update`` and
    ``unscale_`` do nothing, ``get_scale()`` is 1.0."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True) -> None:
        if enabled:
            _warn_once("scaler", "GradScaler is disabled in ember: gradients are float32, nothing needs scaling")

    def scale(self, outputs):
        return outputs

    def unscale_(self, optimizer) -> None:
        return None

    def step(self, optimizer, *args, **kwargs):
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        return None

    def get_scale(self) -> float:
        return 1.0

    def is_enabled(self) -> bool:
        return False

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state_dict: dict) -> None:
        return None
