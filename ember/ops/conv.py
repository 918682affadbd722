"""2-D convolution (cross-correlation, as in every framework) in NCHW.

Forward: ``out = W · im2col(x) + b`` — one matrix multiply over the whole batch.
Backward (NOTES §1: the error of a conv is a convolution of the upstream error):
  dW = g · colsᵀ,   db = Σ_{n,h,w} g,   dx = col2im(Wᵀ · g)  (or, for stride 1, a convolution of g).
Groups split channels into independent convolutions (depthwise when groups == C_in).
The array kernels live in ember/backend/conv2d.py.
"""
from __future__ import annotations

import numpy as np

from ember.backend import conv2d as C
from ember.backend import im2col as K
from ember.tensor import Function


def pair(v, name: str = "value") -> tuple[int, int]:
    """An int or a pair of ints as a pair of ints (stride=2 means (2, 2))."""
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


class _Convolution(Function):
    """What Conv2d and Conv3d share once their arguments are checked: the kernel for the groups (dense, one
    depthwise pass, or the dense kernel per group with the outputs side by side) and the matching backward.
    ``backend`` is the array module with ``dense_*``/``depthwise_*`` kernels of that dimensionality."""

    backend = C

    def _run(self, x, w, b, groups: int, geo: tuple):
        B = self.backend
        cout, cg = w.shape[:2]
        if groups == 1:
            self.kernel = "dense"
            out, self.cache = B.dense_forward(x, w, b, *geo)
        elif cg == 1:
            self.kernel = "depthwise"
            out, self.cache = B.depthwise_forward(x, w, b, *geo)
        else:
            self.kernel = "grouped"
            cin, og = x.shape[1] // groups, cout // groups
            parts = [B.dense_forward(x[:, k * cin:(k + 1) * cin], w[k * og:(k + 1) * og],
                                     None if b is None else b[k * og:(k + 1) * og], *geo) for k in range(groups)]
            self.cache = [p[1] for p in parts]
            out = np.concatenate([p[0] for p in parts], axis=1)
        self.has_bias = b is not None
        return out

    def backward(self, grad):
        B = self.backend
        nx, nw = self.needs_input_grad[:2]
        nb = self.has_bias and self.needs_input_grad[2]
        if self.kernel == "dense":
            return B.dense_backward(grad, self.cache, nx, nw, nb)
        if self.kernel == "depthwise":
            return B.depthwise_backward(grad, self.cache, nx, nw, nb)
        og = grad.shape[1] // len(self.cache)
        parts = [B.dense_backward(grad[:, k * og:(k + 1) * og], cache, nx, nw, nb)
                 for k, cache in enumerate(self.cache)]
        gx = np.concatenate([p[0] for p in parts], axis=1) if nx else None
        gw = np.concatenate([p[1] for p in parts], axis=0) if nw else None
        gb = np.concatenate([p[2] for p in parts], axis=0) if nb else None
        return gx, gw, gb


class Conv2d(_Convolution):
    """out[n, o] = b[o] + W[o] · cols[n] per group; see the module docstring for the backward formulas."""

    def forward(self, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        if x.ndim != 4:
            raise RuntimeError(f"conv2d expects a 4-D input (N, C, H, W), got shape {x.shape}")
        if w.ndim != 4:
            raise RuntimeError(f"conv2d expects a 4-D weight (C_out, C_in/groups, kH, kW), got shape {w.shape}")
        n, c, h, wd = x.shape
        cout, cg, kh, kw = w.shape
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise RuntimeError(f"conv2d: groups must be a positive integer, got {groups!r}")
        if cg * groups != c:
            raise RuntimeError(
                f"conv2d: input of shape {x.shape} has {c} channels but weight of shape {w.shape} "
                f"with groups={groups} expects {cg * groups} input channels (C_in/groups = {cg})"
            )
        if cout % groups:
            raise RuntimeError(
                f"conv2d: weight of shape {w.shape} has {cout} output channels, which groups={groups} does not divide"
            )
        if b is not None and b.shape != (cout,):
            raise RuntimeError(
                f"conv2d: bias of shape {b.shape} does not match weight of shape {w.shape}: expected ({cout},)"
            )
        sh, sw = pair(stride, "stride")
        ph, pw = pair(padding, "padding")
        dh, dw = pair(dilation, "dilation")
        if min(sh, sw) < 1 or min(dh, dw) < 1 or min(ph, pw) < 0:
            raise RuntimeError(f"conv2d: stride {sh, sw} and dilation {dh, dw} must be positive and padding "
                               f"{ph, pw} non-negative")
        ho, wo = K.out_size(h, kh, sh, ph, dh), K.out_size(wd, kw, sw, pw, dw)
        if ho <= 0 or wo <= 0:
            raise RuntimeError(
                f"conv2d: input of shape {x.shape} is too small for weight of shape {w.shape} "
                f"(padding {ph, pw}, dilation {dh, dw}); the output would be {ho}x{wo}"
            )
        return self._run(x, w, b, groups, ((sh, sw), (ph, pw), (dh, dw)))


class ConvTranspose2d(Function):
    """The adjoint of Conv2d (see ember/backend/conv_transpose.py): weight (C_in, C_out/groups, kH, kW),
    out = conv2d's input gradient of x, dx = conv2d(g), dW = conv2d's weight gradient, db = Σ_{n,h,w} g."""

    def forward(self, x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
        from ember.backend import conv_transpose as T

        if x.ndim != 4:
            raise RuntimeError(f"conv_transpose2d expects a 4-D input (N, C, H, W), got shape {x.shape}")
        if w.ndim != 4:
            raise RuntimeError(f"conv_transpose2d expects a 4-D weight (C_in, C_out/groups, kH, kW), got shape "
                               f"{w.shape}")
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise RuntimeError(f"conv_transpose2d: groups must be a positive integer, got {groups!r}")
        c = x.shape[1]
        if w.shape[0] != c or c % groups:
            raise RuntimeError(f"conv_transpose2d: input of shape {x.shape} has {c} channels but weight of shape "
                               f"{w.shape} expects {w.shape[0]} (divisible by groups={groups})")
        cout = w.shape[1] * groups
        if b is not None and b.shape != (cout,):
            raise RuntimeError(f"conv_transpose2d: bias of shape {b.shape} does not match weight of shape "
                               f"{w.shape} with groups={groups}: expected ({cout},)")
        geo = [pair(v, name) for v, name in ((stride, "stride"), (padding, "padding"),
                                             (output_padding, "output_padding"), (dilation, "dilation"))]
        (sh, sw), (ph, pw), (oph, opw), (dh, dw) = geo
        if min(sh, sw, dh, dw) < 1 or min(ph, pw, oph, opw) < 0:
            raise RuntimeError(f"conv_transpose2d: stride {sh, sw} and dilation {dh, dw} must be positive, padding "
                               f"{ph, pw} and output_padding {oph, opw} non-negative")
        if oph >= max(sh, dh) or opw >= max(sw, dw):
            raise RuntimeError(f"conv_transpose2d: output_padding {oph, opw} must be smaller than either stride "
                               f"{sh, sw} or dilation {dh, dw}")
        kh, kw = w.shape[2:]
        ho, wo = (T.out_size(x.shape[2], kh, sh, ph, dh, oph), T.out_size(x.shape[3], kw, sw, pw, dw, opw))
        if ho <= 0 or wo <= 0:
            raise RuntimeError(f"conv_transpose2d: input of shape {x.shape} with weight of shape {w.shape} and "
                               f"padding {ph, pw} gives an empty output ({ho}x{wo})")
        self.geo = ((sh, sw), (ph, pw), (dh, dw))
        cg = c // groups
        parts = [T.forward(x[:, k * cg:(k + 1) * cg], w[k * cg:(k + 1) * cg], (sh, sw), (ph, pw), (oph, opw),
                           (dh, dw)) for k in range(groups)]
        out = parts[0] if groups == 1 else np.concatenate(parts, axis=1)
        if b is not None:
            out = out + b.reshape(1, -1, 1, 1)
        self.x, self.w, self.groups, self.has_bias = x, w, groups, b is not None
        return out

    def backward(self, grad):
        from ember.backend import conv_transpose as T

        nx, nw = self.needs_input_grad[:2]
        nb = self.has_bias and self.needs_input_grad[2]
        x, w, groups = self.x, self.w, self.groups
        cg, og = x.shape[1] // groups, w.shape[1]
        parts = [T.backward(grad[:, k * og:(k + 1) * og], x[:, k * cg:(k + 1) * cg], w[k * cg:(k + 1) * cg],
                            *self.geo, nx, nw) for k in range(groups)]
        gx = (parts[0][0] if groups == 1 else np.concatenate([p[0] for p in parts], axis=1)) if nx else None
        gw = (parts[0][1] if groups == 1 else np.concatenate([p[1] for p in parts], axis=0)) if nw else None
        gb = grad.sum(axis=(0, 2, 3)) if nb else None
        return gx, gw, gb
