"""Sampling an NCHW input at arbitrary points (Spatial Transformer Networks, Jaderberg et al. 2015).

A grid (N, Ho, Wo, 2) holds normalised (x, y) ∈ [−1, 1]²: −1 and +1 are the centres of the corner pixels
with ``align_corners=True`` and their outer edges with ``align_corners=False``, as in PyTorch. Points are
mapped to pixel coordinates, folded by the padding mode, and read bilinearly or from the nearest pixel.
All work is vectorised over the N·Ho·Wo points; the input gradient is a scatter-add.
"""
from __future__ import annotations

import numpy as np

from ember.tensor import Function

MODES = ("bilinear", "nearest")
PADDING_MODES = ("zeros", "border", "reflection")


def _unnormalise(coord, size, align_corners):
    """Pixel coordinate of a normalised one, and d(pixel)/d(normalised)."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1), (size - 1) / 2
    return ((coord + 1) * size - 1) / 2, size / 2


def _clip(coord, size):
    """Clamp to [0, size − 1]; the derivative is 0 where clamped (PyTorch's clip_coordinates_set_grad)."""
    inside = (coord > 0) & (coord < size - 1)
    return np.clip(coord, 0, size - 1), inside.astype(coord.dtype)


def _reflect(coord, twice_low, twice_high):
    """Reflect into [low, high] (both halved), with the ±1 derivative of the folding."""
    if twice_low == twice_high:
        return np.zeros_like(coord), np.zeros_like(coord)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    c = coord - low
    sign = np.where(c < 0, -1.0, 1.0).astype(coord.dtype)
    c = np.abs(c)
    extra = np.fmod(c, span)
    flips = np.floor(c / span)
    even = (flips % 2) == 0
    return np.where(even, extra + low, span - extra + low), np.where(even, sign, -sign)


def source_coords(coord, size, padding_mode, align_corners):
    """Pixel coordinate of normalised ``coord`` along an axis of ``size`` pixels after the padding mode's
    folding, and its derivative with respect to ``coord``."""
    pix, scale = _unnormalise(coord, size, align_corners)
    mult = np.full_like(pix, scale)
    if padding_mode == "border":
        pix, m = _clip(pix, size)
        mult *= m
    elif padding_mode == "reflection":
        if align_corners:
            pix, m = _reflect(pix, 0, 2 * (size - 1))
        else:
            pix, m = _reflect(pix, -1, 2 * size - 1)
        mult *= m
        pix, m = _clip(pix, size)
        mult *= m
    return pix, mult


class GridSample(Function):
    """out[n, c, i, j] = Σ_corners w · x[n, c, y_corner, x_corner] at the grid point (x, y) = grid[n, i, j]
    mapped to pixels (``bilinear``: the 4 neighbours with weights (1 − |x − x_k|)(1 − |y − y_k|), corners
    outside the input reading 0; ``nearest``: the rounded point, half to even).

    Backward: dx scatters g·w to the corners; for bilinear, d out/d x_pix = Σ_k v_k · ∂w_k/∂x_pix (likewise y),
    times the chain factor d x_pix / d grid_x of :func:`source_coords`. Nearest has no grid gradient.
    """

    def forward(self, x, grid, mode="bilinear", padding_mode="zeros", align_corners=False):
        if x.ndim != 4:
            raise RuntimeError(f"grid_sample expects a 4-D input (N, C, H, W), got shape {x.shape}")
        if grid.ndim != 4 or grid.shape[-1] != 2:
            raise RuntimeError(f"grid_sample expects a grid of shape (N, H_out, W_out, 2), got shape {grid.shape}")
        if grid.shape[0] != x.shape[0]:
            raise RuntimeError(f"grid_sample: grid of shape {grid.shape} and input of shape {x.shape} must have the "
                               f"same batch size")
        if mode not in MODES:
            raise ValueError(f"grid_sample: mode must be one of {MODES}, got {mode!r}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"grid_sample: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        n, c, h, w = x.shape
        _, ho, wo, _ = grid.shape
        grid = grid.astype(x.dtype, copy=False)
        gx, gy = grid[..., 0].reshape(n, -1), grid[..., 1].reshape(n, -1)  # (N, P)
        ix, mx = source_coords(gx, w, padding_mode, align_corners)
        iy, my = source_coords(gy, h, padding_mode, align_corners)
        self.x_shape, self.grid_shape, self.mode = x.shape, (n, ho, wo, 2), mode
        xt = x.transpose(0, 2, 3, 1)  # (N, H, W, C): a gather picks whole channel vectors
        batch = np.arange(n)[:, None]
        if mode == "nearest":
            cx, cy = np.rint(ix).astype(np.int64), np.rint(iy).astype(np.int64)
            ok = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
            cx, cy = np.where(ok, cx, 0), np.where(ok, cy, 0)
            vals = xt[batch, cy, cx] * ok[..., None].astype(x.dtype)  # (N, P, C)
            self.corners = [(cy, cx, ok.astype(x.dtype))]
            return vals.transpose(0, 2, 1).reshape(n, c, ho, wo)
        x0, y0 = np.floor(ix), np.floor(iy)
        fx, fy = ix - x0, iy - y0  # fractional parts
        x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
        out = np.zeros((n, ix.shape[1], c), dtype=x.dtype)
        corners, vals = [], []
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                cy, cx = y0 + dy, x0 + dx
                ok = (cx >= 0) & (cx < w) & (cy >= 0) & (cy < h)
                cy, cx = np.where(ok, cy, 0), np.where(ok, cx, 0)
                v = xt[batch, cy, cx] * ok[..., None].astype(x.dtype)  # (N, P, C), 0 outside
                out += (wy * wx)[..., None] * v
                corners.append((cy, cx, (wy * wx * ok).astype(x.dtype)))
                vals.append(v)
        self.corners = corners
        if self.needs_input_grad[1]:
            self.vals, self.frac, self.mult = vals, (fx, fy), (mx, my)
        return out.transpose(0, 2, 1).reshape(n, c, ho, wo)

    def backward(self, g):
        n, c, h, w = self.x_shape
        gp = g.reshape(n, c, -1).transpose(0, 2, 1)  # (N, P, C)
        batch = np.arange(n)[:, None]
        dx = None
        if self.needs_input_grad[0]:
            dxt = np.zeros((n, h, w, c), dtype=g.dtype)
            for cy, cx, wt in self.corners:
                np.add.at(dxt, (batch, cy, cx), wt[..., None] * gp)
            dx = dxt.transpose(0, 3, 1, 2)
        dgrid = None
        if self.needs_input_grad[1]:
            if self.mode == "nearest":
                dgrid = np.zeros(self.grid_shape, dtype=g.dtype)
            else:
                (fx, fy), (mx, my) = self.frac, self.mult
                nw, ne, sw, se = (np.einsum("npc,npc->np", v, gp) for v in self.vals)  # g · corner value
                d_ix = (ne - nw) * (1 - fy) + (se - sw) * fy
                d_iy = (sw - nw) * (1 - fx) + (se - ne) * fx
                dgrid = np.stack([d_ix * mx, d_iy * my], axis=-1).reshape(self.grid_shape).astype(g.dtype)
        return dx, dgrid
