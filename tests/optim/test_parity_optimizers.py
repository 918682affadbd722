"""Every optimizer configuration against PyTorch: 50 mini-batch steps on the same MLP give the same weights."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.optim as eo
from tests.optim import _problem as P


@pytest.mark.parametrize("name", sorted(P.OPTIMIZERS))
def test_fifty_steps_match_pytorch(torch, name):
    """End to end: each framework computes its own gradients; the weights agree within 1e-5 after 50 steps."""
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    pe = P.ember_params(arrays)
    P.ember_train(pe, P.make_optimizer(eo, name, pe), None, range(P.STEPS), x, y)
    pt = P.torch_params(torch, arrays)
    P.torch_train(torch, pt, P.make_optimizer(torch.optim, name, pt), None, range(P.STEPS), x, y)
    moved = max(np.abs(e.array - a).max() for e, a in zip(pe, arrays))
    assert moved > 1e-2, "the weights hardly moved: the comparison would prove nothing"
    for i, (e, t) in enumerate(zip(pe, pt)):
        np.testing.assert_allclose(e.array, t.detach().numpy(), rtol=0, atol=1e-5, err_msg=f"{name}: weight {i}")


@pytest.mark.parametrize("name", sorted(P.OPTIMIZERS))
def test_same_gradients_give_the_same_update_arithmetic(torch, name):
    """Fed identical gradients, the two updates agree to a few float32 ulps over 50 steps (the formulas' op order)."""
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    pe, pt = P.ember_params(arrays), P.torch_params(torch, arrays)
    oe, ot = P.make_optimizer(eo, name, pe), P.make_optimizer(torch.optim, name, pt)
    for step in range(P.STEPS):
        xb, yb = P.batch(step, x, y)
        oe.zero_grad()
        P.ember_loss(pe, xb, yb).backward()
        for e, t in zip(pe, pt):
            t.grad = torch.tensor(e.grad.array.copy())
        oe.step()
        ot.step()
    for i, (e, t) in enumerate(zip(pe, pt)):
        np.testing.assert_allclose(e.array, t.detach().numpy(), rtol=0, atol=1e-6, err_msg=f"{name}: weight {i}")


@pytest.mark.parametrize("name", ["sgd_dampening_wd", "adagrad_decay_init", "rmsprop_centered_momentum_wd",
                                  "adam_groups", "adamw_amsgrad_wd", "adadelta_wd_maximize", "adamax_wd_groups",
                                  "nadam_wd", "radamw"])
def test_state_buffers_match_pytorch(torch, name):
    """The saved state has PyTorch's keys and values (momentum buffers, running averages, step counts)."""
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    pe, pt = P.ember_params(arrays), P.torch_params(torch, arrays)
    oe, ot = P.make_optimizer(eo, name, pe), P.make_optimizer(torch.optim, name, pt)
    P.ember_train(pe, oe, None, range(10), x, y)
    P.torch_train(torch, pt, ot, None, range(10), x, y)
    se, st = oe.state_dict(), ot.state_dict()
    assert sorted(se["state"]) == sorted(st["state"])
    for idx, entries in st["state"].items():
        assert set(se["state"][idx]) == set(entries), f"{name}: state keys of parameter {idx}"
        for key, value in entries.items():
            np.testing.assert_allclose(np.asarray(se["state"][idx][key]), value.detach().numpy(), rtol=1e-4,
                                       atol=1e-6, err_msg=f"{name}: state {key!r} of parameter {idx}")
    for ge, gt in zip(se["param_groups"], st["param_groups"]):
        assert ge["params"] == gt["params"]
        for key, value in ge.items():
            if key == "reset_every":  # ember's Adagrad option
                continue
            expected = list(gt[key]) if isinstance(gt[key], tuple) else gt[key]
            assert value == expected, f"{name}: group option {key}"


def test_torch_state_dict_loads_into_ember(torch):
    """A PyTorch Adam state (tensors converted to arrays) resumes in ember: same keys, same numbering."""
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    pe, pt = P.ember_params(arrays), P.torch_params(torch, arrays)
    ot = P.make_optimizer(torch.optim, "adam_groups", pt)
    P.torch_train(torch, pt, ot, None, range(5), x, y)
    st = ot.state_dict()
    plain = {"state": {i: {k: v.detach().numpy().copy() for k, v in s.items()} for i, s in st["state"].items()},
             "param_groups": [{k: v for k, v in g.items() if k in ("lr", "betas", "eps", "weight_decay", "amsgrad",
                                                                     "maximize", "params")}
                              for g in st["param_groups"]]}
    for e, t in zip(pe, pt):
        e.array[...] = t.detach().numpy()
    oe = P.make_optimizer(eo, "adam_groups", pe)
    oe.load_state_dict(plain)
    assert oe.state[pe[0]]["step"] == 5 and isinstance(oe.state[pe[0]]["step"], int)
    P.ember_train(pe, oe, None, range(5, 15), x, y)
    P.torch_train(torch, pt, ot, None, range(5, 15), x, y)
    for e, t in zip(pe, pt):
        np.testing.assert_allclose(e.array, t.detach().numpy(), rtol=0, atol=1e-5)


def test_repr_matches_pytorch_layout(torch):
    p = ember.nn.Parameter(np.zeros(2, np.float32))
    text = repr(eo.SGD([p], lr=0.1, momentum=0.9))
    tp = torch.zeros(2, requires_grad=True)
    ttext = repr(torch.optim.SGD([tp], lr=0.1, momentum=0.9))
    assert text.splitlines() == ttext.splitlines()  # the kernel options (foreach, fused, ...) included
