"""ember.autograd: grad, backward(inputs=...), custom Functions written PyTorch's way, anomaly mode, gradcheck."""
import numpy as np
import pytest

import ember
from ember import autograd


def _xw():
    rng = np.random.default_rng(0)
    return (ember.tensor(rng.standard_normal(3), requires_grad=True),
            ember.tensor(rng.standard_normal(3), requires_grad=True))


# --------------------------------------------------------------------------- grad


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x, w = _xw()
    h = x * w
    y = (h * h).sum()
    gx, gh = autograd.grad(y, [x, h])
    np.testing.assert_allclose(gx.array, 2 * x.array * w.array ** 2, rtol=1e-6)
    np.testing.assert_allclose(gh.array, 2 * h.array, rtol=1e-6)
    assert x.grad is None and w.grad is None


def test_grad_sums_over_outputs_weighted_by_grad_outputs():
    x, _ = _xw()
    a, b = x * 2, x * x
    (g,) = autograd.grad([a, b], x, grad_outputs=[ember.ones(3), ember.full((3,), 0.5)])
    np.testing.assert_allclose(g.array, 2 + x.array, rtol=1e-6)


def test_grad_unused_inputs_and_freed_graphs():
    x, w = _xw()
    y = (x * 3).sum()
    with pytest.raises(RuntimeError, match="input 1 of autograd.grad was not used"):
        autograd.grad(y, [x, w], retain_graph=True)
    gx, gw = autograd.grad(y, [x, w], allow_unused=True, retain_graph=True)
    assert gw is None and np.allclose(gx.array, 3)
    _, gw = autograd.grad(y, [x, w], materialize_grads=True)
    assert np.array_equal(gw.array, np.zeros(3, np.float32))
    with pytest.raises(RuntimeError, match="graph"):  # freed after a call without retain_graph
        autograd.grad(y, x)


def test_grad_errors_name_the_problem():
    x, _ = _xw()
    with pytest.raises(RuntimeError, match="only for scalar outputs; output 0 has shape"):
        autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match=r"grad_outputs\[0\] has shape \(2,\) but output 0 has shape \(3,\)"):
        autograd.grad(x * 2, x, grad_outputs=[ember.ones(2)])
    with pytest.raises(RuntimeError, match="input 0 of autograd.grad does not require grad"):
        autograd.grad((x * 2).sum(), ember.ones(3))
    with pytest.raises(NotImplementedError, match="higher-order"):
        autograd.grad((x * 2).sum(), x, create_graph=True)


def test_grad_matches_torch(torch):
    x, w = _xw()
    tx, tw = (torch.tensor(t.array, requires_grad=True) for t in (x, w))
    gs = autograd.grad(ember.tanh(x * w).sum() + (x * x).mean(), [x, w])
    ts = torch.autograd.grad(torch.tanh(tx * tw).sum() + (tx * tx).mean(), [tx, tw])
    for g, t in zip(gs, ts):
        np.testing.assert_allclose(g.array, t.numpy(), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- backward


def test_backward_inputs_accumulates_only_into_those():
    x, w = _xw()
    (x * w).sum().backward(inputs=[w])
    assert x.grad is None and np.allclose(w.grad.array, x.array)
    (x * w).sum().backward(inputs=w)
    assert np.allclose(w.grad.array, 2 * x.array)  # accumulates, like .grad always does


def test_autograd_backward_over_several_tensors():
    x, _ = _xw()
    autograd.backward([x * 2, (x * x).sum()], [ember.ones(3), None])
    np.testing.assert_allclose(x.grad.array, 2 + 2 * x.array, rtol=1e-6)


# --------------------------------------------------------------------------- custom Functions


def _clip_class(lib):
    """The same PyTorch-style custom Function, written once for both libraries."""

    class Clip(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, lo):
            ctx.save_for_backward(x)
            ctx.lo = lo
            return x.clamp(min=lo)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * (x > ctx.lo), None

    return Clip


def test_custom_function_matches_torch(torch):
    x = np.array([-1.0, 0.5, 2.0, -0.2], np.float32)
    ex, tx = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey = _clip_class(ember).apply(ex * 3, 0.1)
    ty = _clip_class(torch).apply(tx * 3, 0.1)
    (ey * ey).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(ey.array, ty.detach().numpy())
    np.testing.assert_allclose(ex.grad.array, tx.grad.numpy(), rtol=1e-6)
    assert "ClipBackward" in repr(ey)


def test_custom_function_records_nothing_without_grad_and_honours_non_differentiable():
    Clip = _clip_class(ember)
    assert not Clip.apply(ember.ones(2), 0.0).requires_grad
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        assert not Clip.apply(x, 0.0).requires_grad

    class Argmax(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = x.argmax().float()
            ctx.mark_non_differentiable(out)
            return out

        @staticmethod
        def backward(ctx, g):  # pragma: no cover - never called
            raise AssertionError

    assert not Argmax.apply(x).requires_grad


def test_custom_function_errors_name_the_problem():
    class TooFew(autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    class BadShape(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return ember.ones(5)

    class Two(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x, x

    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="TooFew.backward returned 1 gradients, but forward took 2"):
        TooFew.apply(x, x).sum().backward()
    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a gradient of shape \(5,\) for argument 0"):
        BadShape.apply(x).sum().backward()
    with pytest.raises(NotImplementedError, match="returned 2 outputs"):
        Two.apply(x)


# --------------------------------------------------------------------------- anomaly mode and gradcheck


def test_detect_anomaly_names_the_node_that_made_a_nan():
    x = ember.zeros(2, requires_grad=True)
    with np.errstate(divide="ignore"):  # d√x/dx at 0 is 1/0
        ember.sqrt(x).sum().backward()  # off: inf gradients pass silently, as in PyTorch
        assert np.isinf(x.grad.array).all()
        with autograd.detect_anomaly():
            assert autograd.is_anomaly_enabled()
            with pytest.raises(RuntimeError, match="Function 'SqrtBackward' returned inf values in its 0th output"):
                ember.sqrt(x).sum().backward()
    assert not autograd.is_anomaly_enabled()


def test_gradcheck_in_pytorchs_call_form():
    x = ember.randn(4, dtype=ember.float64, requires_grad=True)
    assert autograd.gradcheck(lambda t: (t * t).sum(), (x,))

    class Wrong(autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * t

        @staticmethod
        def backward(ctx, g):
            return g  # should be 2·t·g

    assert not autograd.gradcheck(lambda t: Wrong.apply(t).sum(), x, raise_exception=False)


def test_grad_fn_prints_and_walks_like_pytorch():
    # the autograd and neural-network tutorials: print(z.grad_fn); loss.grad_fn.next_functions[0][0]
    x = ember.ones(5)
    w = ember.randn(5, 3, requires_grad=True)
    b = ember.randn(3, requires_grad=True)
    z = ember.matmul(x, w) + b
    assert repr(z.grad_fn).startswith("<AddBackward object at 0x")
    (mm, _), (acc, index) = z.grad_fn.next_functions
    assert type(mm).__name__ == "MatMul" and index == 0
    assert type(acc).__name__ == "AccumulateGrad" and acc.variable is b and acc.next_functions == ()
    (none, _), (acc_w, _) = mm.next_functions  # x does not require grad
    assert none is None and acc_w.variable is w
    loss = ember.nn.functional.mse_loss(z, ember.zeros(3))
    node, depth = loss.grad_fn, 0
    while node is not None and node.next_functions:
        node, depth = node.next_functions[0][0], depth + 1
    assert depth >= 2
    loss.backward()
    assert loss.grad_fn.next_functions == ()  # backward freed the graph
