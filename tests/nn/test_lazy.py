"""Lazy layers: uninitialised parameters that refuse use, shape inference and in-place materialisation at the
first forward (optimizers built before it keep working), initialisation identical to the ordinary layer's,
the switch to the ordinary class, and loading a state_dict into an uninitialised module."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.nn.parameter import Parameter, UninitializedBuffer, UninitializedParameter, is_lazy
from tests.helpers import assert_close
from tests.nn.util import randn


def _t(*shape, seed=0):
    return ember.tensor(randn(*shape, seed=seed))


# ----------------------------------------------------------------------------- the uninitialised tensors


def test_uninitialized_parameter_refuses_use():
    p = UninitializedParameter()
    assert isinstance(p, Parameter) and isinstance(p, nn.Parameter) and is_lazy(p)
    assert p.requires_grad and p.dtype == np.float32 and p.is_floating_point()
    assert repr(p) == "<UninitializedParameter>"
    for use in (lambda: p.shape, lambda: p * 2, lambda: p.sum(), lambda: p.detach(), lambda: F.relu(p)):
        with pytest.raises(RuntimeError, match="forward pass"):
            use()


def test_materialize_keeps_the_object_and_becomes_a_parameter():
    p = UninitializedParameter(dtype=ember.float64)
    p.materialize((2, 3))
    assert type(p) is Parameter and not is_lazy(p) and p.requires_grad
    assert p.shape == (2, 3) and p.dtype == np.float64
    (p * 2).sum().backward()
    assert_close(p.grad, np.full((2, 3), 2.0))
    b = UninitializedBuffer()
    assert not b.requires_grad
    b.materialize(4)
    assert type(b) is ember.Tensor and b.shape == (4,)


def test_torch_import_paths():
    from ember.nn.parameter import Parameter as P2

    assert P2 is nn.Parameter
    assert nn.UninitializedParameter is UninitializedParameter
    assert nn.parameter.UninitializedBuffer is UninitializedBuffer


# ----------------------------------------------------------------------------- LazyLinear


def test_lazy_linear_before_forward():
    m = nn.LazyLinear(3)
    assert isinstance(m.weight, UninitializedParameter) and isinstance(m.bias, UninitializedParameter)
    assert isinstance(m, nn.Linear) and m.has_uninitialized_params()
    assert repr(m) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert list(m.state_dict()) == ["weight", "bias"] and is_lazy(m.state_dict()["weight"])
    with pytest.raises(RuntimeError, match="forward pass"):
        m.weight + 1
    assert nn.LazyLinear(3, bias=False).bias is None


def test_lazy_linear_first_forward_becomes_linear():
    m = nn.LazyLinear(3)
    w, b = m.weight, m.bias
    x = _t(2, 5, 4)
    y = m(x)
    assert type(m) is nn.Linear and m.in_features == 4 and m.out_features == 3
    assert m.weight is w and m.bias is b and type(w) is Parameter
    assert w.shape == (3, 4) and b.shape == (3,)
    assert_close(y, F.linear(x, w, b))
    assert not m._forward_pre_hooks and "_initialize_hook" not in m.__dict__
    assert repr(m) == "Linear(in_features=4, out_features=3, bias=True)"
    with pytest.raises(RuntimeError, match="expects 4"):  # an ordinary Linear(4, 3) now: no re-inference
        m(_t(2, 6))


@pytest.mark.parametrize("bias", [True, False])
def test_lazy_linear_initialises_as_linear(bias):
    x = _t(2, 7)
    ember.manual_seed(11)
    lazy = nn.LazyLinear(5, bias=bias)
    lazy(x)
    ember.manual_seed(11)
    plain = nn.Linear(7, 5, bias=bias)
    for (k, p), (k2, q) in zip(lazy.named_parameters(), plain.named_parameters()):
        assert k == k2
        assert_close(p, q, rtol=0, atol=0, what=k)
    bound = 1 / np.sqrt(7)
    assert np.abs(lazy.weight.array).max() <= bound and np.abs(lazy.weight.array).std() > 0.1 * bound


@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_optimizer_built_before_the_first_forward_updates_the_parameters(opt):
    """The lazy model, with an optimizer made before its dry run, trains exactly as the ordinary model."""
    x, target = _t(8, 4), _t(8, 2, seed=1)

    def run(make):
        ember.manual_seed(3)
        model = make()
        params = list(model.parameters())
        optim = getattr(ember.optim, opt)(params, lr=0.1)
        for _ in range(3):
            optim.zero_grad()
            F.mse_loss(model(x), target).backward()
            optim.step()
        assert all(p is q for p, q in zip(params, model.parameters()))
        return model

    lazy = run(lambda: nn.Sequential(nn.LazyLinear(6), nn.Tanh(), nn.LazyLinear(2)))
    plain = run(lambda: nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)))
    ember.manual_seed(3)
    untrained = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
    for (k, p), q, u in zip(lazy.named_parameters(), plain.parameters(), untrained.parameters()):
        assert_close(p, q, what=k)
        assert np.abs(p.array - u.array).max() > 1e-4, f"{k} was not updated"


def test_dtype_and_requires_grad_set_before_the_first_forward_are_kept():
    m = nn.LazyLinear(3).double()
    m.requires_grad_(False)
    m(ember.tensor(np.ones((1, 2))))
    assert m.weight.dtype == np.float64 and m.bias.dtype == np.float64
    assert not m.weight.requires_grad
    assert nn.LazyLinear(2, dtype=ember.float64).weight.dtype == np.float64


def test_a_failed_first_forward_leaves_the_module_lazy():
    m = nn.LazyLinear(3)
    with pytest.raises(ValueError, match="0-d"):
        m(ember.tensor(1.0))
    assert type(m) is nn.LazyLinear and is_lazy(m.weight)
    assert m(_t(2, 4)).shape == (2, 3)


def test_deepcopy_before_the_first_forward():
    m = nn.LazyLinear(3)
    c = copy.deepcopy(m)
    c(_t(1, 5))
    assert type(c) is nn.Linear and c.weight.shape == (3, 5)
    assert type(m) is nn.LazyLinear and is_lazy(m.weight)
    m(_t(1, 2))
    assert m.weight.shape == (3, 2)


def test_num_parameters_before_the_first_forward_is_refused():
    with pytest.raises(RuntimeError, match="forward pass"):
        nn.LazyLinear(3).num_parameters()


# ----------------------------------------------------------------------------- LazyConv2d


def test_lazy_conv2d_infers_in_channels_and_initialises_as_conv2d():
    x = _t(2, 4, 6, 5)
    ember.manual_seed(5)
    lazy = nn.LazyConv2d(6, 3, stride=2, padding=1, groups=2)
    w = lazy.weight
    y = lazy(x)
    ember.manual_seed(5)
    plain = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    assert type(lazy) is nn.Conv2d and lazy.in_channels == 4 and lazy.weight is w
    assert w.shape == (6, 2, 3, 3)
    assert_close(lazy.weight, plain.weight, rtol=0, atol=0)
    assert_close(lazy.bias, plain.bias, rtol=0, atol=0)
    assert_close(y, plain(x))
    assert repr(lazy) == repr(plain)


def test_lazy_conv2d_unbatched_and_errors():
    m = nn.LazyConv2d(2, (1, 3), padding="same", bias=False)
    assert m(_t(3, 4, 4)).shape == (2, 4, 4) and m.weight.shape == (2, 3, 1, 3) and m.bias is None
    g = nn.LazyConv2d(4, 3, groups=2)
    with pytest.raises(ValueError, match="multiple of groups"):
        g(_t(1, 3, 5, 5))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        g(_t(3, 5))
    assert is_lazy(g.weight)
    with pytest.raises(ValueError, match="out_channels"):
        nn.LazyConv2d(3, 3, groups=2)
    with pytest.raises(ValueError, match="groups"):
        nn.LazyConv2d(3, 3, groups=0)


# ----------------------------------------------------------------------------- LazyBatchNorm2d


def test_lazy_batchnorm2d_matches_batchnorm2d():
    x = _t(4, 3, 2, 2) * 2 + 1
    lazy, plain = nn.LazyBatchNorm2d(momentum=0.2), nn.BatchNorm2d(3, momentum=0.2)
    assert isinstance(lazy.running_mean, UninitializedBuffer) and lazy.num_batches_tracked.item() == 0
    w = lazy.weight
    y = lazy(x)
    assert type(lazy) is nn.BatchNorm2d and lazy.num_features == 3 and lazy.weight is w
    assert_close(y, plain(x))
    for k, v in plain.state_dict().items():
        assert_close(lazy.state_dict()[k], v, what=k)
    lazy.eval(), plain.eval()
    assert_close(lazy(x), plain(x))


def test_lazy_batchnorm2d_without_affine_or_statistics():
    m = nn.LazyBatchNorm2d(affine=False, track_running_stats=False)
    assert not m.has_uninitialized_params() and m.weight is None and m.running_mean is None
    x = _t(3, 2, 2, 2)
    assert_close(m(x), nn.BatchNorm2d(2, affine=False, track_running_stats=False)(x))
    assert type(m) is nn.BatchNorm2d and m.num_features == 2
    with pytest.raises(ValueError, match="4-D"):
        nn.LazyBatchNorm2d()(_t(3, 2))


# ----------------------------------------------------------------------------- state dicts


def test_load_state_dict_into_an_uninitialised_module_materialises_it():
    src = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(16, 2))
    src(_t(2, 3, 4, 4))  # moves the running statistics
    lazy = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d(), nn.Flatten(), nn.LazyLinear(2))
    params = list(lazy.parameters())
    lazy.load_state_dict(src.state_dict())
    assert all(p is q for p, q in zip(params, lazy.parameters()))
    assert not any(is_lazy(t) for t in lazy.state_dict().values())
    assert (lazy[0].in_channels, lazy[1].num_features, lazy[3].in_features) == (3, 4, 16)
    for k, v in src.state_dict().items():
        assert_close(lazy.state_dict()[k], v, rtol=0, atol=0, what=k)
    x = _t(2, 3, 4, 4, seed=4)
    src.eval(), lazy.eval()
    assert_close(lazy(x), src(x))  # the loaded values are kept, not re-initialised, at the first forward
    assert [type(m) for m in lazy] == [type(m) for m in src]


def test_lazy_state_into_lazy_module_stays_lazy_and_into_initialised_module_fails():
    a, b = nn.LazyLinear(3), nn.LazyLinear(3)
    a.load_state_dict(b.state_dict())
    assert is_lazy(a.weight) and type(a) is nn.LazyLinear
    with pytest.raises(RuntimeError, match="uninitialised"):
        nn.Linear(2, 3).load_state_dict(b.state_dict())


def test_load_with_assign_into_a_lazy_module():
    src = nn.Linear(4, 2)
    lazy = nn.LazyLinear(2)
    lazy.load_state_dict(src.state_dict(), assign=True)
    assert lazy.in_features == 4 and type(lazy.weight) is Parameter
    assert np.shares_memory(lazy.weight.array, src.weight.array)
    x = _t(3, 4)
    assert_close(lazy(x), src(x))


# ----------------------------------------------------------------------------- against torch


def test_parity_with_torch_lazy_modules(torch):
    """Same inferred shapes and state names as torch's lazy modules; with ember's values loaded into torch's
    (torch materialises from the state too) both give the same output and gradients."""
    x = randn(2, 3, 5, 5)
    e = nn.Sequential(nn.LazyConv2d(4, 3, padding=1), nn.LazyBatchNorm2d(), nn.ReLU(), nn.Flatten(),
                      nn.LazyLinear(6))
    t = torch.nn.Sequential(torch.nn.LazyConv2d(4, 3, padding=1), torch.nn.LazyBatchNorm2d(), torch.nn.ReLU(),
                            torch.nn.Flatten(), torch.nn.LazyLinear(6))
    e(ember.tensor(x))
    t(torch.tensor(x))
    assert [type(m).__name__ for m in e] == [type(m).__name__ for m in t]
    es, ts = e.state_dict(), t.state_dict()
    assert list(es) == list(ts)
    assert [tuple(v.shape) for v in es.values()] == [tuple(v.shape) for v in ts.values()]
    fresh = torch.nn.Sequential(torch.nn.LazyConv2d(4, 3, padding=1), torch.nn.LazyBatchNorm2d(), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.LazyLinear(6))
    fresh.load_state_dict({k: torch.from_numpy(np.array(v.array)) for k, v in es.items()})
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = e(xe), fresh(xt)
    assert_close(ye, yt)
    ye.sum().backward()
    yt.sum().backward()
    assert_close(xe.grad, xt.grad)
    for (k, p), (k2, q) in zip(e.named_parameters(), fresh.named_parameters()):
        assert k == k2
        assert_close(p.grad, q.grad, what=k)
