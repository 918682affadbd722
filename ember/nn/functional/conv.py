"""Convolution and pooling as functions of tensors (NCHW)."""
from __future__ import annotations

import numpy as np

from ember.ops import conv as C
from ember.ops import conv3d as C3
from ember.ops import pool as P
from ember.ops import pool3d as P3
from ember.ops.api import pad as _pad
from ember.tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d", "max_unpool2d", "avg_pool1d",
           "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool2d", "fractional_max_pool2d",
           "conv3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d"]


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation in NCHW:
    out[n, o, h, w] = b[o] + Σ_{c in o's group, i, j} W[o, c, i, j] · x_pad[n, c, s·h + d·i, s·w + d·j].

    ``padding`` is an int, a pair, ``'valid'`` (no padding) or ``'same'`` (stride 1 only; output size = input
    size; an even effective kernel d·(k−1) pads one more on the bottom/right, as PyTorch does).
    """
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if weight.ndim != 4:
                raise RuntimeError(
                    f"conv2d expects a 4-D weight (C_out, C_in/groups, kH, kW), got shape {weight.shape}")
            if C.pair(stride, "stride") != (1, 1):
                raise ValueError(f"padding='same' is only supported with stride 1, got stride {stride!r}")
            kh, kw = weight.shape[2:]
            dh, dw = C.pair(dilation, "dilation")
            th, tw = dh * (kh - 1), dw * (kw - 1)  # total padding per axis
            if th % 2 or tw % 2:  # asymmetric: the extra row/column goes after
                input = _pad(input, (tw // 2, tw - tw // 2, th // 2, th - th // 2))
                padding = 0
            else:
                padding = (th // 2, tw // 2)
        else:
            raise ValueError(f"padding must be an int, a pair, 'valid' or 'same'; got {padding!r}")
    return C.Conv2d.apply(input, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """out[n, c, h, w] = max_{i, j} x_pad[n, c, s·h + d·i, s·w + d·j] over the kH×kW window (padding is −∞;
    stride defaults to the kernel size). The gradient goes to the first maximum of each window.

    With ``return_indices`` also returns the flat index h·W + w of each maximum in its (H, W) plane, as
    PyTorch does (for :func:`max_unpool2d`)."""
    if return_indices:
        if input.ndim != 4:
            raise RuntimeError(f"max_pool2d expects a 4-D input (N, C, H, W), got shape {input.shape}")
        index = P.max_pool2d_indices(input.array, kernel_size, stride, padding, dilation, ceil_mode)
        return P.PlaneGather.apply(input, index), Tensor._wrap(index)
    return P.MaxPool2d.apply(input, kernel_size, stride=stride, padding=padding, dilation=dilation,
                             ceil_mode=ceil_mode)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """out = (1/m) Σ over the kH×kW window of the zero-padded input, m = the window's cells inside the padded
    input (``count_include_pad``) or inside the input only; ``divisor_override`` fixes m."""
    return P.AvgPool2d.apply(input, kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                             count_include_pad=count_include_pad, divisor_override=divisor_override)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average over bins [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉) × [⌊j·W/ow⌋, ⌈(j+1)·W/ow⌉), whatever H and W;
    ``None`` in ``output_size`` keeps that dimension."""
    return P.AdaptiveAvgPool2d.apply(input, output_size=output_size)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over bins [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉) × [⌊j·W/ow⌋, ⌈(j+1)·W/ow⌉), whatever H and W; ``None`` in
    ``output_size`` keeps that dimension. With ``return_indices`` also returns the flat index h·W + w of each
    maximum in its (H, W) plane, as PyTorch does (for :func:`max_unpool2d` with ``output_size`` = (H, W))."""
    if return_indices:
        if input.ndim != 4:
            raise RuntimeError(f"adaptive_max_pool2d expects a 4-D input (N, C, H, W), got shape {input.shape}")
        index = P.adaptive_max_pool2d_indices(input.array, output_size)
        return P.PlaneGather.apply(input, index), Tensor._wrap(index)
    return P.AdaptiveMaxPool2d.apply(input, output_size=output_size)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Fractional max pooling (Graham 2014): max over k×k windows at pseudo-random starts
    start_i = ⌊(i + u)α⌋ − ⌊uα⌋, α = (in − k)/(out − 1), last start = in − k.

    One pair u = (u_w, u_h) ∈ [0, 1)² per (sample, channel) plane, drawn from ember's generator (so
    ``ember.manual_seed`` makes it reproducible) unless ``_random_samples`` of shape (N, C, 2) is given,
    as in PyTorch. ``output_ratio`` r gives output_size = ⌊in·r⌋. With ``return_indices`` also returns
    each maximum's flat index h·W + w in its plane.
    """
    from ember import random as _r

    if input.ndim != 4:
        raise RuntimeError(f"fractional_max_pool2d expects a 4-D input (N, C, H, W), got shape {input.shape}")
    n, c, h, w = input.shape
    if output_size is None:
        if output_ratio is None:
            raise ValueError("fractional_max_pool2d needs output_size or output_ratio")
        rh, rw = output_ratio if isinstance(output_ratio, (tuple, list)) else (output_ratio, output_ratio)
        if not (0 < rh < 1 and 0 < rw < 1):
            raise ValueError(f"fractional_max_pool2d: output_ratio must be in (0, 1), got {output_ratio!r}")
        output_size = (int(h * rh), int(w * rw))
    if _random_samples is None:
        samples = _r.generator().random((n, c, 2)).astype(input.dtype)
    else:
        samples = _random_samples.array if isinstance(_random_samples, Tensor) else np.asarray(_random_samples)
    index = P.fractional_indices(input.array, kernel_size, output_size, samples)
    out = P.FractionalMaxPool2d.apply(input, index)
    if return_indices:
        return out, Tensor._wrap(index)
    return out


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """The transpose (adjoint) of conv2d, the learned upsampling of decoders and GANs: each input pixel
    scatters W[c] scaled by its value onto an s×s-strided output grid. Weight (C_in, C_out/groups, kH, kW);
    output size (H − 1)·s − 2p + d·(kH − 1) + output_padding + 1. Arguments in PyTorch's order (groups
    before dilation)."""
    return C.ConvTranspose2d.apply(input, weight, bias, stride=stride, padding=padding,
                                   output_padding=output_padding, groups=groups, dilation=dilation)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The partial inverse of :func:`max_pool2d` (SegNet): each value goes back to where its maximum came from,
    ``out[n, c].flat[indices[n, c, i, j]] = input[n, c, i, j]``, zeros elsewhere. The output is
    (H − 1)·s − 2p + k per axis (stride defaults to the kernel size) unless ``output_size`` says otherwise
    (e.g. the pooled map's size when it was odd). Differentiable w.r.t. ``input``. (C, H, W) inputs work too."""
    if input.ndim == 3:
        return max_unpool2d(input.unsqueeze(0), indices.unsqueeze(0) if isinstance(indices, Tensor)
                            else np.asarray(indices)[None], kernel_size, stride, padding, output_size).squeeze(0)
    if input.ndim != 4:
        raise RuntimeError(f"max_unpool2d expects a (N, C, H, W) or (C, H, W) input, got shape {input.shape}")
    index = indices.array if isinstance(indices, Tensor) else np.asarray(indices)
    size = P.unpool_size(input.shape[2:], kernel_size, stride, padding, output_size)
    return P.MaxUnpool2d.apply(input, index, size)


# --------------------------------------------------------------------------- 1-D, on the 2-D kernels

def _single(v, name: str) -> int:
    """An int or a 1-tuple as an int (PyTorch's ``_single``)."""
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise ValueError(f"{name} must be an int or a 1-tuple for a 1-D op, got {v!r}")
        v = v[0]
    return int(v)


def _check_3d(input: Tensor, name: str) -> None:
    if input.ndim != 3:
        raise RuntimeError(f"{name} expects a 3-D input (N, C, L), got shape {input.shape}")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D cross-correlation in (N, C, L): out[n, o, l] = b[o] + Σ_{c, i} W[o, c, i] · x_pad[n, c, s·l + d·i],
    weight (C_out, C_in/groups, k); ``padding`` an int, ``'valid'`` or ``'same'`` (stride 1). Runs as
    :func:`conv2d` on (N, C, 1, L) with a (C_out, C_in/groups, 1, k) weight."""
    _check_3d(input, "conv1d")
    if weight.ndim != 3:
        raise RuntimeError(f"conv1d expects a 3-D weight (C_out, C_in/groups, k), got shape {weight.shape}")
    if not isinstance(padding, str):
        padding = (0, _single(padding, "padding"))
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, _single(stride, "stride")), padding,
                 (1, _single(dilation, "dilation")), groups)
    return out.squeeze(2)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """out[n, c, l] = max_i x_pad[n, c, s·l + d·i] (stride defaults to the kernel size); with
    ``return_indices`` also the position of each maximum along L. :func:`max_pool2d` on (N, C, 1, L)."""
    _check_3d(input, "max_pool1d")
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None or stride == () or stride == [] else _single(stride, "stride")
    out = max_pool2d(input.unsqueeze(2), (1, k), (1, s), (0, _single(padding, "padding")),
                     (1, _single(dilation, "dilation")), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(2), out[1].squeeze(2)
    return out.squeeze(2)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """out[n, c, l] = (1/m) Σ_i x_pad[n, c, s·l + i] over the window (m as in :func:`avg_pool2d`);
    :func:`avg_pool2d` on (N, C, 1, L)."""
    _check_3d(input, "avg_pool1d")
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None or stride == () or stride == [] else _single(stride, "stride")
    return avg_pool2d(input.unsqueeze(2), (1, k), (1, s), (0, _single(padding, "padding")), ceil_mode,
                      count_include_pad).squeeze(2)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average over bins [⌊i·L/out⌋, ⌈(i+1)·L/out⌉) whatever L; :func:`adaptive_avg_pool2d` on (N, C, 1, L)."""
    _check_3d(input, "adaptive_avg_pool1d")
    size = _single(output_size, "output_size")
    if size < 1:
        raise RuntimeError(f"adaptive_avg_pool1d: output_size must be positive, got {output_size!r}")
    return adaptive_avg_pool2d(input.unsqueeze(2), (1, size)).squeeze(2)


# --------------------------------------------------------------------------- 3-D (NCDHW): video and volumes

def _unbatched(input: Tensor, name: str, fn):
    """``fn`` on a (N, C, D, H, W) input; a (C, D, H, W) one gets a batch of one, removed again from the result
    (from each result when ``fn`` returns a tuple), as PyTorch accepts unbatched volumes."""
    if input.ndim == 4:
        out = fn(input.unsqueeze(0))
        return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)
    if input.ndim != 5:
        raise RuntimeError(f"{name} expects a 5-D (N, C, D, H, W) or 4-D (C, D, H, W) input, got shape "
                           f"{tuple(input.shape)}")
    return fn(input)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """3-D cross-correlation in NCDHW (video clips, CT/MRI volumes):
    out[n, o, z, y, x] = b[o] + Σ_{c in o's group, i, j, l} W[o, c, i, j, l] · x_pad[n, c, s·z + d·i, s·y + d·j,
    s·x + d·l], weight (C_out, C_in/groups, kD, kH, kW). A (C, D, H, W) input is one unbatched volume.

    ``padding`` is an int, a triple, ``'valid'`` (no padding) or ``'same'`` (stride 1 only; output size = input
    size; an even effective kernel d·(k−1) pads one more at the end, as PyTorch does).
    """
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if weight.ndim != 5:
                raise RuntimeError(
                    f"conv3d expects a 5-D weight (C_out, C_in/groups, kD, kH, kW), got shape {weight.shape}")
            if C3.triple(stride, "stride") != (1, 1, 1):
                raise ValueError(f"padding='same' is only supported with stride 1, got stride {stride!r}")
            total = [d * (k - 1) for d, k in zip(C3.triple(dilation, "dilation"), weight.shape[2:])]
            if any(t % 2 for t in total):  # asymmetric: the extra plane/row/column goes after
                pads = []
                for t in reversed(total):  # F.pad order: the last axis first
                    pads += [t // 2, t - t // 2]
                return conv3d(_unbatched(input, "conv3d", lambda x: _pad(x, tuple(pads))), weight, bias, 1, 0,
                              dilation, groups)
            padding = tuple(t // 2 for t in total)
        else:
            raise ValueError(f"padding must be an int, a triple, 'valid' or 'same'; got {padding!r}")
    return _unbatched(input, "conv3d", lambda x: C3.Conv3d.apply(x, weight, bias, stride=stride, padding=padding,
                                                                 dilation=dilation, groups=groups))


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """out[n, c, z, y, x] = max_{i, j, l} x_pad[n, c, s·z + d·i, s·y + d·j, s·x + d·l] over the kD×kH×kW window
    (padding is −∞; stride defaults to the kernel size). The gradient goes to the first maximum of each window.
    With ``return_indices`` also returns the flat index z·H·W + y·W + x of each maximum in its (D, H, W)
    volume, as PyTorch does."""
    def pool(x):
        if return_indices:
            index = P3.max_pool3d_indices(x.array, kernel_size, stride, padding, dilation, ceil_mode)
            return P3.VolumeGather.apply(x, index), Tensor._wrap(index)
        return P3.MaxPool3d.apply(x, kernel_size, stride=stride, padding=padding, dilation=dilation,
                                  ceil_mode=ceil_mode)

    return _unbatched(input, "max_pool3d", pool)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """out = (1/m) Σ over the kD×kH×kW window of the zero-padded input, m = the window's cells inside the padded
    input (``count_include_pad``) or inside the input only; ``divisor_override`` fixes m."""
    return _unbatched(input, "avg_pool3d", lambda x: P3.AvgPool3d.apply(
        x, kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
        divisor_override=divisor_override))


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average over bins [⌊i·D/od⌋, ⌈(i+1)·D/od⌉) × (the same along H and W), whatever D, H and W; ``None`` in
    ``output_size`` keeps that dimension. ``output_size=1`` is global average pooling of a clip or volume."""
    return _unbatched(input, "adaptive_avg_pool3d",
                      lambda x: P3.AdaptiveAvgPool3d.apply(x, output_size=output_size))


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max over the bins of :func:`adaptive_avg_pool3d`; with ``return_indices`` also returns the flat index
    z·H·W + y·W + x of each maximum in its (D, H, W) volume, as PyTorch does."""
    def pool(x):
        index = P3.adaptive_max_pool3d_indices(x.array, output_size)
        out = P3.VolumeGather.apply(x, index)
        return (out, Tensor._wrap(index)) if return_indices else out

    return _unbatched(input, "adaptive_max_pool3d", pool)
