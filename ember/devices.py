"""``ember.device``: PyTorch's device boilerplate, on a framework that runs on the CPU only.

Scripts written for PyTorch pick a device once (``torch.device("cuda" if torch.cuda.is_available() else
"cpu")``) and pass it everywhere. ember accepts the CPU in every spelling PyTorch does and refuses any
other device with an error that says why, instead of silently computing somewhere the user did not ask for.
"""
from __future__ import annotations

_KNOWN = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "ipu", "hpu", "mtia", "vulkan", "privateuseone")


class device(str):
    """A device name that is always ``'cpu'``.

    It is a ``str`` so that every place that already accepts ``'cpu'`` (``Module.to``, ``ember.load``'s
    ``map_location``, comparisons in user code) accepts a device too, and so that ``str(device)`` is
    ``'cpu'`` as in PyTorch.
    """

    __slots__ = ()

    def __new__(cls, type: "str | device" = "cpu", index: int | None = None) -> "device":  # noqa: A002
        if isinstance(type, device):
            return type
        if not isinstance(type, str):
            raise TypeError(f"device() expects a device string such as 'cpu', got {type!r}")
        name, _, idx = type.partition(":")
        if name not in _KNOWN:
            raise RuntimeError(f"unknown device type {type!r}; valid device types are: {', '.join(_KNOWN)}")
        if name != "cpu":
            raise RuntimeError(f"ember runs on the CPU only; device {type!r} is not available "
                               "(use 'cpu', or ember.cuda.is_available() to choose it)")
        if idx and not (idx.isdigit() and int(idx) == 0) or index not in (None, 0):
            raise RuntimeError(f"ember has one CPU device (index 0 or none); got {type!r} with index {index!r}")
        return CPU

    @property
    def type(self) -> str:
        return "cpu"

    @property
    def index(self) -> None:
        return None

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __reduce__(self):
        return (device, ("cpu",))


CPU = str.__new__(device, "cpu")


def check(dev) -> None:
    """Accept None or any spelling of the CPU; anything else is device()'s error."""
    if dev is None or dev is CPU:
        return
    if isinstance(dev, int) and not isinstance(dev, bool):  # torch.zeros(3, device=0) means cuda:0
        raise RuntimeError(f"ember runs on the CPU only; device index {dev} names a CUDA device")
    device(dev)
