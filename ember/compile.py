"""``ember.compile`` and the float32 matmul-precision switch: PyTorch's speed knobs, accepted so scripts run.

``torch.compile`` traces a model into fused kernels; ``torch.set_float32_matmul_precision('high')`` lets
float32 matrix products use TensorFloat-32 or bfloat16 internally. ember has no compiler and its products
are NumPy's float32 BLAS calls, so neither can change anything here. Both still check their arguments as
PyTorch does, so a typo in a script fails here as it would there, and ``compile`` hands back the very
module or function it was given (calls, ``state_dict`` keys and attributes stay those of the original).
"""
from __future__ import annotations

from typing import Any, Callable

__all__ = ["compile", "set_float32_matmul_precision", "get_float32_matmul_precision"]

_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
_PRECISIONS = ("highest", "high", "medium")
_precision = "highest"


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,  # noqa: A001
            backend: str | Callable = "inductor", mode: str | None = None, options: dict[str, Any] | None = None,
            name: str | None = None, disable: bool = False) -> Callable:
    """``torch.compile``: returns ``model`` (a Module or a function) unchanged, since ember has no compiler.

    Like PyTorch's it works called (``model = ember.compile(model)``) and as a decorator, bare
    (``@ember.compile``) or with arguments (``@ember.compile(mode="max-autotune")``). The arguments are
    validated as PyTorch validates them; their values have no effect.
    """
    if mode is not None:
        if not isinstance(mode, str) or mode not in _MODES:
            raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
        if options is not None:
            raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same "
                               "time.")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"compile(options=...) must be a dict, got {type(options).__name__}")
    if not (isinstance(backend, str) or callable(backend)):
        raise TypeError(f"compile(backend=...) must be a backend name or a callable, got {type(backend).__name__}")

    def decorate(fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"compile expects a callable (a Module or a function), got {type(fn).__name__}")
        return fn

    return decorate if model is None else decorate(model)


def set_float32_matmul_precision(precision: str) -> None:
    """Remember the requested float32 matmul precision ('highest', 'high' or 'medium'). ember's float32
    products are always computed in full float32 ('highest'), whatever is set; the value is only reported
    back by :func:`get_float32_matmul_precision`, as scripts and loggers read it."""
    global _precision
    if not isinstance(precision, str):
        raise TypeError(f"set_float32_matmul_precision expects a str, but got {type(precision).__name__}")
    if precision not in _PRECISIONS:
        raise ValueError(f"set_float32_matmul_precision: {precision!r} is not one of 'highest', 'high' or "
                         "'medium'")
    _precision = precision


def get_float32_matmul_precision() -> str:
    """The precision last set with :func:`set_float32_matmul_precision` ('highest' until then)."""
    return _precision
