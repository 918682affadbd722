"""Parametrizations (PyTorch's ``torch.nn.utils.parametrize``): a module's tensor computed from others.

After ``register_parametrization(module, "weight", P)``, reading ``module.weight`` returns
``P(module.parametrizations.weight.original)`` — recomputed on every access, so gradients flow through ``P``
into ``original``, which is what the optimizer trains. This is how constraints and re-parametrizations
(weight normalisation, spectral normalisation, orthogonal or symmetric weights) are written once and applied
to any layer without changing its ``forward``.

How, as in PyTorch: the parameter is moved into ``module.parametrizations[name]`` (a :class:`ParametrizationList`
in a ``ModuleDict``, so state_dict keys read ``parametrizations.weight.original``), and the module's class is
swapped for a generated subclass ``Parametrized<Class>`` carrying a property per parametrized name. The property
lives on that private subclass, never on the layer's own class, so other instances are untouched; removing the
last parametrization restores the original class.
"""
from __future__ import annotations

import collections.abc
from contextlib import contextmanager
from copy import deepcopy
from typing import Iterator, Sequence

from ember.nn.containers import ModuleDict, ModuleList
from ember.nn.module import Module, Parameter
from ember.tensor import Tensor, no_grad

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations"]

_cache_enabled = 0
_cache: dict[tuple[int, str], Tensor] = {}


@contextmanager
def cached() -> Iterator[None]:
    """Inside this block each parametrized tensor is computed once, at its first access, and reused (the cache
    is dropped when the outermost block exits). Worth it when a forward reads the same parametrized weight
    several times, e.g. an RNN cell's recurrent kernel in a loop. Blocks nest."""
    global _cache, _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache = {}


def _register_parameter_or_buffer(module: Module, name: str, value: Tensor) -> None:
    if isinstance(value, Parameter):
        module.register_parameter(name, value)
    else:
        module.register_buffer(name, value)


def _set_values(dest: Tensor, src: Tensor) -> None:
    """PyTorch's ``dest.set_(src)``: ``dest`` keeps its identity (an optimizer holding it keeps working) and
    takes ``src``'s values, shape and dtype."""
    if src is not dest:
        dest.data = src


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor, applied in order, and the tensor(s) they start from.

    ``original`` holds the unconstrained tensor when the first parametrization's ``right_inverse`` returns
    one tensor (or is missing: the identity); ``original0``, ``original1``, … when it returns a sequence (the
    first parametrization's ``forward`` then takes them all). Built by :func:`register_parametrization`.
    """

    def __init__(self, modules: Sequence[Module], original: Tensor, unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules")
        super().__init__(modules)
        self.unsafe = unsafe
        original_shape, original_dtype = tuple(original.shape), original.dtype
        with no_grad():
            new = original
            for module in reversed(list(self)):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass
        if not isinstance(new, (Tensor, collections.abc.Sequence)):
            raise ValueError("'right_inverse' must return a Tensor or a sequence of tensors (list, tuple, ...); "
                             f"got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            if new.dtype != original_dtype:
                raise ValueError("when 'right_inverse' returns one tensor it may not change the dtype: "
                                 f"original has {original_dtype}, right_inverse(original) has {new.dtype}")
            with no_grad():
                _set_values(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, part in enumerate(new):
                if not isinstance(part, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a sequence of tensors; element "
                                     f"{i} of the sequence is a {type(part).__name__}")
                if isinstance(original, Parameter):
                    part = Parameter(part, original.requires_grad)
                else:
                    part = part.detach()
                part.requires_grad_(original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", part)
        if not self.unsafe:
            z = self()
            if not isinstance(z, Tensor):
                raise ValueError(f"a parametrization must return a tensor, got {type(z).__name__}")
            if z.dtype != original_dtype:
                raise ValueError("registering a parametrization may not change the dtype of the tensor unless "
                                 f"unsafe=True: unparametrized {original_dtype}, parametrized {z.dtype}")
            if tuple(z.shape) != original_shape:
                raise ValueError("registering a parametrization may not change the shape of the tensor unless "
                                 f"unsafe=True: unparametrized {original_shape}, parametrized {tuple(z.shape)}")

    def right_inverse(self, value: Tensor) -> None:
        """Store ``value`` as the parametrized tensor: run the parametrizations' ``right_inverse`` in reverse
        order and write the result(s) into ``original`` (or ``original0``, …). This is what
        ``module.weight = value`` does on a parametrized module."""
        with no_grad():
            for module in reversed(list(self)):
                if not hasattr(module, "right_inverse"):
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement right_inverse, "
                                       "so the parametrized tensor cannot be assigned to")
                value = module.right_inverse(value)
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"'right_inverse' should return a tensor, got {type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"the tensor returned by 'right_inverse' has dtype {value.dtype} while "
                                     f"'original' has dtype {self.original.dtype}")
                _set_values(self.original, value)
            else:
                if not isinstance(value, collections.abc.Sequence):
                    raise ValueError(f"'right_inverse' must return a sequence of tensors, got {type(value).__name__}")
                if len(value) != self.ntensors:
                    raise ValueError(f"'right_inverse' must return a sequence of {self.ntensors} tensors, got "
                                     f"{len(value)}")
                for i, part in enumerate(value):
                    orig = getattr(self, f"original{i}")
                    if not isinstance(part, Tensor):
                        raise ValueError(f"'right_inverse' must return tensors; element {i} is a "
                                         f"{type(part).__name__}")
                    if part.dtype != orig.dtype:
                        raise ValueError(f"tensor {i} returned by 'right_inverse' has dtype {part.dtype} while "
                                         f"'original{i}' has dtype {orig.dtype}")
                    _set_values(orig, part)

    def forward(self) -> Tensor:
        mods = list(self)
        if self.is_tensor:
            x = mods[0](self.original)
        else:
            x = mods[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for m in mods[1:]:
            x = m(x)
        return x


def _getstate(self):
    raise RuntimeError("serialization of parametrized modules is only supported through state_dict(): save "
                       "model.state_dict() and load it into a model built and parametrized the same way")


def _deepcopy(self, memo):
    """Copy the instance dict (the default path would call ``__getstate__``, which refuses) into an instance of
    a copy of the generated class, so that removing a parametrization from one module leaves the other's
    properties in place."""
    replica = memo.get(id(self))
    if replica is not None:
        return replica
    cls = type(self)
    own_cls = type(cls.__name__, cls.__bases__, {k: v for k, v in vars(cls).items()
                                                 if k not in ("__dict__", "__weakref__")})
    replica = self.__new__(own_cls)
    memo[id(self)] = replica
    replica.__dict__.update(deepcopy(self.__dict__, memo))
    return replica


def _inject_new_class(module: Module) -> None:
    """Swap ``module``'s class for a fresh subclass ``Parametrized<Class>`` that will carry the properties."""
    cls = module.__class__

    def __setattr__(self, name, value):
        # Module.__setattr__ files values into its registries without looking at the class, which would bypass
        # the property: assigning a tensor to a parametrized name goes through right_inverse instead, and a
        # Parameter is refused, as in PyTorch
        if is_parametrized(self, name):
            if isinstance(value, Parameter):
                raise KeyError(f"attribute {name!r} already exists: it is parametrized, so a Parameter cannot "
                               f"replace it; assign a tensor (stored through right_inverse) or call "
                               f"remove_parametrizations(module, {name!r}) first")
            getattr(type(self), name).__set__(self, value)
        else:
            cls.__setattr__(self, name, value)

    namespace = {"__getstate__": _getstate, "__setattr__": __setattr__, "__module__": cls.__module__}
    if not hasattr(cls, "__deepcopy__"):
        namespace["__deepcopy__"] = _deepcopy
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), namespace)


def _inject_property(module: Module, tensor_name: str) -> None:
    """Add to the module's (generated) class a property computing ``tensor_name`` from its parametrizations."""
    if hasattr(module, tensor_name):
        raise AssertionError(f"module already has an attribute named {tensor_name!r}")

    def get_parametrized(self) -> Tensor:
        parametrization = self.parametrizations[tensor_name]
        try:
            if _cache_enabled:
                key = (id(self), tensor_name)
                tensor = _cache.get(key)
                if tensor is None:
                    tensor = _cache[key] = parametrization()
                return tensor
            return parametrization()
        except AttributeError as e:
            # an AttributeError escaping a property makes Python fall back to __getattr__, which would report
            # "no attribute 'weight'" and hide the real error
            raise RuntimeError(f"computing the parametrized {tensor_name!r} of {type(self).__name__} failed: "
                               f"{e}") from e

    def set_original(self, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original,
                                                    doc=f"{tensor_name}, computed from its parametrizations"))


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    """Make ``module.<tensor_name>`` the output of ``parametrization`` applied to an unconstrained tensor.

    The first registration on a parameter or buffer moves it to ``module.parametrizations[tensor_name].original``
    (through ``parametrization.right_inverse`` when it has one; a sequence result becomes ``original0``,
    ``original1``, … and ``parametrization.forward`` takes them all). Registering again on the same name chains
    another parametrization after the first. ``unsafe=True`` skips the checks that the parametrization keeps
    the tensor's shape and dtype. The parametrization takes the module's training mode. Returns ``module``.

    Parameters created here (``original0``, …) are new objects: build the optimizer after registering.
    """
    if not isinstance(module, Module):
        raise TypeError(f"register_parametrization: module must be an ember.nn.Module, got {type(module).__name__}")
    if not isinstance(parametrization, Module):
        raise TypeError("register_parametrization: the parametrization must be an ember.nn.Module, got "
                        f"{type(parametrization).__name__}")
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            y = getattr(module, tensor_name)
            x = parametrization(y)
            if not isinstance(x, Tensor):
                raise ValueError(f"a parametrization must return a tensor, got {type(x).__name__}")
            if x.dtype != y.dtype or tuple(x.shape) != tuple(y.shape):
                raise ValueError(f"registering a parametrization may not change the dtype or shape of the tensor "
                                 f"unless unsafe=True: module.{tensor_name} is {y.dtype} {tuple(y.shape)}, "
                                 f"parametrization(module.{tensor_name}) is {x.dtype} {tuple(x.shape)}")
            if hasattr(parametrization, "right_inverse"):
                try:
                    z = parametrization.right_inverse(x)
                except NotImplementedError:
                    pass
                else:
                    if not isinstance(z, Tensor):
                        raise ValueError(f"parametrization.right_inverse must return a tensor, got "
                                         f"{type(z).__name__}")
                    if z.dtype != y.dtype or tuple(z.shape) != tuple(y.shape):
                        raise ValueError(f"parametrization.right_inverse must keep the dtype and shape of "
                                         f"module.{tensor_name} ({y.dtype} {tuple(y.shape)}) unless unsafe=True; "
                                         f"it returned {z.dtype} {tuple(z.shape)}")
        plist = module.parametrizations[tensor_name]
        plist.append(parametrization)
        plist.unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        if original is None:
            raise ValueError(f"cannot parametrize {tensor_name!r} of {type(module).__name__}: it is None")
        plist = ParametrizationList([parametrization], original, unsafe=unsafe)  # built first: errors leave no trace
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = plist
    else:
        raise ValueError(f"module {type(module).__name__} has no parameter, buffer or parametrized element named "
                         f"{tensor_name!r}; its parameters: {list(module._parameters)}, buffers: "
                         f"{list(module._buffers)}")
    return module


def is_parametrized(module: Module, tensor_name: str | None = None) -> bool:
    """Whether ``module`` has a parametrization on ``tensor_name`` (on anything, when it is None)."""
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    return len(parametrizations) > 0 if tensor_name is None else tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    """Undo :func:`register_parametrization` on ``tensor_name``: it becomes a plain parameter (or buffer) again,
    holding the current parametrized value (``leave_parametrized=True``) or the unconstrained ``original``
    (only possible with a single original tensor). With one original tensor the same Parameter object comes
    back (an optimizer holding it keeps working); with several, a new Parameter. Returns ``module``."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"module {type(module).__name__} has no parametrization on {tensor_name!r}")
    plist = module.parametrizations[tensor_name]
    if plist.is_tensor:
        original = plist.original
        if leave_parametrized:
            with no_grad():
                _set_values(original, getattr(module, tensor_name))
    else:
        if not leave_parametrized:
            raise ValueError("cannot leave unparametrized (leave_parametrized=False) a tensor that is "
                             "parametrized in terms of a sequence of tensors")
        t = getattr(module, tensor_name)
        original = Parameter(t.detach(), requires_grad=True) if t.requires_grad else t.detach()
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    """The module's class before parametrizations swapped it (its class when it has none)."""
    return module.__class__.__bases__[0] if is_parametrized(module) else type(module)
