"""``ember.accelerator``: PyTorch's device-agnostic accelerator queries (``torch.accelerator.is_available()``,
``current_accelerator()``), which newer scripts ask before choosing a device. ember runs on the CPU, which
PyTorch does not count as an accelerator: none is available and ``current_accelerator()`` is None."""
from __future__ import annotations


def is_available() -> bool:
    return False


def device_count() -> int:
    return 0


def current_accelerator(check_available: bool = False):
    """The accelerator's device type, or None when there is none (always, on ember)."""
    return None


def _none_available(*args, **kwargs):
    raise RuntimeError("ember runs on the CPU only, which is no accelerator: there is no accelerator device "
                       "to access (ember.accelerator.is_available() is False)")


# like PyTorch's without an accelerator, these refuse rather than pretend
current_device_index = current_device_idx = synchronize = empty_cache = _none_available
