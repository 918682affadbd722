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
