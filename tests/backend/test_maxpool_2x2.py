"""The 2×2/stride-2 max-pool fast path against a direct definition, ties included (ReLU zeros)."""
import numpy as np

import ember
import ember.nn.functional as F


def reference(x, g):
    n, c, h, w = x.shape
    win = x.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    arg = win.argmax(-1)  # the first maximum, as PyTorch routes the gradient
    out = np.take_along_axis(win, arg[..., None], -1)[..., 0]
    dwin = np.zeros_like(win)
    np.put_along_axis(dwin, arg[..., None], g[..., None], -1)
    dx = dwin.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h, w)
    return out, dx


def test_fast_path_matches_definition_with_ties():
    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal((3, 4, 6, 8)), 0).astype(np.float32)  # many all-zero windows
    x[0, 0, :2, :2] = 1.0  # a four-way tie at a positive value
    g = rng.standard_normal((3, 4, 3, 4)).astype(np.float32)
    t = ember.tensor(x, requires_grad=True)
    out = F.max_pool2d(t, 2)
    out.backward(ember.tensor(g))
    ref_out, ref_dx = reference(x, g)
    np.testing.assert_array_equal(out.array, ref_out)
    np.testing.assert_array_equal(t.grad.array, ref_dx)


def test_fast_path_on_a_channel_major_view():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((4, 2, 6, 6)).astype(np.float32)  # (C, N, H, W) memory
    x = base.transpose(1, 0, 2, 3)
    g = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    t = ember.Tensor(x, requires_grad=True)
    out = F.max_pool2d(t, 2)
    out.backward(ember.tensor(g))
    ref_out, ref_dx = reference(np.ascontiguousarray(x), g)
    np.testing.assert_array_equal(out.array, ref_out)
    np.testing.assert_array_equal(t.grad.array, ref_dx)
