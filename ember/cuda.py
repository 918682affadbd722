"""``ember.cuda``: the answers PyTorch scripts ask for before choosing a device. ember has no GPU backend,
so nothing is available; the seeding and cache calls scripts make unconditionally are harmless no-ops."""
from __future__ import annotations

from ember import amp  # noqa: F401  (ember.cuda.amp.GradScaler / autocast: PyTorch's older spelling)


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def manual_seed(seed: int) -> None:
    """No CUDA generator to seed (``ember.manual_seed`` seeds ember's one generator)."""


manual_seed_all = manual_seed


def synchronize(device=None) -> None:
    """Nothing runs asynchronously on the CPU."""


def empty_cache() -> None:
    """No device memory is cached."""


def current_device() -> int:
    raise RuntimeError("ember runs on the CPU only: there is no current CUDA device (ember.cuda.is_available() "
                       "is False)")
