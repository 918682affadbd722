"""Convolution layers (NCHW; NOTES §8): local receptive fields with shared weights, the transposed convolution
that upsamples with them, and the 1-D convolution over (N, C, L) sequences."""
from __future__ import annotations

import numpy as np

from ember import dtypes as _dt
from ember.nn import init as _init
from ember.nn.functional.conv import conv1d, conv2d, conv3d, conv_transpose2d
from ember.nn.functional.padding import pad as _pad
from ember.nn.layers._util import int_or_pair, positive_int
from ember.nn.module import Module, Parameter
from ember.ops.conv import pair
from ember.tensor import Tensor

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d", "Conv3d"]


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share (PyTorch's ``_ConvNd``): the channel and group checks, the
    kernel geometry, and the weight and bias with their default initialisation."""

    def _channels(self, name: str, in_channels: int, out_channels: int, groups: int) -> None:
        self.in_channels = positive_int(in_channels, "in_channels", name)
        self.out_channels = positive_int(out_channels, "out_channels", name)
        self.groups = positive_int(groups, "groups", name)
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")

    def _geometry(self, name: str, in_channels: int, out_channels: int, kernel_size, stride, dilation,
                  groups: int) -> None:
        self._channels(name, in_channels, out_channels, groups)
        self.kernel_size = pair(int_or_pair(kernel_size, "kernel_size", name))
        self.stride = pair(int_or_pair(stride, "stride", name))
        self.dilation = pair(int_or_pair(dilation, "dilation", name))

    def _parameters_of_shape(self, shape: tuple, bias: bool, dtype, init) -> None:
        """Create weight (``shape``) and bias (``out_channels``), then initialise them."""
        if init is not None:
            _init._resolve_weight(init)  # an unknown name fails here, not at the first reset
        self.init = init
        d = _dt.resolve(dtype)
        self.weight = Parameter(np.empty(shape, d))
        if bias:
            self.bias = Parameter(np.empty((self.out_channels,), d))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init.default_weight_init_(self.weight, self.init)
        if self.bias is not None:
            fan_in, _ = _init._calculate_fan_in_and_fan_out(self.weight)
            _init.default_bias_init_(self.bias, fan_in)

    def extra_repr(self) -> str:
        zeros, ones = (0,) * len(self.kernel_size), (1,) * len(self.kernel_size)
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != zeros:
            s += f", padding={self.padding}"
        if self.dilation != ones:
            s += f", dilation={self.dilation}"
        if getattr(self, "output_padding", zeros) != zeros:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class Conv2d(_ConvNd):
    """out[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c] (cross-correlation), weight (C_out, C_in/groups, kH, kW).

    ``padding`` is an int, a pair, ``'valid'`` (no padding) or ``'same'`` (output size = input size;
    stride 1 only). ``groups`` splits the channels into independent convolutions (``groups=C_in`` is a
    depthwise conv). Initialisation as :class:`Linear` with fan_in = C_in/groups·kH·kW: the default of
    :mod:`ember.nn.init` (PyTorch's) unless ``init=`` names another scheme or is a callable.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", dtype=None, init=None):
        super().__init__()
        name = "Conv2d"
        self._geometry(name, in_channels, out_channels, kernel_size, stride, dilation, groups)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'same' or 'valid'; got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError("Conv2d: padding='same' is not supported for strided convolutions (stride != 1)")
            if padding == "same" and any((d * (k - 1)) % 2 for d, k in zip(self.dilation, self.kernel_size)):
                raise ValueError(f"Conv2d: padding='same' needs an odd effective kernel size; kernel_size "
                                 f"{self.kernel_size} with dilation {self.dilation} is even")
            self.padding = padding
        else:
            self.padding = pair(int_or_pair(padding, "padding", name, allow_zero=True))
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d: padding_mode {padding_mode!r} is not supported; ember pads with 'zeros'")
        self.padding_mode = padding_mode
        self._parameters_of_shape((out_channels, in_channels // groups) + self.kernel_size, bias, dtype, init)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim == 3:  # unbatched (C, H, W), as PyTorch accepts
            return conv2d(input.unsqueeze(0), self.weight, self.bias, self.stride, self.padding, self.dilation,
                          self.groups).squeeze(0)
        if input.ndim != 4:
            raise ValueError(f"Conv2d expects a (N, C, H, W) or (C, H, W) input, got shape {input.shape}")
        if input.shape[1] != self.in_channels:
            raise ValueError(f"Conv2d: input of shape {input.shape} has {input.shape[1]} channels, "
                             f"expected in_channels={self.in_channels}")
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """The transpose of a Conv2d (the gradient of a conv w.r.t. its input, used as a layer): learned
    upsampling for decoders, U-Nets and GAN generators. Weight (C_in, C_out/groups, kH, kW), as PyTorch's;
    output size (H − 1)·s − 2p + d·(k − 1) + output_padding + 1, or the ``output_size`` given to forward.
    Initialisation as PyTorch's (fan_in = C_out/groups·kH·kW, from the weight's shape), through the
    defaults of :mod:`ember.nn.init`."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", dtype=None, init=None):
        super().__init__()
        name = "ConvTranspose2d"
        self._geometry(name, in_channels, out_channels, kernel_size, stride, dilation, groups)
        self.padding = pair(int_or_pair(padding, "padding", name, allow_zero=True))
        self.output_padding = pair(int_or_pair(output_padding, "output_padding", name, allow_zero=True))
        if any(op >= max(s, d) for op, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"{name}: output_padding {self.output_padding} must be smaller than either stride "
                             f"{self.stride} or dilation {self.dilation}")
        if padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode 'zeros' is supported (as in PyTorch), got {padding_mode!r}")
        self.padding_mode = padding_mode
        self._parameters_of_shape((in_channels, out_channels // groups) + self.kernel_size, bias, dtype, init)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """The output_padding that gives ``output_size`` (PyTorch's forward(input, output_size))."""
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)[-2:]
        if len(size) != 2:
            raise ValueError(f"ConvTranspose2d: output_size must give the 2 spatial sizes, got {output_size!r}")
        pads = []
        for i in range(2):
            smallest = ((input.shape[-2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = int(size[i]) - smallest
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ValueError(f"ConvTranspose2d: requested output_size {tuple(size)} is not reachable from an "
                                 f"input of shape {input.shape}: dimension {i} must be between {smallest} and "
                                 f"{smallest + max(self.stride[i], self.dilation[i]) - 1}")
            pads.append(extra)
        return tuple(pads)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        if input.ndim == 3:  # unbatched (C, H, W)
            return self.forward(input.unsqueeze(0), output_size).squeeze(0)
        if input.ndim != 4:
            raise ValueError(f"ConvTranspose2d expects a (N, C, H, W) or (C, H, W) input, got shape {input.shape}")
        if input.shape[1] != self.in_channels:
            raise ValueError(f"ConvTranspose2d: input of shape {input.shape} has {input.shape[1]} channels, "
                             f"expected in_channels={self.in_channels}")
        return conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                self._output_padding(input, output_size), self.groups, self.dilation)


def _single(value, name: str, layer: str, allow_zero: bool = False) -> tuple[int]:
    """An int or a 1-tuple of ints as a 1-tuple (PyTorch's ``_single``), checked."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{layer}: {name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return (positive_int(value, name, layer, allow_zero),)


class Conv1d(_ConvNd):
    """out[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c] over (N, C, L) sequences, weight (C_out, C_in/groups, k).

    ``padding`` is an int, ``'valid'`` or ``'same'`` (stride 1). Runs on the 2-D kernels with a height of 1.
    Initialisation as :class:`Conv2d` with fan_in = C_in/groups·k."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", dtype=None, init=None):
        super().__init__()
        name = "Conv1d"
        self._channels(name, in_channels, out_channels, groups)
        self.kernel_size = _single(kernel_size, "kernel_size", name)
        self.stride = _single(stride, "stride", name)
        self.dilation = _single(dilation, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, 'same' or 'valid'; got {padding!r}")
            if padding == "same" and self.stride != (1,):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (stride != 1)")
            self.padding = padding
        else:
            self.padding = _single(padding, "padding", name, allow_zero=True)
        if padding_mode != "zeros":
            raise ValueError(f"{name}: padding_mode {padding_mode!r} is not supported; ember pads with 'zeros'")
        self.padding_mode = padding_mode
        self._parameters_of_shape((out_channels, in_channels // groups) + self.kernel_size, bias, dtype, init)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim == 2:  # unbatched (C, L)
            return self.forward(input.unsqueeze(0)).squeeze(0)
        if input.ndim != 3:
            raise ValueError(f"Conv1d expects a (N, C, L) or (C, L) input, got shape {input.shape}")
        if input.shape[1] != self.in_channels:
            raise ValueError(f"Conv1d: input of shape {input.shape} has {input.shape[1]} channels, "
                             f"expected in_channels={self.in_channels}")
        return conv1d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


def _triple(value, name: str, layer: str, allow_zero: bool = False) -> tuple[int, int, int]:
    """An int or a triple of ints as a triple (PyTorch's ``_triple``), each checked."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * 3
    if len(items) != 3:
        raise ValueError(f"{layer}: {name} must be an int or a triple of ints, got {value!r}")
    return tuple(positive_int(v, name, layer, allow_zero) for v in items)


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class Conv3d(_ConvNd):
    """out[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c] over (N, C, D, H, W) clips or volumes (or one unbatched
    (C, D, H, W)), weight (C_out, C_in/groups, kD, kH, kW): the 3-D CNNs of video (C3D, I3D) and of medical
    volumes (3-D U-Net).

    ``padding`` is an int, a triple, ``'valid'`` or ``'same'`` (stride 1; an even effective kernel pads one more
    at the end). ``padding_mode`` 'reflect', 'replicate' or 'circular' pads with :func:`ember.nn.functional.pad`
    first, as PyTorch does. ``groups`` splits the channels (``groups=C_in`` is a depthwise conv).
    Initialisation as :class:`Conv2d` with fan_in = C_in/groups·kD·kH·kW (PyTorch's default unless ``init=``).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", dtype=None, init=None):
        super().__init__()
        name = "Conv3d"
        self._channels(name, in_channels, out_channels, groups)
        self.kernel_size = _triple(kernel_size, "kernel_size", name)
        self.stride = _triple(stride, "stride", name)
        self.dilation = _triple(dilation, "dilation", name)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{name}: padding must be an int, a triple, 'same' or 'valid'; got {padding!r}")
            if padding == "same" and self.stride != (1, 1, 1):
                raise ValueError(f"{name}: padding='same' is not supported for strided convolutions (stride != 1)")
            self.padding = padding
        else:
            self.padding = _triple(padding, "padding", name, allow_zero=True)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{name}: padding_mode must be one of {list(_PADDING_MODES)}, got {padding_mode!r}")
        self.padding_mode = padding_mode
        self._parameters_of_shape((out_channels, in_channels // groups) + self.kernel_size, bias, dtype, init)

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.padding_mode == "zeros" else s + f", padding_mode={self.padding_mode}"

    def _explicit_padding(self) -> tuple[int, ...]:
        """F.pad's tuple (last axis first, (before, after) each) for a non-zeros ``padding_mode``."""
        if self.padding == "valid":
            return (0,) * 6
        pads = []
        for a in (2, 1, 0):
            if self.padding == "same":
                total = self.dilation[a] * (self.kernel_size[a] - 1)
                pads += [total // 2, total - total // 2]
            else:
                pads += [self.padding[a]] * 2
        return tuple(pads)

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in (4, 5):
            raise ValueError(f"Conv3d expects a (N, C, D, H, W) or (C, D, H, W) input, got shape {input.shape}")
        c = input.shape[-4]
        if c != self.in_channels:
            raise ValueError(f"Conv3d: input of shape {input.shape} has {c} channels, "
                             f"expected in_channels={self.in_channels}")
        if self.padding_mode != "zeros":
            padded = _pad(input, self._explicit_padding(), mode=self.padding_mode)
            return conv3d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv3d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
