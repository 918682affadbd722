"""The Tensor and the graph it records.

A :class:`Tensor` wraps a NumPy array. When an op is applied to tensors that
require gradients (and grad mode is on), the op's :class:`Function` instance is
stored on the output as ``_ctx``: it remembers its input tensors and whatever it
saved during ``forward``. ``backward()`` sorts the recorded graph topologically
(iteratively, so a chain of any length works), then walks it in reverse, calling
each node's ``backward`` and accumulating the gradients it returns.
"""
from __future__ import annotations

import collections
import functools
import sys
import threading
import weakref
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ember import devices as _devices
from ember import dtypes as _dt

# --------------------------------------------------------------------------- grad mode


class _GradState(threading.local):
    grad_enabled = True  # class default: every new thread starts with grad mode on
    detect_anomaly = False  # ember.autograd.set_detect_anomaly: check every gradient for nan/inf
    capture = None  # the running backward sweep's ``capture`` dict (see backward_graph), for nodes that sweep again


_state = _GradState()


def is_grad_enabled() -> bool:
    return _state.grad_enabled


def _set_grad_enabled(mode: bool) -> None:
    _state.grad_enabled = bool(mode)


class _GradMode:
    """Base of the grad-mode switches: a context manager and a decorator.

    As a decorator every call enters a fresh context, so recursive and concurrent
    calls each restore exactly the mode they found.
    """

    mode = True

    def __init__(self):
        self._prev: list[bool] = []

    def __enter__(self):
        self._prev.append(is_grad_enabled())
        _set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc):
        _set_grad_enabled(self._prev.pop())
        return False

    def _fresh(self) -> "_GradMode":
        ctx = object.__new__(type(self))
        ctx._prev = []
        ctx.mode = self.mode
        return ctx

    def __call__(self, func: Callable) -> Callable:
        if not callable(func):
            raise TypeError(f"{type(self).__name__} decorates a function, got {type(func).__name__}")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self._fresh():
                return func(*args, **kwargs)

        return wrapper


class _FixedGradMode(_GradMode):
    """A mode set by the class; usable as ``@cls()`` or bare ``@cls`` (then the function arrives here)."""

    def __new__(cls, orig_func: Callable | None = None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def __init__(self, orig_func: Callable | None = None):
        super().__init__()


class no_grad(_FixedGradMode):
    """Context manager and decorator (``@no_grad()`` or bare ``@no_grad``): ops inside record no graph."""

    mode = False


class enable_grad(_FixedGradMode):
    """Context manager and decorator (``@enable_grad()`` or bare): record the graph even inside no_grad."""

    mode = True


class inference_mode(_GradMode):
    """``torch.inference_mode``: ember has no separate inference tensors, so this is :class:`no_grad`
    (``inference_mode(False)`` leaves grad mode as it is). Context manager and decorator, bare or called."""

    def __new__(cls, mode=True):
        if callable(mode):  # bare @inference_mode
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        super().__init__()
        self._off = not mode

    def __enter__(self):
        self._prev.append(is_grad_enabled())
        if not self._off:
            _set_grad_enabled(False)
        return self

    def _fresh(self) -> "_GradMode":
        ctx = super()._fresh()
        ctx._off = self._off
        return ctx


class set_grad_enabled(_GradMode):
    """``set_grad_enabled(False)`` switches grad mode at once (like PyTorch); as a context manager or
    decorator the previous mode comes back afterwards."""

    _outer: bool | None = None  # the mode found by __init__, until a ``with`` takes it over

    def __init__(self, mode: bool):
        super().__init__()
        self.mode = bool(mode)
        self._outer = is_grad_enabled()
        _set_grad_enabled(self.mode)

    def __enter__(self):
        prev = is_grad_enabled() if self._outer is None else self._outer
        self._outer = None
        self._prev.append(prev)
        _set_grad_enabled(self.mode)
        return self

    def __call__(self, func: Callable) -> Callable:
        if self._outer is not None:  # used as a decorator: undo the switch made at decoration time
            _set_grad_enabled(self._outer)
            self._outer = None
        return super().__call__(func)


# --------------------------------------------------------------------------- Function


class Function:
    """One node of the graph: ``forward`` on arrays, ``backward`` on the output gradient.

    Subclasses implement ``forward(self, *arrays, **kwargs) -> ndarray`` and
    ``backward(self, grad) -> tuple`` returning one gradient (or ``None``) per
    tensor input. ``self.needs_input_grad`` tells backward which ones are wanted.
    """

    __slots__ = ("parents", "needs_input_grad", "saved", "__dict__")
    versions = None  # the inputs' versions when recorded, kept only when one had been assigned into (x[i] = v)
    epoch = None  # _inplace_log.epoch when recorded: in-place changes logged since then are checked at backward

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs) -> "Tensor":
        """Run ``forward`` on the inputs' arrays; record the node when an input requires grad and grad mode is on.

        ``parents`` holds the tensor inputs in order (``None`` for non-tensor arguments). This is the hot path
        of every op, so it is one plain loop.
        """
        ctx = cls()
        arrays = []
        needs = []
        parents = []
        record = versioned = False
        for x in inputs:
            if isinstance(x, Tensor):
                arrays.append(x.array)
                parents.append(x)
                if x._version:
                    versioned = True
                if x.requires_grad:
                    needs.append(True)
                    record = True
                else:
                    needs.append(False)
            else:
                arrays.append(x)
                parents.append(None)
                needs.append(False)
        record = record and _state.grad_enabled
        # when nothing is recorded no gradient will be asked for: forward may skip saving for backward
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        data = ctx.forward(*arrays, **kwargs)
        out = _new_tensor(Tensor)  # Tensor._wrap, inlined
        out.array = data if isinstance(data, np.ndarray) else np.asarray(data)
        out.requires_grad = False
        out.grad = None
        out._ctx = None
        out._hooks = None
        out._retain = False
        out._version = 0
        if record:
            ctx.parents = parents
            ctx.epoch = _inplace_log.epoch
            if versioned:
                ctx.versions = tuple(0 if p is None else p._version for p in parents)
            out.requires_grad = True
            out._ctx = ctx
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward object at {id(self):#x}>"

    @property
    def next_functions(self) -> tuple:
        """PyTorch's walk down the graph (``loss.grad_fn.next_functions[0][0]``): one ``(node, 0)`` per tensor
        input, the node that made it, an ``AccumulateGrad`` for a leaf that requires grad, or None. Empty once
        backward has freed the graph."""
        return tuple((_grad_node(p), 0) for p in (getattr(self, "parents", None) or ()) if p is not None)


class AccumulateGrad:
    """The graph's end at a leaf that requires grad (PyTorch's name); ``variable`` is the leaf."""

    __slots__ = ("variable",)
    next_functions = ()

    def __init__(self, variable: "Tensor"):
        self.variable = variable

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


def _grad_node(t: "Tensor"):
    return t._ctx if t._ctx is not None else AccumulateGrad(t) if t.requires_grad else None


_new_tensor = object.__new__  # Tensor.__new__, looked up once for the hot path in Function.apply


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


# --------------------------------------------------------------------------- Tensor


def _init_args(args: tuple, dtype, requires_grad) -> tuple:
    """``Tensor(...)``'s positional arguments as (data, dtype, requires_grad): sizes (two or more ints, or one
    ember.Size) and no arguments make a zero-filled array; otherwise (data[, dtype[, requires_grad]])."""
    if len(args) == 1 and not isinstance(args[0], tuple):
        return args[0], dtype, requires_grad
    shape = None
    if not args:
        shape = (0,)
    elif len(args) >= 2 and all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        shape = tuple(int(a) for a in args)
    elif len(args) == 1:
        from ember.legacy import Size

        if isinstance(args[0], Size):
            shape = tuple(int(a) for a in args[0])
    if shape is not None:
        return np.zeros(shape, _dt.resolve(dtype)), None, requires_grad
    if len(args) > 3:
        raise TypeError(f"Tensor() takes data (with an optional dtype and requires_grad) or sizes (ints), got {args!r}")
    if len(args) >= 2:
        if dtype is not None:
            raise TypeError("Tensor() got multiple values for argument 'dtype'")
        dtype = args[1]
    if len(args) == 3:
        requires_grad = args[2]
    return args[0], dtype, requires_grad


class Tensor:
    """An n-dimensional array that can record the operations applied to it."""

    __slots__ = ("array", "requires_grad", "grad", "_ctx", "_hooks", "_retain", "_version", "name", "_unwatched",
                 "__weakref__")
    __array_priority__ = 1000  # make ndarray + Tensor defer to Tensor.__radd__

    def __init__(self, *args: Any, dtype=None, requires_grad: bool = False):
        """``Tensor(data)`` (an array is used as it is, no copy; also ``Tensor(data, dtype, requires_grad)``).
        PyTorch's legacy forms: ``Tensor(2, 3)`` and ``Tensor(ember.Size([2, 3]))`` are zero-filled tensors of
        that shape in the default float dtype, ``Tensor()`` an empty one; a single number stays a 0-d tensor of
        that value (``Tensor(5)`` is not PyTorch's five uninitialised values)."""
        data, dtype, requires_grad = _init_args(args, dtype, requires_grad)
        if isinstance(data, Tensor):
            data = data.array
        self.array = _dt.as_array(data, dtype)
        self.requires_grad = False
        self.grad: Tensor | None = None
        self._ctx: Function | None = None
        self._hooks: list | None = None
        self._retain = False
        self._version = 0  # how many times x[i] = v was recorded on this tensor (see __setitem__)
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: np.ndarray) -> "Tensor":
        """Fast constructor for op outputs: no dtype conversion."""
        t = cls.__new__(cls)
        t.array = array if isinstance(array, np.ndarray) else np.asarray(array)
        t.requires_grad = False
        t.grad = None
        t._ctx = None
        t._hooks = None
        t._retain = False
        t._version = 0
        return t

    # ----------------------------------------------------------------- the values
    # ``array`` (a slot) is the NumPy array that holds the values: ember's own code works on it directly.

    @property
    def data(self) -> "Tensor":
        """The values as a tensor outside the graph (PyTorch's ``.data``): it shares memory with this one and
        does not require grad, so ``p.data.normal_(0, 0.02)`` or ``p.data.copy_(q.data)`` change ``p``
        without being recorded. Assigning a tensor (or an array) replaces the values, shape and dtype
        included. The raw NumPy array is ``.array``. As in PyTorch, in-place changes made through it are not
        checked against the values a recorded graph saved (see ``note_inplace``)."""
        t = Tensor._wrap(self.array)
        t._unwatched = True
        return t

    @data.setter
    def data(self, value) -> None:
        if isinstance(value, Tensor):
            value = value.array
        elif not isinstance(value, np.ndarray):
            raise TypeError(f"Tensor.data must be set to a tensor or a NumPy array, got {type(value).__name__}")
        self.array = value

    # ----------------------------------------------------------------- basic properties
    @property
    def shape(self) -> tuple:
        return self.array.shape

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def dim(self) -> int:
        return self.array.ndim

    def size(self, dim: int | None = None):
        return self.array.shape if dim is None else self.array.shape[dim]

    def numel(self) -> int:
        return int(self.array.size)

    @property
    def nbytes(self) -> int:
        """Bytes the elements take: numel() · itemsize."""
        return int(self.array.size) * self.array.itemsize

    @property
    def itemsize(self) -> int:
        """Bytes per element (``element_size()``)."""
        return self.array.itemsize

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def device(self) -> "_devices.device":
        return _devices.CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def get_device(self) -> int:
        return -1  # PyTorch's answer for a CPU tensor

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # identity hash (C-level, fast): tensors key the gradient table in backward; == is elementwise
    __hash__ = object.__hash__

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.array.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.array)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __format__(self, format_spec: str) -> str:
        # PyTorch's: a 0-d tensor formats as its Python number (f"{acc:.4f}"); others only with an empty spec
        if self.array.ndim == 0:
            return self.array.item().__format__(format_spec)
        return object.__format__(self, format_spec)

    def __index__(self):
        if self.array.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.array)

    def __array__(self, dtype=None, copy=None):
        return self.array if dtype is None else self.array.astype(dtype)

    # ----------------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError("can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()")
        return self.array

    def item(self):
        if self.array.size != 1:
            raise ValueError(f"only one-element tensors can be converted to a Python scalar, got shape {self.shape}")
        return self.array.reshape(()).item()

    def tolist(self):
        return self.array.tolist()

    def detach(self) -> "Tensor":
        return Tensor._wrap(self.array)

    def detach_(self) -> "Tensor":
        """Cut this tensor from the graph in place: it becomes a leaf that does not require grad."""
        self._ctx = None
        self.requires_grad = False
        return self

    def clone(self) -> "Tensor":
        from ember.ops import shape as _s

        return _s.Clone.apply(self)

    def to(self, *args, **kwargs) -> "Tensor":
        """``x.to(device)``, ``x.to(dtype)``, ``x.to(device, dtype)``, ``x.to(other)`` (its dtype) and the keyword
        forms; the device must be the CPU. ``copy=True`` returns a copy even when nothing changes."""
        dtype = kwargs.pop("dtype", None)
        _devices.check(kwargs.pop("device", None))
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}; valid ones are dtype, "
                            "device, non_blocking, copy, memory_format")
        for a in args:
            if isinstance(a, Tensor):
                a = a.array.dtype
            elif isinstance(a, str) and not _dt.is_dtype_name(a) or isinstance(a, int) and not isinstance(a, bool):
                _devices.check(a)
                continue
            if a is not None:
                dtype = a
        out = self if dtype is None else self.type(dtype)
        return out.clone() if copy and out is self else out

    def cpu(self) -> "Tensor":
        return self

    def cuda(self, *args, **kwargs) -> "Tensor":
        raise RuntimeError("ember runs on the CPU only: there is no CUDA device (ember.cuda.is_available() is "
                           "False); use x.to(device) with device = ember.device('cpu')")

    def pin_memory(self) -> "Tensor":
        return self  # nothing to pin: there is no device to copy to

    def is_pinned(self) -> bool:
        return False

    def type(self, dtype=None):
        """``x.type(dtype)`` casts (dtypes, their names, or PyTorch's type names such as 'torch.LongTensor');
        ``x.type()`` returns the type name, e.g. 'ember.FloatTensor'."""
        from ember.ops import arithmetic as _a

        if dtype is None:
            return "ember." + _dt.tensor_type_name(self.array.dtype)
        dtype = _dt.resolve(dtype)
        if dtype == self.array.dtype:
            return self
        if dtype.kind != "f":  # integer and bool tensors carry no gradient
            return Tensor._wrap(self.array.astype(dtype))
        return _a.Cast.apply(self, dtype=dtype)

    def float(self):
        return self.type(np.float32)

    def double(self):
        return self.type(np.float64)

    def half(self):
        return self.type(np.float16)

    def bfloat16(self):
        return self.type(_dt.bfloat16)  # an error naming the reason: NumPy has no bfloat16

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.type(other.array.dtype)

    def long(self):
        return self.type(np.int64)

    def int(self):
        return self.type(np.int32)

    def bool(self):
        return self.type(np.bool_)

    def contiguous(self):
        return self

    def is_contiguous(self) -> bool:
        return True  # ember's ops accept any strides, so every tensor behaves as contiguous

    def element_size(self) -> int:
        return self.array.itemsize

    def is_floating_point(self) -> bool:
        return self.array.dtype.kind == "f"

    # ----------------------------------------------------------------- autograd API
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.array.dtype.kind != "f":
            raise RuntimeError(f"only floating point tensors can require gradients, got dtype {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) is only allowed on leaf tensors; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        self._retain = True

    def register_hook(self, hook: Callable[["Tensor"], "Tensor | None"]):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        hooks = self._hooks

        class _Handle:
            def remove(self_inner):
                if hook in hooks:
                    hooks.remove(hook)

        return _Handle()

    def backward(self, gradient: "Tensor | np.ndarray | None" = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: "Sequence[Tensor] | Tensor | None" = None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (only into the ``.grad`` of ``inputs`` when
        given). The graph is freed afterwards unless ``retain_graph``; ``create_graph`` (a differentiable
        backward, for higher-order gradients) is not supported: ember's backward works on arrays."""
        if create_graph:
            raise NotImplementedError("backward(create_graph=True): ember computes gradients on NumPy arrays, outside "
                                      "the graph, so higher-order gradients are not supported")
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        if gradient is None:
            if self.array.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; this tensor has shape "
                    f"{self.shape}: pass backward(gradient=...) with that shape"
                )
            g = np.ones_like(self.array)
        else:
            g = gradient.array if isinstance(gradient, Tensor) else np.asarray(gradient, dtype=self.dtype)
            if g.shape != self.shape:
                raise RuntimeError(f"gradient has shape {g.shape} but the tensor has shape {self.shape}")
        if inputs is None:
            backward_graph(self, g, bool(retain_graph))
            return
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if not inputs or not all(isinstance(t, Tensor) and t.requires_grad for t in inputs):
            raise RuntimeError("backward(inputs=...) takes a non-empty sequence of tensors that require grad")
        captured = dict.fromkeys(inputs)
        backward_graph(self, g, bool(retain_graph), capture=captured)
        for t, tg in captured.items():
            if tg is not None:
                t.grad = Tensor._wrap(tg) if t.grad is None else Tensor._wrap(t.grad.array + tg)

    def _check_inplace(self, op: str) -> None:
        """In-place ops are not recorded in the graph: refuse them on a tensor the graph tracks (PyTorch refuses
        them on leaves too), instead of silently corrupting saved values and losing a gradient path."""
        if self.requires_grad and _state.grad_enabled:
            kind = "a leaf tensor" if self._ctx is None else "a tensor in the autograd graph"
            raise RuntimeError(
                f"{op}: {kind} that requires grad cannot be modified in place (ember's graph does not record "
                "in-place ops); do it under ember.no_grad() or use the out-of-place op (x = x + y)")
        if not getattr(self, "_unwatched", False):
            note_inplace((self.array,), op)

    def zero_(self) -> "Tensor":
        self._check_inplace("zero_")
        self.array[...] = 0
        return self

    def fill_(self, value) -> "Tensor":
        self._check_inplace("fill_")
        self.array[...] = value.array if isinstance(value, Tensor) else value
        return self

    def copy_(self, src) -> "Tensor":
        self._check_inplace("copy_")
        src = src.array if isinstance(src, Tensor) else np.asarray(src)
        if src.shape != self.shape and np.broadcast_shapes(src.shape, self.shape) != self.shape:
            raise RuntimeError(f"copy_: source shape {src.shape} does not broadcast to {self.shape}")
        self.array[...] = src
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None) -> "Tensor":
        from ember import random as _r

        self._check_inplace("uniform_")
        self.array[...] = _r.numpy_rng(generator).uniform(a, b, self.shape)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None) -> "Tensor":
        from ember import random as _r

        self._check_inplace("normal_")
        self.array[...] = _r.numpy_rng(generator).normal(mean, std, self.shape)
        return self

    def add_(self, other, alpha: float = 1.0) -> "Tensor":
        self._check_inplace("add_")
        other = other.array if isinstance(other, Tensor) else other
        if alpha == 1.0:
            self.array += other
        else:
            self.array += alpha * other
        return self

    def sub_(self, other, alpha: float = 1.0) -> "Tensor":
        return self.add_(other, -alpha)

    def mul_(self, other) -> "Tensor":
        self._check_inplace("mul_")
        self.array *= other.array if isinstance(other, Tensor) else other
        return self

    def div_(self, other) -> "Tensor":
        self._check_inplace("div_")
        self.array /= other.array if isinstance(other, Tensor) else other
        return self

    def clamp_(self, min=None, max=None) -> "Tensor":
        self._check_inplace("clamp_")
        np.clip(self.array, min, max, out=self.array)
        return self

    # ----------------------------------------------------------------- new tensors like this one
    # PyTorch's new_* keep this tensor's dtype (and device) unless told otherwise: code written against an
    # input of unknown precision uses them to build matching buffers.

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> "Tensor":
        return zeros(*size, dtype=self.array.dtype if dtype is None else dtype, device=device,
                     requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False,
                 pin_memory: bool = False) -> "Tensor":
        return ones(*size, dtype=self.array.dtype if dtype is None else dtype, device=device,
                    requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> "Tensor":
        return empty(*size, dtype=self.array.dtype if dtype is None else dtype, device=device,
                     requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad: bool = False,
                 pin_memory: bool = False) -> "Tensor":
        return full(size, fill_value, dtype=self.array.dtype if dtype is None else dtype, device=device,
                    requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False,
                   pin_memory: bool = False) -> "Tensor":
        return tensor(data, dtype=self.array.dtype if dtype is None else dtype, device=device,
                      requires_grad=requires_grad)

    def __setitem__(self, index, value) -> None:
        """``x[index] = value``. Outside the graph it writes into x's array (views see it). When x or the value
        requires grad, it is recorded as PyTorch does, but as a new node: x takes the result (a new array) and
        the node, and the values x held before become that node's input; ops that read x earlier still send
        their gradient to that earlier state (PyTorch tracks the same with version counters). A leaf that
        requires grad cannot be assigned into (as in PyTorch), except under no_grad."""
        if isinstance(index, Tensor):
            index = index.array
        elif isinstance(index, tuple):
            index = tuple(i.array if isinstance(i, Tensor) else i for i in index)
        tracked = is_grad_enabled() and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad))
        if not tracked:
            self.array[index] = value.array if isinstance(value, Tensor) else value
            if not getattr(self, "_unwatched", False):
                note_inplace((self.array,), "x[index] = value")
            return
        if self.requires_grad and self._ctx is None:
            raise RuntimeError("a leaf tensor that requires grad cannot be assigned into in place; do it under "
                               "ember.no_grad(), or assign into a copy (y = x.clone(); y[i] = v)")
        from ember.ops.shape import SetItem

        if not isinstance(value, Tensor):
            value = Tensor._wrap(np.asarray(value, dtype=self.array.dtype))
        elif value.array.dtype != self.array.dtype:
            value = value.type(self.array.dtype)
        before = Tensor._wrap(self.array)  # what x was: the new node's input
        before.requires_grad, before._ctx = self.requires_grad, self._ctx
        out = SetItem.apply(before, value, index=index)
        # nodes that read x before keep reading that state: backward finds it by the version they recorded
        _record_state(self, before)
        self.array, self._ctx, self.requires_grad = out.array, out._ctx, True
        # the earlier state's values are not needed by any backward (each node saved what it reads): keep only
        # its shape and dtype, so a buffer filled row by row does not hold every earlier copy of itself
        before.array = np.broadcast_to(np.zeros((), self.array.dtype), self.array.shape)

    # ----------------------------------------------------------------- printing
    def __repr__(self) -> str:
        o = _print_options  # ember.set_printoptions
        fmt = None
        if o["sci_mode"] is not None and self.array.dtype.kind == "f":
            p = o["precision"]
            fmt = {"float_kind": (lambda v: f"{v:.{p}e}") if o["sci_mode"] else (lambda v: f"{v:.{p}f}")}
        body = np.array2string(self.array, separator=", ", precision=o["precision"], threshold=o["threshold"],
                               edgeitems=o["edgeitems"], max_line_width=o["linewidth"], formatter=fmt,
                               prefix="tensor(")
        extras = []
        if self.array.dtype != np.float32 and not (self.array.dtype == np.int64 and self.array.dtype.kind == "i"):
            extras.append(f"dtype=ember.{self.array.dtype.name}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{type(self._ctx).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


# --------------------------------------------------------------------------- print options


_PRINT_DEFAULTS = {"precision": 4, "threshold": 200, "edgeitems": 3, "linewidth": 75, "sci_mode": None}
_print_options = dict(_PRINT_DEFAULTS)


def set_printoptions(precision: int | None = None, threshold: int | None = None, edgeitems: int | None = None,
                     linewidth: int | None = None, profile: str | None = None, sci_mode: bool | None = None) -> None:
    """How tensors print (PyTorch's options): ``precision`` digits after the point, summarised (``...``) above
    ``threshold`` elements showing ``edgeitems`` at each end, lines of at most ``linewidth`` characters;
    ``sci_mode`` True/False forces/forbids scientific notation, None (the default, set by every call as in
    PyTorch) lets the printer choose. ``profile`` first resets: 'default' (ember's defaults: precision 4,
    threshold 200, edgeitems 3, linewidth 75), 'short' (precision 2, edgeitems 2) or 'full' (never
    summarised); the other arguments given then override it."""
    if profile is not None:
        if profile not in ("default", "short", "full"):
            raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', got {profile!r}")
        _print_options.update(_PRINT_DEFAULTS)
        if profile == "short":
            _print_options.update(precision=2, edgeitems=2)
        elif profile == "full":
            _print_options["threshold"] = sys.maxsize
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            if isinstance(value, float) and value == float("inf") and name == "threshold":
                value = sys.maxsize  # PyTorch's spelling of "never summarise"
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise TypeError(f"set_printoptions: {name} must be a non-negative int, got {value!r}")
            _print_options[name] = int(value)
    _print_options["sci_mode"] = None if sci_mode is None else bool(sci_mode)


def get_printoptions() -> dict:
    """The current print options (a copy), as set by :func:`set_printoptions`."""
    return dict(_print_options)


# --------------------------------------------------------------------------- backward


_FREED = (
    "trying to backward through the graph a second time (or through a graph whose buffers were freed by an "
    "earlier backward); pass retain_graph=True to the first backward() if you need to"
)


_earlier_states: dict[int, list[Tensor]] = {}
"""id of a tensor assigned into while recorded (``x[i] = v``) → its earlier states: entry k is x at version k.
(Keyed by id, with the entry dropped when the tensor dies: a WeakKeyDictionary would compare tensors with ==.)"""


def _record_state(t: Tensor, before: Tensor) -> None:
    states = _earlier_states.get(id(t))
    if states is None:
        states = _earlier_states[id(t)] = []
        weakref.finalize(t, _earlier_states.pop, id(t), None)
    states.append(before)
    t._version += 1


def _as_recorded(parents: list, versions: tuple | None) -> list:
    """A node's inputs as they were when it was recorded (``versions`` None: all at version 0): an input
    assigned into since then has moved on, and the node's gradient belongs to the state it read."""
    if versions is None:
        versions = (0,) * len(parents)
    return [p if p is None or p._version == v else _earlier_states[id(p)][v] for p, v in zip(parents, versions)]


class _InplaceLog:
    """In-place changes made outside the graph (``add_``, ``x[i] = v`` under no_grad, an optimizer's step, …),
    newest last, so that backward can refuse to use values a node saved and something changed afterwards:
    PyTorch's "modified by an inplace operation" error. PyTorch counts versions per tensor; ember compares
    memory instead (each changed array's owner), so a change through any view or ``detach()`` is caught, and a
    node that saved only values derived from its input (ReLU's mask) is not blamed. ``epoch`` counts the changes
    logged so far; a node records it, and only a node recorded before the newest change is checked. The log
    keeps the last ``SIZE`` changes (weakly): older ones are not checked."""

    SIZE = 4096

    def __init__(self) -> None:
        self.epoch = 0
        self.entries: collections.deque = collections.deque(maxlen=self.SIZE)  # (epoch, weakref to owner, what)


_inplace_log = _InplaceLog()


def _owner(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (a itself unless it is a view)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def note_inplace(arrays: Iterable[np.ndarray], what: str) -> None:
    """Log that ``arrays`` were just changed in place by ``what`` (an op's name, ``"SGD.step()"``, …), outside
    the graph. Code that writes into a tensor's ``.array`` that a graph may have saved calls this."""
    log, epoch = _inplace_log, _inplace_log.epoch
    for a in arrays:
        log.entries.append((epoch, weakref.ref(_owner(a)), what))
    if log.entries and log.entries[-1][0] == epoch:  # something was logged
        log.epoch = epoch + 1


def _changed_since(oldest: int) -> dict[int, tuple]:
    """id(owner) → (its latest change's epoch, what made it, owner) for the changes logged at ``oldest`` or later."""
    changed = {}
    for epoch, ref, what in tuple(_inplace_log.entries):  # a copy: other threads (loader workers) may log meanwhile
        if epoch >= oldest:
            owner = ref()
            if owner is not None:
                changed[id(owner)] = (epoch, what, owner)
    return changed


def _saved_arrays(obj: Any, depth: int = 0):
    """The arrays a node holds for its backward: its attributes, inside tuples and lists, and a custom
    Function's ``saved_tensors``."""
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, Tensor):
        yield obj.array
    elif depth < 3 and isinstance(obj, (tuple, list)):
        for o in obj:
            yield from _saved_arrays(o, depth + 1)
    elif depth == 0 and hasattr(obj, "saved_tensors"):  # ember.autograd's ctx: only what was saved counts
        yield from _saved_arrays(obj.saved_tensors, 1)


def _check_saved(ctx: Function, changed: dict) -> None:
    """Raise when an array ``ctx`` saved was changed in place after ``ctx`` was recorded."""
    for value in ctx.__dict__.values():
        for a in _saved_arrays(value):
            hit = changed.get(id(_owner(a)))
            if hit is not None and hit[0] >= ctx.epoch:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: an array of shape {tuple(a.shape)} ({a.dtype}) that {type(ctx).__name__}Backward "
                    f"saved was changed by {hit[1]} after the graph recorded it. Make the change after backward(), "
                    "make it out of place (x = x * 2 instead of x.mul_(2)), or clone the value before changing it")


def _topological_order(root: Tensor) -> list[Tensor]:
    """Tensors reachable from ``root`` through recorded nodes, inputs before outputs.

    Iterative post-order depth-first search (a chain of any length works, no recursion limit).
    A tensor is marked when it is expanded, not when it is pushed, and appended only once all
    the inputs of its node have been appended: in ``a + a·a`` the leaf ``a``, pushed by the add,
    must still come before the multiply that also reads it.
    """
    order: list[Tensor] = []
    state: dict[Tensor, bool] = {}  # False: expanded, inputs pending; True: appended
    stack = [root]
    while stack:
        t = stack[-1]
        done = state.get(t)
        if done is None:
            state[t] = False
            ctx = t._ctx
            if ctx is not None:
                parents = ctx.parents
                if parents is None:
                    raise RuntimeError(_FREED)
                if _earlier_states and (ctx.versions is not None or any(p is not None and p._version for p in parents)):
                    parents = ctx.parents = _as_recorded(parents, ctx.versions)
                    ctx.versions = None
                for p in parents:
                    if p is not None and p.requires_grad and p not in state:
                        stack.append(p)
        else:
            stack.pop()
            if not done:
                state[t] = True
                order.append(t)
    return order


def _refs_of_a_local() -> int:
    local = np.empty(0)
    return sys.getrefcount(local)


_LOCAL_REFS = _refs_of_a_local()  # 2 on CPython 3.11 (the local and the call's argument); measured, not assumed


def backward_graph(root: Tensor, grad: np.ndarray, retain_graph: bool = False,
                   capture: dict | None = None) -> None:
    """Reverse-mode sweep: for each tensor, outputs before inputs, hand its gradient to its node's backward
    and add what comes back (summed down to each input's shape) to that input's running gradient.

    With ``capture`` (a dict keyed by tensors) the gradients reaching those tensors are added into it and no
    ``.grad`` is touched: ``ember.autograd.grad`` and ``backward(inputs=...)``. A node whose backward runs a
    sweep of its own (a checkpoint's recomputation) finds the running sweep's dict in ``_state.capture``."""
    outer, _state.capture = _state.capture, capture
    try:
        _sweep(root, grad, retain_graph, capture)
    finally:
        _state.capture = outer


def _sweep(root: Tensor, grad: np.ndarray, retain_graph: bool, capture: dict | None) -> None:
    order = _topological_order(root)
    grads: dict[Tensor, np.ndarray] = {root: grad}
    anomaly = _state.detect_anomaly
    newest = _inplace_log.epoch
    changed = None  # built once, when a node recorded before the newest in-place change is reached
    for t in reversed(order):
        g = grads.pop(t, None)
        if g is None:
            continue
        if t._hooks:
            for hook in t._hooks:
                r = hook(Tensor._wrap(g))
                if r is not None:
                    g = r.array if isinstance(r, Tensor) else np.asarray(r)
        ctx = t._ctx
        if capture is not None:
            if t in capture:
                prev = capture[t]
                capture[t] = np.array(g, dtype=t.array.dtype, copy=True) if prev is None else prev + g
            if ctx is None:
                continue
        elif ctx is None or t._retain:
            # leaf (or retained non-leaf): accumulate into .grad
            if g.dtype != t.array.dtype:
                g = g.astype(t.array.dtype)
            if t.grad is None:
                # .grad must be private (optimizers and clipping modify it in place), but an op may hand one
                # array to several inputs, return a view, or pass on the caller's gradient. Like PyTorch's
                # AccumulateGrad, a leaf takes the array itself when nothing else can reach it: it owns its
                # memory and only this frame's `g` refers to it (_LOCAL_REFS is what getrefcount says then).
                # Else a copy (always for a retained non-leaf, whose node's backward still reads g).
                if ctx is not None or sys.getrefcount(g) > _LOCAL_REFS or g.base is not None or not g.flags.writeable:
                    g = np.array(g, copy=True)
                t.grad = Tensor._wrap(g)
            else:
                t.grad.array = t.grad.array + g
            if ctx is None:
                continue
        parents = ctx.parents
        if ctx.epoch is not None and ctx.epoch != newest:
            if changed is None:
                changed = _changed_since(min(e for e in (n._ctx.epoch for n in order if n._ctx) if e is not None))
            _check_saved(ctx, changed)
        in_grads = ctx.backward(g)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        if anomaly:
            _check_finite(ctx, in_grads)
        for p, pg in zip(parents, in_grads):
            if pg is None or p is None or not p.requires_grad:
                continue
            if pg.shape != p.array.shape:
                pg = unbroadcast(pg, p.array.shape)
            prev = grads.get(p)
            grads[p] = pg if prev is None else prev + pg
        in_grads = pg = None  # hold no gradient past its node: a leaf's array may then be taken without a copy
        if not retain_graph:
            # free the node: its saved arrays and its links to the inputs
            ctx.parents = None
            ctx.__dict__.clear()
    if not retain_graph:
        for t in order:
            if t._ctx is not None:
                t._ctx.parents = None


def _check_finite(ctx: Function, in_grads: tuple) -> None:
    for i, pg in enumerate(in_grads):
        if pg is not None and pg.dtype.kind in "fc" and not np.isfinite(pg).all():
            what = "nan" if np.isnan(pg).any() else "inf"
            raise RuntimeError(f"Function '{type(ctx).__name__}Backward' returned {what} values in its {i}th output "
                               "(ember.autograd.set_detect_anomaly is on)")


# --------------------------------------------------------------------------- constructors
# Every constructor takes PyTorch's ``device=`` and ``pin_memory=``: scripts pass them everywhere. Any spelling
# of the CPU is accepted and any other device is an error (ember.devices.check); pinning is meaningless here.


def tensor(data: Any, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Build a tensor from data (always copies). Floats default to float32, ints to int64."""
    _devices.check(device)
    if isinstance(data, Tensor):
        data = data.array
    arr = _dt.as_array(data, dtype)
    if arr is data:
        arr = arr.copy()
    return Tensor(arr, requires_grad=requires_grad)


def as_tensor(data: Any, dtype=None, device=None) -> Tensor:
    _devices.check(device)
    if isinstance(data, Tensor) and (dtype is None or _dt.resolve(dtype) == data.dtype):
        return data
    return Tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """Share memory with ``array`` (no dtype change), like torch.from_numpy."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def _shape_arg(size: Sequence, keyword=None, fn: str = "") -> tuple:
    """The shape from ``zeros(2, 3)``, ``zeros((2, 3))`` or the keyword form ``zeros(size=(2, 3))``."""
    if keyword is not None:
        if size:
            raise TypeError(f"{fn}() got multiple values for argument 'size'")
        size = (keyword,)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*args, size=None, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    _devices.check(device)
    return _make(np.zeros(_shape_arg(args, size, "zeros"), _dt.resolve(dtype)), requires_grad)


def ones(*args, size=None, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    _devices.check(device)
    return _make(np.ones(_shape_arg(args, size, "ones"), _dt.resolve(dtype)), requires_grad)


def empty(*args, size=None, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    _devices.check(device)
    return _make(np.empty(_shape_arg(args, size, "empty"), _dt.resolve(dtype)), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    _devices.check(device)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    if dtype is None:
        dtype = _dt.default_for_python_value(fill_value)
    return _make(np.full(_shape_arg((size,)), fill_value, _dt.resolve(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    _devices.check(device)
    start, end, step = (v.item() if isinstance(v, (Tensor, np.generic)) else v for v in (start, end, step))
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = np.int64 if all(isinstance(v, int) for v in (start, end, step)) else _dt.get_default_dtype()
    return _make(np.arange(start, end, step, dtype=_dt.resolve(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad: bool = False,
             pin_memory: bool = False) -> Tensor:
    _devices.check(device)
    return _make(np.linspace(start, end, steps, dtype=_dt.resolve(dtype)), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    _devices.check(device)
    return _make(np.eye(n, m, dtype=_dt.resolve(dtype)), requires_grad)


def randn(*args, size=None, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False,
          generator=None) -> Tensor:
    from ember import random as _r

    _devices.check(device)
    shape = _shape_arg(args, size, "randn")
    return _make(_r.numpy_rng(generator).standard_normal(shape).astype(_dt.resolve(dtype)), requires_grad)


def rand(*args, size=None, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False,
         generator=None) -> Tensor:
    from ember import random as _r

    _devices.check(device)
    return _make(_r.numpy_rng(generator).random(_shape_arg(args, size, "rand")).astype(_dt.resolve(dtype)),
                 requires_grad)


def randint(low=0, high=None, size=None, dtype=None, device=None, requires_grad: bool = False,
            pin_memory: bool = False, generator=None) -> Tensor:
    """Integers in [low, high); like PyTorch, ``randint(high, size)`` means low = 0."""
    from ember import random as _r

    _devices.check(device)
    if size is None and isinstance(high, (tuple, list)):  # randint(10, (3, 2))
        high, size = None, high
    if size is None:
        size = ()
    if high is None:
        low, high = 0, low
    if requires_grad:
        raise RuntimeError("only floating point tensors can require gradients; randint makes integers")
    values = _r.numpy_rng(generator).integers(low, high, size=tuple(size))
    return Tensor._wrap(values.astype(_dt.resolve(dtype or np.int64)))


def randperm(n: int, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False,
             generator=None) -> Tensor:
    from ember import random as _r

    _devices.check(device)
    return _make(_r.numpy_rng(generator).permutation(n).astype(_dt.resolve(dtype or np.int64)), requires_grad)


def _like(fn):
    @functools.wraps(fn)
    def wrapper(t: Tensor, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False,
                memory_format=None, **kw):
        dtype = t.dtype if dtype is None else dtype
        return fn(t.shape, dtype=dtype, device=device, requires_grad=requires_grad, **kw)

    return wrapper


zeros_like = _like(lambda shape, **kw: zeros(shape, **kw))
ones_like = _like(lambda shape, **kw: ones(shape, **kw))
empty_like = _like(lambda shape, **kw: empty(shape, **kw))
randn_like = _like(lambda shape, **kw: randn(shape, **kw))
rand_like = _like(lambda shape, **kw: rand(shape, **kw))


def full_like(t: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False,
              pin_memory: bool = False, memory_format=None) -> Tensor:
    return full(t.shape, fill_value, dtype=t.dtype if dtype is None else dtype, device=device,
                requires_grad=requires_grad)


def randint_like(t: Tensor, low, high=None, dtype=None, device=None, requires_grad: bool = False,
                 pin_memory: bool = False, memory_format=None) -> Tensor:
    return randint(low, high, t.shape, dtype=t.dtype if dtype is None else dtype, device=device,
                   requires_grad=requires_grad)


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


def _tensors(items: Iterable) -> list[Tensor]:
    return [x if isinstance(x, Tensor) else Tensor(x) for x in items]
