"""3-D convolution (cross-correlation) in NCDHW, for video and volumetric (medical) data.

Forward: ``out[n, o] = b[o] + W[o] · cols[n]`` per group, the columns built from a strided window view
of the padded input (ember/backend/conv3d.py), then one GEMM.
Backward (the error of a conv is a convolution of the upstream error):
  dW = g · colsᵀ,   db = Σ_{n,d,h,w} g,   dx = col2im(Wᵀ · g).
Groups split channels into independent convolutions (depthwise when groups == C_in).
"""
from __future__ import annotations

import numpy as np

from ember.backend import conv3d as C
from ember.ops.conv import _Convolution


def triple(v, name: str = "value") -> tuple[int, int, int]:
    """An int or a triple of ints as a triple of ints (stride=2 means (2, 2, 2)), PyTorch's ``_triple``."""
    if isinstance(v, (tuple, list)):
        if len(v) != 3:
            raise ValueError(f"{name} must be an int or a triple of ints, got {v!r}")
        return int(v[0]), int(v[1]), int(v[2])
    return int(v), int(v), int(v)


class Conv3d(_Convolution):
    """out[n, o, z, y, x] = b[o] + Σ_{c in o's group, i, j, l} W[o, c, i, j, l] · x_pad[n, c, s·z + d·i, s·y + d·j,
    s·x + d·l]. Backward: dW = g · colsᵀ, db = Σ g, dx = col2im(Wᵀ · g) (see the module docstring)."""

    backend = C

    def forward(self, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        if x.ndim != 5:
            raise RuntimeError(f"conv3d expects a 5-D input (N, C, D, H, W), got shape {x.shape}")
        if w.ndim != 5:
            raise RuntimeError(f"conv3d expects a 5-D weight (C_out, C_in/groups, kD, kH, kW), got shape {w.shape}")
        c = x.shape[1]
        cout, cg = w.shape[:2]
        if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
            raise RuntimeError(f"conv3d: groups must be a positive integer, got {groups!r}")
        if cg * groups != c:
            raise RuntimeError(
                f"conv3d: input of shape {x.shape} has {c} channels but weight of shape {w.shape} "
                f"with groups={groups} expects {cg * groups} input channels (C_in/groups = {cg})")
        if cout % groups:
            raise RuntimeError(
                f"conv3d: weight of shape {w.shape} has {cout} output channels, which groups={groups} does not divide")
        if b is not None and b.shape != (cout,):
            raise RuntimeError(
                f"conv3d: bias of shape {b.shape} does not match weight of shape {w.shape}: expected ({cout},)")
        s, p, d = triple(stride, "stride"), triple(padding, "padding"), triple(dilation, "dilation")
        if min(s) < 1 or min(d) < 1 or min(p) < 0:
            raise RuntimeError(f"conv3d: stride {s} and dilation {d} must be positive and padding {p} non-negative")
        o = C.out_sizes(x.shape[2:], w.shape[2:], s, p, d)
        if min(o) <= 0:
            raise RuntimeError(
                f"conv3d: input of shape {x.shape} is too small for weight of shape {w.shape} "
                f"(padding {p}, dilation {d}); the output would be {o[0]}x{o[1]}x{o[2]}")
        return self._run(x, w, b, groups, (s, p, d))
