"""The Tensor and its graph: constructors, dtypes, seeding, recording, backward, hooks, grad mode."""
from __future__ import annotations

import gc
import sys
import threading
import time
import weakref

import numpy as np
import pytest

import ember

# --------------------------------------------------------------------------- constructors and dtypes


def test_float_data_defaults_to_float32_and_integers_to_int64():
    assert ember.tensor([1.0, 2.0]).dtype == np.float32
    assert ember.tensor(3.5).dtype == np.float32 and ember.tensor(3.5).shape == ()
    assert ember.tensor([1, 2, 3]).dtype == np.int64  # class labels
    assert ember.tensor([True, False]).dtype == np.bool_
    assert ember.tensor([1, 2], dtype=ember.float64).dtype == np.float64
    assert ember.tensor(np.zeros(2, np.float64)).dtype == np.float64  # an ndarray keeps its dtype
    assert ember.tensor([1.0], dtype="float64").dtype == np.float64


def test_tensor_copies_but_from_numpy_shares():
    a = np.zeros(3, np.float32)
    t, shared = ember.tensor(a), ember.from_numpy(a)
    a[0] = 7
    assert t.array[0] == 0 and shared.array[0] == 7


@pytest.mark.parametrize("make,shape,dtype", [
    (lambda: ember.zeros(2, 3), (2, 3), np.float32),
    (lambda: ember.zeros((2, 3), dtype=ember.float64), (2, 3), np.float64),
    (lambda: ember.ones(4), (4,), np.float32),
    (lambda: ember.full((2, 2), 1.5), (2, 2), np.float32),
    (lambda: ember.full((2,), 7), (2,), np.int64),
    (lambda: ember.arange(5), (5,), np.int64),
    (lambda: ember.arange(0, 1, 0.25), (4,), np.float32),
    (lambda: ember.arange(2, 8, 2, dtype=ember.float64), (3,), np.float64),
    (lambda: ember.linspace(0, 1, 5), (5,), np.float32),
    (lambda: ember.eye(3), (3, 3), np.float32),
    (lambda: ember.randn(2, 3), (2, 3), np.float32),
    (lambda: ember.randn(2, 3, dtype=ember.float64), (2, 3), np.float64),
    (lambda: ember.rand(4, 1), (4, 1), np.float32),
    (lambda: ember.empty(3, 2), (3, 2), np.float32),
    (lambda: ember.empty_like(ember.zeros(2, 5, dtype=ember.float64)), (2, 5), np.float64),
    (lambda: ember.zeros_like(ember.arange(3)), (3,), np.int64),
    (lambda: ember.ones_like(ember.randn(2, 2)), (2, 2), np.float32),
    (lambda: ember.full_like(ember.randn(3), 2.0), (3,), np.float32),
    (lambda: ember.randn_like(ember.randn(2, dtype=ember.float64)), (2,), np.float64),
    (lambda: ember.randint(0, 10, (5,)), (5,), np.int64),
    (lambda: ember.randperm(6), (6,), np.int64),
])
def test_constructors_shape_and_dtype(make, shape, dtype):
    t = make()
    assert t.shape == shape and t.dtype == dtype and not t.requires_grad


def test_constructor_values():
    np.testing.assert_array_equal(ember.arange(1, 7, 2).array, [1, 3, 5])
    np.testing.assert_array_equal(ember.full((2,), 1.5).array, [1.5, 1.5])
    assert ember.zeros(2, 2).array.sum() == 0 and ember.ones(2, 2).array.sum() == 4
    r = ember.rand(1000)
    assert 0 <= r.array.min() and r.array.max() < 1
    assert sorted(ember.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    assert ember.zeros(2, requires_grad=True).requires_grad


def test_unknown_dtype_names_the_valid_ones():
    with pytest.raises(TypeError, match=r"unknown dtype 'float8'; valid dtypes are: .*float32.*float64.*int64"):
        ember.zeros(2, dtype="float8")
    with pytest.raises(TypeError, match="valid dtypes"):
        ember.tensor([1.0]).to(np.complex64)


def test_data_that_makes_no_tensor_is_refused_with_a_sentence():
    with pytest.raises(ValueError, match="unequal lengths"):
        ember.tensor([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match="cannot build a tensor of dtype complex128; valid dtypes are"):
        ember.tensor([1 + 2j])


def test_manual_seed_reproduces_every_draw():
    def draws():
        return (ember.randn(3).array, ember.rand(2).array, ember.randint(0, 100, (4,)).array, ember.randperm(8).array,
                ember.empty(3).normal_().array.copy())

    ember.manual_seed(123)
    first = draws()
    ember.manual_seed(123)
    again = draws()
    ember.manual_seed(124)
    other = draws()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])
    assert ember.initial_seed() == 124


def test_rng_state_round_trips():
    state = ember.get_rng_state()
    a = ember.randn(4).array
    ember.set_rng_state(state)
    np.testing.assert_array_equal(ember.randn(4).array, a)


# --------------------------------------------------------------------------- requires_grad and recording


def test_requires_grad_propagates_and_only_floats_can_require_it():
    x = ember.randn(3, requires_grad=True)
    c = ember.randn(3)
    y = x * c
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    assert not (c * 2).requires_grad and (c * 2).grad_fn is None
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients, got dtype int64"):
        ember.arange(3).requires_grad_()
    labels = x.long()  # casting to an integer type leaves the graph
    assert labels.dtype == np.int64 and not labels.requires_grad


def test_grad_accumulates_across_two_backward_calls():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [2, 4, 6])
    grad_tensor = x.grad
    (3 * x).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [5, 7, 9])
    assert x.grad is grad_tensor  # accumulated into the same .grad tensor
    x.grad = None
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.array, [1, 1, 1])


def test_a_tensor_used_twice_gets_both_contributions():
    x = ember.tensor([2.0], requires_grad=True)
    y = x * x + x * 3  # diamond: x feeds two branches that meet again
    y.backward()
    assert x.grad.item() == pytest.approx(2 * 2 + 3)
    z = ember.tensor([1.5], requires_grad=True)
    (z + z * z).backward()  # z is an input of the add and of the multiply below it
    assert z.grad.item() == pytest.approx(1 + 2 * 1.5)


def test_second_backward_raises_unless_the_graph_is_retained():
    x = ember.randn(3, requires_grad=True)
    loss = (x.exp() * 2).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time.*retain_graph=True"):
        loss.backward()
    x.grad = None
    loss = (x.exp() * 2).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.array, 4 * np.exp(x.array), rtol=1e-6)


def test_backward_frees_the_graph():
    x = ember.randn(1000, requires_grad=True)
    mid = x * 3
    ref = weakref.ref(mid)
    out = mid.tanh().sum()
    del mid
    gc.collect()
    assert ref() is not None  # held by the recorded graph
    out.backward()
    gc.collect()
    assert ref() is None  # released by backward: saved arrays and links to inputs are gone
    assert out.grad_fn.parents is None


@pytest.mark.parametrize("style", ["context", "decorator", "bare_decorator"])
def test_no_grad_records_nothing(style):
    x = ember.randn(3, requires_grad=True)

    def compute():
        return (x * 2).exp().sum()

    if style == "context":
        with ember.no_grad():
            y = compute()
    elif style == "decorator":
        y = ember.no_grad()(compute)()
    else:
        y = ember.no_grad(compute)()
    assert not y.requires_grad and y.grad_fn is None
    assert ember.is_grad_enabled()
    assert compute().requires_grad


def test_grad_mode_is_restored_after_errors_recursion_and_nesting():
    with pytest.raises(ValueError):
        with ember.no_grad():
            raise ValueError("boom")
    assert ember.is_grad_enabled()

    @ember.no_grad()
    def depth(n):
        assert not ember.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3 and ember.is_grad_enabled()
    with ember.no_grad():
        with ember.enable_grad():
            assert (ember.randn(2, requires_grad=True) * 2).requires_grad
        assert not ember.is_grad_enabled()
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled()
    ember.set_grad_enabled(True)
    with ember.set_grad_enabled(False):
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with ember.no_grad():
        t = threading.Thread(target=lambda: seen.append(ember.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_a_chain_of_10000_ops_backprops_without_recursion():
    x = ember.tensor([1.0], dtype=ember.float64, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    start = time.perf_counter()
    y.backward()
    assert time.perf_counter() - start < 5
    assert x.grad.item() == pytest.approx(1.0001 ** 10_000, rel=1e-9)


def test_broadcast_gradients_are_summed_to_each_input_shape():
    a = ember.ones(3, 1, requires_grad=True)
    b = ember.ones(1, 4, requires_grad=True)
    s = ember.tensor(2.0, requires_grad=True)
    (a * b * s).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4) and s.grad.shape == ()
    np.testing.assert_array_equal(a.grad.array, np.full((3, 1), 8.0))
    np.testing.assert_array_equal(b.grad.array, np.full((1, 4), 6.0))
    assert s.grad.item() == 12.0


def test_backward_needs_a_gradient_for_a_non_scalar():
    y = ember.randn(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"implicitly created only for scalar outputs.*shape \(2, 3\)"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"gradient has shape \(3,\) but the tensor has shape \(2, 3\)"):
        y.backward(ember.ones(3))
    y.backward(ember.ones(2, 3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.randn(2).sum().backward()


# --------------------------------------------------------------------------- hooks, detach, item, repr


def test_register_hook_sees_and_can_replace_the_gradient():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    mid = x * 3
    mid.register_hook(lambda g: seen.append(g.array.copy()))
    handle = x.register_hook(lambda g: g * 10)
    (mid * mid).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * mid.array)
    np.testing.assert_array_equal(x.grad.array, 10 * 18 * x.array)
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    np.testing.assert_array_equal(x.grad.array, [1, 1])
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ember.randn(2).register_hook(lambda g: g)


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = ember.randn(3, requires_grad=True)
    mid = x * 2
    mid.retain_grad()
    (mid * mid).sum().backward()
    np.testing.assert_allclose(mid.grad.array, 2 * mid.array)


def test_detach_shares_data_and_leaves_the_graph():
    x = ember.randn(3, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    e = x.detach()
    e.array[0] = 42.0
    assert x.array[0] == 42.0
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()


def test_item():
    assert ember.tensor([[2.5]]).item() == 2.5 and isinstance(ember.tensor(3).item(), int)
    with pytest.raises(ValueError, match=r"one-element tensors.*shape \(2,\)"):
        ember.tensor([1.0, 2.0]).item()


def test_repr():
    assert repr(ember.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(ember.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(ember.tensor([1.0], dtype=ember.float64)) == "tensor([1.], dtype=ember.float64)"
    assert repr(ember.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(ember.tensor([1.0], requires_grad=True) * 2)


def test_a_0d_tensor_formats_as_its_number_like_pytorch():
    acc = ember.tensor(7) / 8  # running_corrects.double() / dataset_size in PyTorch's tutorials
    assert f"{acc:.4f}" == "0.8750" and f"{ember.tensor(3):>3d}" == "  3" and f"{ember.tensor(True)}" == "True"
    assert f"{ember.tensor([1, 2])}" == str(ember.tensor([1, 2]))
    with pytest.raises(TypeError, match="format"):
        f"{ember.tensor([1.0, 2.0]):.2f}"


# --------------------------------------------------------------------------- PyTorch call forms


def test_randint_high_and_size_like_pytorch():
    assert ember.randint(10, (3, 2)).shape == (3, 2)  # randint(high, size): low = 0
    x = ember.randint(3, 5, size=(200,))
    assert x.dtype == np.int64 and x.array.min() >= 3 and x.array.max() < 5
    assert ember.randint(0, 10, (4,), dtype=ember.float32).dtype == np.float32
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        ember.randint(0, 10, (4,), requires_grad=True)


def test_arange_accepts_tensor_and_numpy_bounds():
    assert ember.arange(ember.tensor(4)).tolist() == [0, 1, 2, 3] and ember.arange(ember.tensor(4)).dtype == np.int64
    assert ember.arange(np.int64(3)).dtype == np.int64 and ember.arange(ember.tensor(2.0)).dtype == np.float32


def test_dtype_conversions_by_name_and_by_example():
    x = ember.tensor([1.7, -2.3])
    assert x.half().dtype == np.float16
    assert x.type_as(ember.tensor([1])).tolist() == [1, -2]
    assert x.to(ember.zeros(1, dtype=ember.float64)).dtype == np.float64
    assert x.type() == "ember.FloatTensor" and ember.arange(2).type() == "ember.LongTensor"
    assert x.type("torch.DoubleTensor").dtype == np.float64 and x.type("ember.IntTensor").dtype == np.int32
    assert x.element_size() == 4 and x.is_contiguous()


def test_inference_mode_is_no_grad_as_context_and_decorator():
    x = ember.ones(2, requires_grad=True)
    with ember.inference_mode():
        assert not (x * 2).requires_grad
    with ember.inference_mode(False):
        assert (x * 2).requires_grad

    @ember.inference_mode
    def bare(t):
        return t * 2

    @ember.inference_mode()
    def called(t):
        return t * 2

    assert not bare(x).requires_grad and not called(x).requires_grad and ember.is_grad_enabled()


@pytest.mark.parametrize("op", [
    lambda t: t.add_(1), lambda t: t.sub_(1), lambda t: t.mul_(2), lambda t: t.div_(2), lambda t: t.zero_(),
    lambda t: t.fill_(1.0), lambda t: t.clamp_(0, 1), lambda t: t.copy_(ember.ones(3)), lambda t: t.uniform_(),
    lambda t: t.normal_(),
], ids=["add_", "sub_", "mul_", "div_", "zero_", "fill_", "clamp_", "copy_", "uniform_", "normal_"])
def test_in_place_methods_refuse_tensors_the_graph_tracks(op):
    leaf = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad cannot be modified in place"):
        op(leaf)
    with pytest.raises(RuntimeError, match="a tensor in the autograd graph"):
        op(leaf * 2)  # not recorded: it would silently drop a gradient path
    with ember.no_grad():
        op(leaf)  # the optimiser's and the initialiser's way
    op(ember.zeros(3))  # tensors outside the graph are fine


# --------------------------------------------------------------------------- .data (PyTorch's) and .array


def test_data_is_a_detached_tensor_sharing_memory():
    lin = ember.nn.Linear(3, 2)
    w = lin.weight
    assert isinstance(w.data, ember.Tensor) and not w.data.requires_grad and w.requires_grad
    assert isinstance(w.array, np.ndarray) and np.shares_memory(w.data.array, w.array)
    w.data.normal_(0.0, 0.02)  # the classic initialisation idiom: in place, not recorded, no error on the leaf
    assert 0 < w.array.std() < 0.1
    lin.bias.data.zero_()
    assert not lin.bias.array.any()
    w.data.copy_(w.data * 2)
    w.data.add_(ember.ones(2, 3), alpha=-1)
    values, idx = ember.max(lin(ember.randn(4, 3)).data, 1)  # `_, predicted = torch.max(outputs.data, 1)`
    assert values.shape == (4,) and idx.dtype == np.int64
    assert w.data.size() == (2, 3) and w.data.numpy() is w.array


def test_assigning_data_replaces_the_values():
    p = ember.nn.Parameter(ember.zeros(2))
    p.data = ember.ones(3, 4, dtype=ember.float64)  # shape and dtype follow, as in PyTorch
    assert p.shape == (3, 4) and p.dtype == np.float64 and p.requires_grad
    p.data = np.full(2, 5.0, np.float32)
    assert p.tolist() == [5.0, 5.0]
    with pytest.raises(TypeError, match="Tensor.data must be set to a tensor or a NumPy array, got int"):
        p.data = 3


def test_detach_in_place_makes_a_leaf_outside_the_graph():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    assert y.detach_() is y and not y.requires_grad and y.is_leaf
    (y * x).sum().backward()  # y is a constant now
    np.testing.assert_array_equal(x.grad.array, [2.0, 2.0])


def test_assignment_into_the_graph_is_recorded_like_pytorch(torch):
    w, tw = ember.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    h, th = ember.zeros(4, 2), torch.zeros(4, 2)
    for t in range(4):  # an RNN-style loop filling a buffer row by row
        h[t] = ember.tanh(w * (t + 1) * 0.3)
        th[t] = torch.tanh(tw * (t + 1) * 0.3)
    (h * h).sum().backward()
    (th * th).sum().backward()
    np.testing.assert_allclose(w.grad.array, tw.grad.numpy(), rtol=1e-6)
    assert h.requires_grad and not h.is_leaf


def test_assignment_rules():
    x = ember.zeros(3)
    view = x[1:]
    x[1] = 5.0  # outside the graph: in place, views see it
    assert view.tolist() == [5.0, 0.0]
    leaf = ember.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad cannot be assigned into"):
        leaf[0] = 1.0
    with ember.no_grad():
        leaf[0] = 1.0
    assert leaf.tolist() == [1.0, 0.0, 0.0] and leaf.is_leaf
    with pytest.raises(ValueError, match=r"cannot assign a value of shape \(2,\) to index"):
        y = leaf * 2
        y[0] = ember.ones(2)


def test_ops_that_read_a_tensor_before_an_assignment_keep_their_gradient(torch):
    """PyTorch's version counters, kept by ember: z read y before y[0] = 5, so z's gradient reaches x whole."""
    out = []
    for lib in (ember, torch):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2
        z = y * 3  # reads all of y
        y[0] = 5.0  # ... which then changes
        (z.sum() + y.sum()).backward()
        out.append(x.grad.numpy().copy())
    np.testing.assert_array_equal(*out)  # [6, 8, 8], not [0, 8, 8]


def test_a_node_that_saved_a_tensor_before_an_assignment_uses_the_values_it_saw():
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    z = y * y  # saves y = [2, 4, 6]; PyTorch refuses backward here (a saved tensor was modified in place)
    y[0] = 5.0
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.array, [8.0, 16.0, 24.0])  # d(4x²)/dx with the values z saw


def test_a_buffer_filled_row_by_row_keeps_no_earlier_copies():
    h = ember.zeros(50, 1000)
    w = ember.ones(1000, requires_grad=True)
    for t in range(50):
        h[t] = w * t
    states = sys.modules["ember.tensor"]._earlier_states[id(h)]
    assert len(states) == 50 and all(s.array.strides == (0, 0) for s in states)  # shape and dtype only
    h.sum().backward()
    np.testing.assert_allclose(w.grad.array, np.full(1000, sum(range(50)), np.float32))
