"""ember.utils.checkpoint: the gradients of a checkpointed computation are those of the plain one (dropout
included), parameters inside get their .grad, and the random stream ends where it would have."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.utils.checkpoint import checkpoint, checkpoint_sequential


def _net(dropout: float = 0.5) -> nn.Sequential:
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 16), nn.Tanh(),
                         nn.Dropout(dropout), nn.Linear(16, 16), nn.GELU(), nn.Linear(16, 3))


def _step(model, x, forward, seed: int = 1):
    """One forward/backward from a fixed random state; the outputs, the gradients, and the next draw."""
    ember.manual_seed(seed)
    model.zero_grad()
    x.grad = None
    out = forward(model, x)
    (out ** 2).sum().backward()
    return (out.detach().numpy().copy(), {n: p.grad.numpy().copy() for n, p in model.named_parameters()},
            x.grad.numpy().copy(), ember.rand(3).numpy())


def _assert_same(a, b):
    out_a, grads_a, xg_a, next_a = a
    out_b, grads_b, xg_b, next_b = b
    np.testing.assert_array_equal(out_a, out_b)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        np.testing.assert_allclose(grads_a[name], grads_b[name], rtol=1e-6, atol=1e-7, err_msg=name)
    np.testing.assert_allclose(xg_a, xg_b, rtol=1e-6, atol=1e-7, err_msg="input gradient")
    np.testing.assert_array_equal(next_a, next_b)  # the random stream is where the plain run left it


def test_checkpoint_with_dropout_and_parameters_gives_the_plain_gradients():
    model = _net()
    x = ember.randn(8, 6, requires_grad=True)
    plain = _step(model, x, lambda m, t: m(t))
    ckpt = _step(model, x, lambda m, t: checkpoint(m, t, use_reentrant=False))
    _assert_same(plain, ckpt)
    assert all(np.abs(g).sum() > 0 for g in ckpt[1].values())  # every parameter's .grad was filled


def test_without_the_rng_restored_the_dropout_masks_differ():
    """What preserve_rng_state buys: rerunning dropout from the advanced stream draws other masks, so the
    gradients are wrong (this is what the test above would catch)."""
    model = _net()
    x = ember.randn(8, 6, requires_grad=True)
    plain = _step(model, x, lambda m, t: m(t))
    loose = _step(model, x, lambda m, t: checkpoint(m, t, use_reentrant=True, preserve_rng_state=False))
    assert not np.allclose(plain[2], loose[2])


@pytest.mark.parametrize("segments", [1, 2, 3, 9])
def test_checkpoint_sequential_gives_the_plain_gradients(segments):
    model = _net(0.3)
    x = ember.randn(5, 6, requires_grad=True)
    plain = _step(model, x, lambda m, t: m(t))
    ckpt = _step(model, x, lambda m, t: checkpoint_sequential(m, segments, t, use_reentrant=False))
    _assert_same(plain, ckpt)


def test_checkpoint_sequential_takes_a_list_and_rejects_bad_segments():
    model = _net(0.0)
    x = ember.randn(2, 6, requires_grad=True)
    out = checkpoint_sequential(list(model), 3, x)
    np.testing.assert_allclose(out.detach().numpy(), model(x).detach().numpy(), rtol=1e-6)
    for bad in (0, 10, 1.5):
        with pytest.raises(ValueError, match="segment"):
            checkpoint_sequential(model, bad, x)


def test_parameters_in_a_closure_get_gradients_when_the_input_needs_none():
    """A checkpointed first block sees the images, which need no gradient: its parameters must still get
    theirs (PyTorch's non-reentrant behaviour; the reentrant one would silently give None)."""
    lin = nn.Linear(4, 3)
    x = ember.randn(2, 4)
    y = checkpoint(lambda t: lin(t).tanh(), x, use_reentrant=False)
    assert y.requires_grad
    y.sum().backward()
    expected = nn.Linear(4, 3)
    expected.load_state_dict(lin.state_dict())
    expected(x).tanh().sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), expected.weight.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(lin.bias.grad.numpy(), expected.bias.grad.numpy(), rtol=1e-6)


def test_a_frozen_module_is_not_recorded_and_never_rerun():
    calls = []
    frozen = nn.Linear(4, 3).requires_grad_(False)

    def hooked(t):
        calls.append(ember.is_grad_enabled())
        return frozen(t)

    hooked.parameters = frozen.parameters  # a module-like function: checkpoint can see its parameters
    y = checkpoint(hooked, ember.randn(2, 4))
    assert not y.requires_grad and calls == [False]
    y2 = checkpoint(frozen, ember.randn(2, 4))
    assert not y2.requires_grad


def test_the_first_run_records_nothing_and_backward_reruns_once_for_all_outputs():
    calls = []
    w = ember.randn(3, 3, requires_grad=True)

    def two_outputs(a, b):
        calls.append(ember.is_grad_enabled())
        h = (a @ w).relu()
        return h * b, h.sum(-1), 7  # two tensors and a plain value

    a, b = ember.randn(4, 3, requires_grad=True), ember.randn(4, 3, requires_grad=True)
    p, q, seven = checkpoint(two_outputs, a, b, use_reentrant=False)
    assert seven == 7 and calls == [False]
    ((p ** 2).sum() + (q * 3).sum()).backward()
    assert calls == [False, True]  # one recomputation, recording, served both outputs
    grads = [t.grad.numpy().copy() for t in (w, a, b)]
    for t in (w, a, b):
        t.grad = None
    p2, q2, _ = two_outputs(a, b)
    ((p2 ** 2).sum() + (q2 * 3).sum()).backward()
    for g, t in zip(grads, (w, a, b)):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-6)


def test_only_one_output_used():
    w = ember.randn(3, requires_grad=True)
    p, q = checkpoint(lambda x: (x * w, x + w), ember.randn(3), use_reentrant=False)
    q.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.ones(3))


def test_keyword_tensors_get_gradients():
    x = ember.randn(3, requires_grad=True)
    scale = ember.randn(3, requires_grad=True)
    out = checkpoint(lambda t, *, s: (t * s).exp(), x, s=scale, use_reentrant=False)
    out.sum().backward()
    e = np.exp(x.detach().numpy() * scale.detach().numpy())
    np.testing.assert_allclose(x.grad.numpy(), e * scale.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(scale.grad.numpy(), e * x.detach().numpy(), rtol=1e-6)


def test_autograd_grad_through_a_checkpoint_touches_no_grad_attribute():
    lin = nn.Linear(3, 2)
    x = ember.randn(4, 3, requires_grad=True)
    gw, gx = ember.autograd.grad(checkpoint(lin, x).pow(2).sum(), [lin.weight, x])
    assert lin.weight.grad is None and x.grad is None
    gw2, gx2 = ember.autograd.grad(lin(x).pow(2).sum(), [lin.weight, x])
    np.testing.assert_allclose(gw.numpy(), gw2.numpy(), rtol=1e-6)
    np.testing.assert_allclose(gx.numpy(), gx2.numpy(), rtol=1e-6)
    (gb,) = ember.autograd.grad(checkpoint(lin, x).sum(), [lin.bias])  # only a parameter inside
    np.testing.assert_allclose(gb.numpy(), [4.0, 4.0])


def test_nested_checkpoints_and_retain_graph():
    model = _net(0.2)
    x = ember.randn(3, 6, requires_grad=True)

    def inner(t):
        return checkpoint(model[3:6], checkpoint(model[:3], t, use_reentrant=False), use_reentrant=False)

    plain = _step(model, x, lambda m, t: m(t))
    nested = _step(model, x, lambda m, t: m[6:](checkpoint(inner, t, use_reentrant=False)))
    _assert_same(plain, nested)
    ember.manual_seed(1)
    model.zero_grad()
    out = checkpoint(model, x).sum()
    out.backward(retain_graph=True)
    once = model[0].weight.grad.numpy().copy()
    out.backward()
    np.testing.assert_allclose(model[0].weight.grad.numpy(), 2 * once, rtol=1e-6)


def test_changing_an_input_in_place_before_backward_is_an_error():
    lin = nn.Linear(3, 3)
    x = ember.randn(2, 3)
    y = checkpoint(lin, x)
    x.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_a_function_that_computes_something_else_when_rerun_is_caught():
    w = ember.randn(3, requires_grad=True)
    state = {"n": 4}

    def moody(t):
        state["n"] -= 1
        return (t[: state["n"]] * w).sum(0, keepdim=True).expand(state["n"], 3)

    y = checkpoint(moody, ember.randn(4, 3), use_reentrant=False)
    with pytest.raises(RuntimeError, match="other shapes"):
        y.sum().backward()


def test_bad_arguments():
    with pytest.raises(TypeError, match="tensor or a tuple"):
        checkpoint(lambda t: {"out": t * 2}, ember.randn(2, requires_grad=True))
    with pytest.raises(TypeError, match="callable"):
        checkpoint(3, ember.randn(2))
    with pytest.raises(ValueError, match="determinism_check"):
        checkpoint(lambda t: t, ember.randn(2), determinism_check="strict")
    assert checkpoint(lambda t: t * 2, ember.ones(2)).tolist() == [2.0, 2.0]
    with ember.no_grad():
        assert not checkpoint(nn.Linear(2, 2), ember.ones(2)).requires_grad


def test_context_fn_wraps_both_runs():
    import contextlib

    seen = []

    @contextlib.contextmanager
    def mark(name):
        seen.append(name)
        yield

    x = ember.randn(2, requires_grad=True)
    checkpoint(lambda t: t.exp(), x, use_reentrant=False,
               context_fn=lambda: (mark("forward"), mark("recompute"))).sum().backward()
    assert seen == ["forward", "recompute"]


def test_import_paths():
    import ember.utils.checkpoint as module

    assert ember.utils.checkpoint.checkpoint is checkpoint is module.checkpoint
    assert ember.utils.checkpoint.checkpoint_sequential is checkpoint_sequential


def test_gradients_match_torch_utils_checkpoint(torch):
    model = _net(0.0)
    tmodel = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Dropout(0.0),
                                 torch.nn.Linear(16, 16), torch.nn.Tanh(), torch.nn.Dropout(0.0),
                                 torch.nn.Linear(16, 16), torch.nn.GELU(), torch.nn.Linear(16, 3)).double()
    model.double()
    tmodel.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy()) for k, v in model.state_dict().items()})
    xa = np.random.default_rng(0).standard_normal((5, 6))
    x, tx = ember.tensor(xa, requires_grad=True), torch.tensor(xa, requires_grad=True)
    (checkpoint_sequential(model, 3, x, use_reentrant=False) ** 2).sum().backward()
    (torch.utils.checkpoint.checkpoint_sequential(tmodel, 3, tx, use_reentrant=False) ** 2).sum().backward()
    tparams = dict(tmodel.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
