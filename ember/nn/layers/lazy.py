"""Lazy layers (PyTorch's ``LazyLinear``, ``LazyConv2d``, ``LazyBatchNorm2d``): the input size is not given
to the constructor but read from the first input.

Until then the parameters (and batch norm's running statistics) are
:class:`~ember.nn.parameter.UninitializedParameter` / :class:`~ember.nn.parameter.UninitializedBuffer`,
which refuse to be used. The first forward infers the size, materialises them *in place* (the same
objects, so an optimizer built before it still updates them), initialises them exactly as the ordinary
layer's constructor would, and turns the module into that layer (its ``__class__`` becomes
``cls_to_become``: a ``LazyLinear`` is then a plain ``Linear``). ``load_state_dict`` into a lazy module
materialises its tensors with the checkpoint's shapes instead.
"""
from __future__ import annotations

import itertools

import numpy as np

from ember import devices as _devices
from ember.nn import init as _init
from ember.nn.layers._util import positive_int
from ember.nn.layers.conv import Conv2d
from ember.nn.layers.linear import Linear
from ember.nn.layers.normalization import BatchNorm2d
from ember.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from ember.tensor import Tensor

__all__ = ["LazyLinear", "LazyConv2d", "LazyBatchNorm2d", "UninitializedParameter", "UninitializedBuffer"]


def _no_init(tensor: Tensor) -> Tensor:
    """The weight initialisation used while the ordinary layer's constructor runs: nothing (and no random draw)."""
    return tensor


class LazyModuleMixin:
    """Shape inference for a layer: put it before the ordinary layer in the bases and implement
    ``initialize_parameters(*inputs)`` (materialise and initialise) and ``_infer_from_loaded()`` (read the
    sizes off tensors materialised by ``load_state_dict``)."""

    cls_to_become: type | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters)

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer of this module is still uninitialised."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(), self._buffers.values()))

    def initialize_parameters(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for {type(self).__name__}")

    def _infer_from_loaded(self) -> None:
        """Set the size attributes from tensors that ``load_state_dict`` materialised."""

    def _infer_parameters(self, module, args) -> None:
        """The forward pre-hook: materialise from the first input, then become ``cls_to_become``."""
        module.initialize_parameters(*args)
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
        module._initialize_hook.remove()
        del module.__dict__["_initialize_hook"]
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _lazy_load_hook(self, state_dict, prefix: str) -> None:
        """Called by ``Module.load_state_dict`` before it copies: give each uninitialised tensor the shape of its
        (initialised) counterpart in ``state_dict``."""
        for name, t in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if t is not None and is_lazy(t) and key in state_dict and not is_lazy(state_dict[key]):
                v = state_dict[key]
                t.materialize(v.shape if isinstance(v, Tensor) else np.shape(v))
        self._infer_from_loaded()


def _input(args: tuple, layer: str) -> Tensor:
    if not args or not isinstance(args[0], Tensor):
        raise TypeError(f"{layer}: the first forward needs a Tensor input to infer the layer's size")
    return args[0]


class LazyLinear(LazyModuleMixin, Linear):
    """:class:`~ember.nn.Linear` whose ``in_features`` is the size of the last axis of its first input.
    Becomes a ``Linear`` after the first forward; ``in_features`` is 0 until then."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None, init=None,
                 dropconnect: float = 0.0):
        _devices.check(device)
        if init is not None:
            _init._resolve_weight(init)
        super().__init__(0, 0, False, dtype=dtype, init=_no_init, dropconnect=dropconnect)
        self.init = init
        self.out_features = positive_int(out_features, "out_features", "LazyLinear", allow_zero=True)
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, *args) -> None:
        if not self.has_uninitialized_params():
            return
        input = _input(args, "LazyLinear")
        if input.ndim < 1:
            raise ValueError("LazyLinear: the input must have at least one axis (the features), got a 0-d tensor")
        self.in_features = int(input.shape[-1])
        if is_lazy(self.weight):
            self.weight.materialize((self.out_features, self.in_features))
        if self.bias is not None and is_lazy(self.bias):
            self.bias.materialize((self.out_features,))
        self.reset_parameters()

    def _infer_from_loaded(self) -> None:
        if not is_lazy(self.weight):
            self.in_features = int(self.weight.shape[1])


class LazyConv2d(LazyModuleMixin, Conv2d):
    """:class:`~ember.nn.Conv2d` whose ``in_channels`` is the channel count of its first (N, C, H, W) or
    (C, H, W) input; the other arguments are Conv2d's. Becomes a ``Conv2d`` after the first forward."""

    cls_to_become = Conv2d

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, groups: int = 1,
                 bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None, init=None):
        _devices.check(device)
        groups = positive_int(groups, "groups", "LazyConv2d")
        if init is not None:
            _init._resolve_weight(init)
        # Conv2d checks everything else; a stand-in in_channels (= groups) until the input is seen
        super().__init__(in_channels=groups, out_channels=out_channels, kernel_size=kernel_size, stride=stride,
                         padding=padding, dilation=dilation, groups=groups, bias=False, padding_mode=padding_mode,
                         dtype=dtype, init=_no_init)
        self.init = init
        self.in_channels = 0
        self.weight = UninitializedParameter(dtype=dtype)
        if bias:
            self.bias = UninitializedParameter(dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, *args) -> None:
        if not self.has_uninitialized_params():
            return
        input = _input(args, "LazyConv2d")
        if input.ndim not in (3, 4):
            raise ValueError(f"LazyConv2d expects a (N, C, H, W) or (C, H, W) input, got shape {tuple(input.shape)}")
        c = int(input.shape[1] if input.ndim == 4 else input.shape[0])
        if c == 0 or c % self.groups:
            raise ValueError(f"LazyConv2d: the input's {c} channels must be a positive multiple of groups "
                             f"({self.groups})")
        self.in_channels = c
        if is_lazy(self.weight):
            self.weight.materialize((self.out_channels, c // self.groups) + tuple(self.kernel_size))
        if self.bias is not None and is_lazy(self.bias):
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()

    def _infer_from_loaded(self) -> None:
        if not is_lazy(self.weight):
            self.in_channels = int(self.weight.shape[1]) * self.groups


class LazyBatchNorm2d(LazyModuleMixin, BatchNorm2d):
    """:class:`~ember.nn.BatchNorm2d` whose ``num_features`` is the channel count of its first (N, C, H, W)
    input; γ, β, running_mean and running_var wait for it. Becomes a ``BatchNorm2d`` after the first forward."""

    cls_to_become = BatchNorm2d

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *, bias: bool = True):
        _devices.check(device)
        # BatchNorm2d checks eps and momentum; no γ, β or statistics are made (a stand-in num_features)
        super().__init__(num_features=1, eps=eps, momentum=momentum, affine=False, track_running_stats=False,
                         dtype=dtype)
        self.num_features = 0
        self.affine = bool(affine)
        self.use_bias = bool(bias) and self.affine
        self.track_running_stats = bool(track_running_stats)
        self.register_parameter("weight", UninitializedParameter(dtype=dtype) if self.affine else None)
        self.register_parameter("bias", UninitializedParameter(dtype=dtype) if self.use_bias else None)
        track = self.track_running_stats
        self.register_buffer("running_mean", UninitializedBuffer(dtype=dtype) if track else None)
        self.register_buffer("running_var", UninitializedBuffer(dtype=dtype) if track else None)
        self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)) if track else None)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, *args) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            return
        input = _input(args, "LazyBatchNorm2d")
        if input.ndim not in self._dims:
            raise ValueError(f"LazyBatchNorm2d expects a 4-D (N, C, H, W) input, got shape {tuple(input.shape)}")
        c = int(input.shape[1])
        self.num_features = c
        for t in (self.weight, self.bias, self.running_mean, self.running_var):
            if t is not None and is_lazy(t):
                t.materialize((c,))
        self.reset_parameters()

    def _infer_from_loaded(self) -> None:
        for t in (self.weight, self.bias, self.running_mean, self.running_var):
            if t is not None and not is_lazy(t):
                self.num_features = int(t.shape[0])
                return
