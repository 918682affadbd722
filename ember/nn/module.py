"""Module and Parameter: the base of every layer.

A Module finds its parameters, buffers and sub-modules by walking its own
attributes (assignment registers them), so a network is just a tree of plain
Python objects. ``state_dict()`` flattens that tree into dotted names.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterator

import numpy as np

from ember.tensor import Tensor, note_inplace


class Parameter(Tensor):
    """A tensor that a Module registers as trainable (requires_grad=True by default)."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True):
        if data is None:
            data = np.empty((0,), np.float32)
        super().__init__(data.array if isinstance(data, Tensor) else data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _is_uninitialized(t) -> bool:
    """Whether ``t`` is an uninitialised parameter or buffer of a lazy module (:mod:`ember.nn.parameter`)."""
    return getattr(type(t), "_uninitialized", False)


def _values(t: Tensor) -> np.ndarray:
    """A tensor's stored array, read past the guard of an uninitialised one (whose array is empty)."""
    return Tensor.array.__get__(t)


class _Handle:
    """Returned by register_*_hook; ``remove()`` unregisters."""

    def __init__(self, store: dict, key: int):
        self._store, self._key = store, key

    def remove(self) -> None:
        self._store.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Module:
    """Base class of all layers and models (PyTorch's conventions)."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() is called")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if name in params and isinstance(value, Tensor) and not isinstance(value, Parameter):
            # PyTorch refuses this too: silently turning the parameter into a plain attribute would drop it from
            # parameters() and state_dict() (replacing it by a module or a Parameter is fine)
            raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} (ember.nn.Parameter or None "
                            "expected); wrap it in nn.Parameter, or copy values in with "
                            f"`with ember.no_grad(): self.{name}.copy_(value)`")
        # a name lives in one registry; re-assigning within the same kind keeps its position (and state_dict order)
        keep = params if isinstance(value, Parameter) else modules if isinstance(value, Module) else (
            buffers if name in buffers and (value is None or isinstance(value, Tensor)) else None)
        for d in (params, buffers, modules):
            if name in d and d is not keep:
                del d[name]
        if isinstance(value, Parameter):
            params[name] = value
            self.__dict__.pop(name, None)
        elif isinstance(value, Module):
            modules[name] = value
            self.__dict__.pop(name, None)
        elif name in buffers:
            buffers[name] = value
        elif name in params and value is None:
            params[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._buffers, self._modules):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} as parameter {name!r} (ember.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """State that is saved and loaded but not trained (e.g. batch norm's running mean)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor(tensor)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        else:
            self._non_persistent.discard(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module

    register_module = add_module

    # ---------------------------------------------------------------- traversal
    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """Every module of the tree, depth first, with its dotted name; a module reachable by several paths comes
        once (under its first name) unless ``remove_duplicate=False``."""
        memo = set() if memo is None else memo
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if remove_duplicate:
                if id(m) in memo:
                    continue
                memo.add(id(m))
            yield name, m
            children = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for k, m in self._modules.items():
            if m is not None:
                yield k, m

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mname}.{k}" if mname else k), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, b in m._buffers.items():
                if b is not None:
                    yield (f"{mname}.{k}" if mname else k), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> "Module":
        m = self
        for part in target.split(".") if target else []:
            if part not in m._modules:
                raise AttributeError(f"{type(m).__name__} has no submodule {part!r} (looking for {target!r})")
            m = m._modules[part]
        return m

    def set_submodule(self, target: str, module: "Module", strict: bool = False) -> None:
        """Put ``module`` at the dotted path ``target``, replacing the submodule there or (unless ``strict``)
        adding it to an existing parent. ValueError for an empty target or a non-Module; AttributeError for
        a missing parent, a missing name with ``strict``, or a name that holds something other than a Module."""
        if target == "":
            raise ValueError("set_submodule: cannot set the submodule without a target name")
        if not isinstance(module, Module):
            raise ValueError(f"set_submodule: module must be an ember.nn.Module, got {type(module).__name__}")
        parent_path, _, name = target.rpartition(".")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"{type(parent).__name__} has no attribute {name!r} (strict=True only replaces an "
                                 f"existing submodule)")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"{name!r} of {type(parent).__name__} is not a Module")
        setattr(parent, name, module)

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at the dotted path ``target`` (a name of ``named_parameters()``); AttributeError when
        the path or the name does not exist or names something that is not a Parameter."""
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        if not hasattr(m, name):
            raise AttributeError(f"{type(m).__name__} has no attribute {name!r} (looking for {target!r})")
        p = getattr(m, name)
        if not isinstance(p, Parameter):
            raise AttributeError(f"{name!r} of {type(m).__name__} is not a Parameter (looking for {target!r})")
        return p

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at the dotted path ``target`` (a name of ``named_buffers()``); AttributeError when the
        path or the name does not exist or names something that is not a buffer."""
        path, _, name = target.rpartition(".")
        m = self.get_submodule(path)
        if not hasattr(m, name):
            raise AttributeError(f"{type(m).__name__} has no attribute {name!r} (looking for {target!r})")
        if name not in m._buffers:
            raise AttributeError(f"{name!r} of {type(m).__name__} is not a buffer (looking for {target!r})")
        return m._buffers[name]

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.array[...] = 0

    def to(self, *args, **kwargs) -> "Module":
        """``model.to(device)``, ``model.to(dtype)``, ``model.to(device, dtype)``, ``model.to(tensor)`` (its dtype)
        and the keyword forms, as in PyTorch: the device must be the CPU; a floating dtype casts the parameters
        and floating buffers."""
        from ember import devices as _devices
        from ember import dtypes as _dt

        dtype = kwargs.pop("dtype", None)
        _devices.check(kwargs.pop("device", None))
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}; valid ones are device, dtype, "
                            "non_blocking, memory_format")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.array.dtype
            elif isinstance(a, str) and not _dt.is_dtype_name(a) or isinstance(a, int) and not isinstance(a, bool):
                _devices.check(a)
            elif a is not None:
                dtype = a
        if dtype is not None:
            d = _dt.resolve(dtype)
            for t in list(self.parameters()) + list(self.buffers()):
                a = _values(t)  # a lazy module's uninitialised tensor keeps the dtype for its materialisation
                if a.dtype.kind == "f":
                    t.array = a.astype(d)
        return self

    def float(self) -> "Module":
        return self.to(np.float32)

    def double(self) -> "Module":
        return self.to(np.float64)

    def half(self) -> "Module":
        return self.to(np.float16)

    def bfloat16(self) -> "Module":
        """Fails naming the reason (NumPy has no bfloat16); kept so the call gives that message, not AttributeError."""
        from ember import dtypes as _dt

        return self.to(_dt.bfloat16)

    def cpu(self) -> "Module":
        return self

    def cuda(self, device=None) -> "Module":
        raise RuntimeError("ember runs on the CPU only: there is no CUDA device (ember.cuda.is_available() is False); "
                           "use model.to(device) with device = ember.device('cpu')")

    # ---------------------------------------------------------------- calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        out = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            r = hook(self, args, out)
            if r is not None:
                out = r
        if self._backward_hooks and isinstance(out, Tensor) and out.requires_grad:
            hooks = list(self._backward_hooks.values())
            inputs = args

            def _call_backward_hooks(grad: Tensor, _m=self):
                for h in hooks:
                    r = h(_m, inputs, (grad,))
                    if r is not None:
                        grad = r[0] if isinstance(r, tuple) else r
                return grad

            out.register_hook(_call_backward_hooks)
        return out

    def register_forward_pre_hook(self, hook) -> _Handle:
        key = id(hook)
        self._forward_pre_hooks[key] = hook
        return _Handle(self._forward_pre_hooks, key)

    def register_forward_hook(self, hook) -> _Handle:
        """``hook(module, inputs, output)`` after each forward; a non-None return replaces the output."""
        key = id(hook)
        self._forward_hooks[key] = hook
        return _Handle(self._forward_hooks, key)

    def register_full_backward_hook(self, hook) -> _Handle:
        """``hook(module, inputs, grad_output)`` when the gradient of the module's output is computed."""
        key = id(hook)
        self._backward_hooks[key] = hook
        return _Handle(self._backward_hooks, key)

    register_backward_hook = register_full_backward_hook

    # ---------------------------------------------------------------- state
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        """Every parameter and persistent buffer by dotted name (tensors share memory with the model)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        # like PyTorch, a module shared by two parents is saved under both names
        for mname, m in self.named_modules(prefix=prefix.rstrip("."), remove_duplicate=False):
            pre = f"{mname}." if mname else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[pre + k] = p if keep_vars or _is_uninitialized(p) else p.detach()
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent:
                    out[pre + k] = b if keep_vars or _is_uninitialized(b) else b.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy values into this module's tensors. With ``strict`` any missing or unexpected key is an
        error that lists them; a shape mismatch is always an error naming both shapes.
        With ``assign`` the module takes the given tensors themselves instead (no copy, their dtype kept):
        each becomes the buffer, or the parameter (wrapped as a Parameter with the ``requires_grad`` of the
        one it replaces), of its name. A lazy module's uninitialised tensors take their shapes from the state.
        Returns (missing_keys, unexpected_keys)."""
        for mname, m in self.named_modules(remove_duplicate=False):
            hook = getattr(type(m), "_lazy_load_hook", None)  # lazy modules materialise from the state
            if hook is not None:
                hook(m, state_dict, f"{mname}." if mname else "")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, t in own.items():
            if k in state_dict:
                v = state_dict[k]
                if _is_uninitialized(t):  # a lazy tensor given a lazy one: left to the first forward
                    continue
                if _is_uninitialized(v):
                    mismatched.append(f"{k}: checkpoint holds an uninitialised (lazy) tensor, model has {t.shape}")
                    continue
                arr = v.array if isinstance(v, Tensor) else np.asarray(v)
                if arr.shape != t.shape:
                    mismatched.append(f"{k}: checkpoint has shape {arr.shape}, model has {t.shape}")
        problems = []
        if mismatched:
            problems.append("size mismatch for " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise RuntimeError(f"error(s) in loading state_dict for {type(self).__name__}:\n  " + "\n  ".join(problems))
        owners = {}
        if assign:
            for mname, m in self.named_modules(remove_duplicate=False):
                pre = f"{mname}." if mname else ""
                owners.update({pre + k: (m._parameters, k) for k in m._parameters})
                owners.update({pre + k: (m._buffers, k) for k in m._buffers})
        for k, t in own.items():
            if k in state_dict and not _is_uninitialized(t):
                v = state_dict[k]
                if assign:
                    store, name = owners[k]
                    new = v if isinstance(v, Tensor) else Tensor(np.asarray(v))
                    if isinstance(t, Parameter):
                        new = new.requires_grad_(t.requires_grad) if isinstance(new, Parameter) else Parameter(
                            new, requires_grad=t.requires_grad)
                    store[name] = new
                    continue
                arr = v.array if isinstance(v, Tensor) else np.asarray(v)
                t.array[...] = arr.astype(t.array.dtype, copy=False)
                note_inplace((t.array,), "load_state_dict")
        return _IncompatibleKeys(missing, unexpected)

    # ---------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for k, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({k}): {child}")
        name = type(self).__name__
        if not lines:
            return f"{name}()"
        if len(lines) == 1 and not self._modules:
            return f"{name}({lines[0]})"
        return name + "(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._buffers) + list(self._modules)

    def num_parameters(self, trainable_only: bool = True) -> int:
        return int(sum(p.array.size for p in self.parameters() if p.requires_grad or not trainable_only))


class _IncompatibleKeys(tuple):
    def __new__(cls, missing, unexpected):
        return super().__new__(cls, (missing, unexpected))

    @property
    def missing_keys(self):
        return self[0]

    @property
    def unexpected_keys(self):
        return self[1]

    def __repr__(self):
        return f"<IncompatibleKeys missing_keys={self[0]} unexpected_keys={self[1]}>"
