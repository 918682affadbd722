"""``ember.backends``: the accelerator flags PyTorch scripts read or set (``torch.backends.mps.is_available()``,
``torch.backends.cudnn.benchmark = True``). ember runs on the CPU, so none is available and setting a flag
changes nothing."""
from __future__ import annotations

from types import SimpleNamespace


def _false() -> bool:
    return False


mps = SimpleNamespace(is_available=_false, is_built=_false)
cudnn = SimpleNamespace(is_available=_false, enabled=True, benchmark=False, deterministic=False,
                        allow_tf32=False)
cuda = SimpleNamespace(is_built=_false, matmul=SimpleNamespace(allow_tf32=False))

_deterministic = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """PyTorch's switch to deterministic kernels (``torch.use_deterministic_algorithms(True)``). ember's kernels
    already give the same result on every run, so this only records the setting for the queries below."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms expects a bool, got {type(mode).__name__}")
    _deterministic.update(mode=mode, warn_only=bool(warn_only))


def are_deterministic_algorithms_enabled() -> bool:
    return _deterministic["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _deterministic["warn_only"]
