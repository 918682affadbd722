"""A leaf's .grad is always an array of its own: taken without a copy only when nothing else can reach it."""
import weakref

import numpy as np

import ember
from ember.tensor import Function


class _Fresh(Function):
    """y = 2x; backward returns a new array and remembers it only weakly (the test's probe)."""

    probe = None

    def forward(self, x):
        return 2 * x

    def backward(self, g):
        out = 2 * g
        _Fresh.probe = weakref.ref(out)
        return (out,)


class _Keeps(Function):
    """y = 2x; backward returns an array it also keeps (a node that caches its gradient)."""

    def forward(self, x):
        return 2 * x

    def backward(self, g):
        self.kept = 2 * g
        return (self.kept,)


def test_a_private_gradient_is_taken_without_a_copy():
    x = ember.randn(4, requires_grad=True)
    _Fresh.apply(x).sum().backward()
    assert _Fresh.probe() is x.grad.array
    np.testing.assert_array_equal(x.grad.array, np.full(4, 2, np.float32))


def test_leaves_sharing_one_gradient_array_get_their_own():
    a, b = ember.randn(3, requires_grad=True), ember.randn(3, requires_grad=True)
    (a + b).sum().backward()  # Add hands the same array to both inputs
    assert not np.shares_memory(a.grad.array, b.grad.array)
    a.grad.array *= 5
    np.testing.assert_array_equal(b.grad.array, np.ones(3, np.float32))


def test_an_array_a_node_keeps_is_copied():
    x = ember.randn(3, requires_grad=True)
    y = _Keeps.apply(x)
    y.sum().backward(retain_graph=True)
    kept = y._ctx.kept
    assert not np.shares_memory(kept, x.grad.array)
    x.grad.array.fill(0)
    np.testing.assert_array_equal(kept, np.full(3, 2, np.float32))


def test_an_array_a_hook_keeps_is_copied():
    x = ember.randn(3, requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g))
    _Fresh.apply(x).sum().backward()
    x.grad.array.fill(0)
    np.testing.assert_array_equal(seen[0].numpy(), np.full(3, 2, np.float32))


def test_the_callers_gradient_is_copied():
    x = ember.randn(2, 3, requires_grad=True)
    g = np.ones((2, 3), np.float32)
    x.backward(g)
    x.grad.array += 1
    np.testing.assert_array_equal(g, np.ones((2, 3), np.float32))
    y = ember.randn(2, 3, requires_grad=True)
    (y * 1).backward(ember.from_numpy(g))  # Mul by 1 returns a new array; the caller's g is untouched either way
    y.grad.array += 1
    np.testing.assert_array_equal(g, np.ones((2, 3), np.float32))


class _KeepsView(Function):
    """y = 2x; backward returns a view of an array it keeps: the view is unreferenced, its memory is not."""

    def forward(self, x):
        return 2 * x

    def backward(self, g):
        self.kept = 2 * g.reshape(-1)
        return (self.kept.reshape(g.shape),)


def test_a_view_of_a_kept_array_is_copied():
    x = ember.randn(2, 3, requires_grad=True)
    y = _KeepsView.apply(x)
    y.sum().backward(retain_graph=True)
    x.grad.array.fill(0)
    np.testing.assert_array_equal(y._ctx.kept, np.full(6, 2, np.float32))
