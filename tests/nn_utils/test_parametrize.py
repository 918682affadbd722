"""ember.nn.utils.parametrize: register / remove / is_parametrized / cached, with PyTorch's behaviour."""
from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.diagnose import gradcheck
from ember.nn.utils import parametrize as P
from tests.helpers import assert_close


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(0, 1)

    def right_inverse(self, A):
        return A.triu()


class Scale(nn.Module):
    """No right_inverse: the original starts as the tensor itself."""

    def __init__(self, k=2.0):
        super().__init__()
        self.k = k
        self.calls = 0

    def forward(self, X):
        self.calls += 1
        return X * self.k


class RankOne(nn.Module):
    def forward(self, x, y):
        return x.unsqueeze(-1) @ y.unsqueeze(-2)

    def right_inverse(self, Z):
        return Z[:, 0].detach().clone(), ember.ones(Z.shape[1], dtype=Z.dtype)


class Shrink(nn.Module):
    def forward(self, X):
        return X[:-1]


def test_weight_is_computed_from_the_original_on_every_access():
    m = nn.Linear(4, 4)
    w0, values = m.weight, m.weight.detach().numpy().copy()
    P.register_parametrization(m, "weight", Symmetric())
    original = m.parametrizations.weight.original
    assert original is w0, "a single original keeps the Parameter object (the optimizer's reference stays valid)"
    np.testing.assert_array_equal(original.detach().numpy(), np.triu(values))  # right_inverse's result
    w = m.weight.detach().numpy()
    np.testing.assert_array_equal(w, w.T)
    with ember.no_grad():
        original.add_(1.0)
    np.testing.assert_array_equal(m.weight.detach().numpy(), w + 1.0)  # every entry reads one original entry
    assert "weight" not in m._parameters
    assert [k for k, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]


def test_class_is_swapped_for_a_private_subclass_and_restored():
    m, other = nn.Linear(3, 3), nn.Linear(3, 3)
    P.register_parametrization(m, "weight", Symmetric())
    assert type(m).__name__ == "ParametrizedLinear" and isinstance(m, nn.Linear)
    assert type(other) is nn.Linear and isinstance(other._parameters["weight"], nn.Parameter)
    assert "weight" not in vars(nn.Linear), "the property lives on the generated class only"
    assert P.type_before_parametrizations(m) is nn.Linear
    assert P.is_parametrized(m) and P.is_parametrized(m, "weight") and not P.is_parametrized(m, "bias")
    assert not P.is_parametrized(other)
    P.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and not P.is_parametrized(m)
    assert "parametrizations" not in m._modules


def test_gradient_flows_into_the_original():
    m = nn.Linear(3, 3).double()
    P.register_parametrization(m, "weight", Symmetric())
    x = ember.tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    gradcheck(lambda inp, orig: m(inp), x, m.parametrizations.weight.original)


def test_assignment_goes_through_right_inverse():
    m = P.register_parametrization(nn.Linear(3, 3), "weight", Symmetric())
    a = np.random.default_rng(1).standard_normal((3, 3)).astype(np.float32)
    a = a + a.T
    m.weight = ember.tensor(a)
    np.testing.assert_allclose(m.weight.detach().numpy(), a, rtol=1e-6)
    assert isinstance(m.parametrizations.weight.original, nn.Parameter)
    with pytest.raises(KeyError, match="already exists"):
        m.weight = nn.Parameter(ember.tensor(a))


def test_assignment_without_right_inverse_is_refused():
    m = P.register_parametrization(nn.Linear(3, 3), "weight", Scale())
    with pytest.raises(RuntimeError, match="Scale does not implement right_inverse"):
        m.weight = ember.zeros(3, 3)


def test_chained_parametrizations_apply_in_order():
    m = nn.Linear(3, 3)
    w = m.weight.detach().numpy().copy()
    P.register_parametrization(m, "weight", Symmetric())
    P.register_parametrization(m, "weight", Scale(3.0))
    assert len(m.parametrizations.weight) == 2
    np.testing.assert_allclose(m.weight.detach().numpy(), 3.0 * (np.triu(w) + np.triu(w, 1).T), rtol=1e-6)


def test_several_originals_from_a_tuple_right_inverse():
    m = nn.Linear(3, 4, bias=False)
    P.register_parametrization(m, "weight", RankOne())
    plist = m.parametrizations.weight
    assert not plist.is_tensor and plist.ntensors == 2
    assert list(m.state_dict()) == ["parametrizations.weight.original0", "parametrizations.weight.original1"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in (plist.original0, plist.original1))
    assert np.linalg.matrix_rank(m.weight.detach().numpy()) == 1
    with pytest.raises(ValueError, match="sequence of tensors"):
        P.remove_parametrizations(m, "weight", leave_parametrized=False)
    w = m.weight.detach().numpy().copy()
    P.remove_parametrizations(m, "weight")
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    np.testing.assert_array_equal(m.weight.detach().numpy(), w)


def test_remove_keeps_the_value_or_the_original():
    m = nn.Linear(3, 3)
    P.register_parametrization(m, "weight", Scale(2.0))
    orig = m.parametrizations.weight.original
    raw = orig.detach().numpy().copy()
    P.remove_parametrizations(m, "weight", leave_parametrized=True)
    assert m.weight is orig, "the same Parameter comes back"
    np.testing.assert_allclose(m.weight.detach().numpy(), 2.0 * raw)
    assert list(m.state_dict()) == ["bias", "weight"] or list(m.state_dict()) == ["weight", "bias"]
    P.register_parametrization(m, "weight", Scale(2.0))
    P.remove_parametrizations(m, "weight", leave_parametrized=False)
    np.testing.assert_allclose(m.weight.detach().numpy(), 2.0 * raw)  # the original, not 4·raw
    with pytest.raises(ValueError, match="no parametrization on 'weight'"):
        P.remove_parametrizations(m, "weight")


def test_two_names_on_one_module():
    m = nn.Linear(3, 3)
    P.register_parametrization(m, "weight", Scale(2.0))
    P.register_parametrization(m, "bias", Scale(3.0))
    assert set(m.parametrizations.keys()) == {"weight", "bias"}
    P.remove_parametrizations(m, "weight")
    assert type(m).__name__ == "ParametrizedLinear", "still parametrized on bias"
    P.remove_parametrizations(m, "bias")
    assert type(m) is nn.Linear


def test_buffers_can_be_parametrized():
    m = nn.Linear(2, 2)
    m.register_buffer("mask", ember.ones(2, 2))
    P.register_parametrization(m, "mask", Scale(5.0))
    assert [k for k, _ in m.named_buffers()] == ["parametrizations.mask.original"]
    np.testing.assert_array_equal(m.mask.numpy(), 5 * np.ones((2, 2)))
    P.remove_parametrizations(m, "mask")
    assert "mask" in m._buffers and not isinstance(m.mask, nn.Parameter)


def test_checks_of_shape_and_unknown_names():
    with pytest.raises(ValueError, match="may not change the shape"):
        P.register_parametrization(nn.Linear(3, 3), "weight", Shrink())
    m = nn.Linear(3, 3)
    P.register_parametrization(m, "weight", Shrink(), unsafe=True)
    assert m.weight.shape == (2, 3)
    with pytest.raises(ValueError, match="no parameter, buffer or parametrized element named 'wieght'"):
        P.register_parametrization(nn.Linear(3, 3), "wieght", Scale())
    m = nn.Linear(3, 3)
    with pytest.raises(ValueError, match="may not change the dtype or shape"):
        P.register_parametrization(P.register_parametrization(m, "weight", Scale()), "weight", Shrink())


def test_a_failed_registration_leaves_the_module_untouched():
    m = nn.Linear(3, 3)
    with pytest.raises(ValueError):
        P.register_parametrization(m, "weight", Shrink())
    assert type(m) is nn.Linear and isinstance(m._parameters["weight"], nn.Parameter)


def test_an_attribute_error_inside_the_parametrization_is_not_hidden():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.ok = True

        def forward(self, X):
            if self.ok:
                return X
            return X.no_such_method()

    m = P.register_parametrization(nn.Linear(2, 2), "weight", Broken())
    m.parametrizations.weight[0].ok = False
    with pytest.raises(RuntimeError, match="no_such_method"):
        m.weight


def test_cached_computes_once_per_block():
    scale = Scale()
    m = P.register_parametrization(nn.Linear(3, 3), "weight", scale)
    scale.calls = 0
    m.weight, m.weight
    assert scale.calls == 2
    with P.cached():
        a = m.weight
        with P.cached():
            b = m.weight
        assert m.weight is a is b
    assert scale.calls == 3
    m.weight
    assert scale.calls == 4, "the cache is dropped on leaving the outermost block"


def test_training_mode_follows_the_module():
    m = nn.Linear(3, 3).eval()
    s = Scale()
    P.register_parametrization(m, "weight", s)
    assert not s.training
    m.train()
    assert s.training


def test_state_dict_round_trip_and_deepcopy():
    m = P.register_parametrization(nn.Linear(3, 3), "weight", Symmetric())
    n = P.register_parametrization(nn.Linear(3, 3), "weight", Symmetric())
    n.load_state_dict(m.state_dict())
    np.testing.assert_array_equal(n.weight.detach().numpy(), m.weight.detach().numpy())
    c = copy.deepcopy(m)
    assert type(c) is not type(m) and type(c).__name__ == "ParametrizedLinear" and isinstance(c, nn.Linear)
    assert c.parametrizations.weight.original is not m.parametrizations.weight.original
    np.testing.assert_array_equal(c.weight.detach().numpy(), m.weight.detach().numpy())
    with pytest.raises(RuntimeError, match="state_dict"):
        pickle.dumps(m)
    P.remove_parametrizations(c, "weight")
    assert type(c) is nn.Linear
    assert type(m).__name__ == "ParametrizedLinear" and m.weight.shape == (3, 3), "the original keeps its property"
    c2 = copy.deepcopy(m)
    c2.weight = ember.eye(3)
    np.testing.assert_array_equal(c2.weight.detach().numpy(), np.eye(3))
    assert not np.array_equal(m.weight.detach().numpy(), np.eye(3))


def test_repr_names_the_generated_class():
    m = P.register_parametrization(nn.Linear(3, 3), "weight", Symmetric())
    assert repr(m).startswith("ParametrizedLinear(")
    assert "(parametrizations): ModuleDict(" in repr(m) and "(0): Symmetric()" in repr(m)


def test_parity_with_pytorch(torch):
    """Same module, same parametrization: keys, values, and a few SGD steps on the original agree."""

    class TSym(torch.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(0, 1)

        def right_inverse(self, A):
            return A.triu()

    me, mt = nn.Linear(4, 4), torch.nn.Linear(4, 4)
    with torch.no_grad():
        mt.weight.copy_(torch.tensor(me.weight.detach().numpy()))
        mt.bias.copy_(torch.tensor(me.bias.detach().numpy()))
    P.register_parametrization(me, "weight", Symmetric())
    torch.nn.utils.parametrize.register_parametrization(mt, "weight", TSym())
    assert list(me.state_dict()) == list(mt.state_dict())
    assert [k for k, _ in me.named_parameters()] == [k for k, _ in mt.named_parameters()]
    assert type(me).__name__ == type(mt).__name__
    opt_e = ember.optim.SGD(me.parameters(), lr=0.1)
    opt_t = torch.optim.SGD(mt.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    for _ in range(3):
        ye, yt = me(ember.tensor(x)), mt(torch.tensor(x))
        assert_close(ye, yt, what="output")
        opt_e.zero_grad()
        opt_t.zero_grad()
        (ye ** 2).sum().backward()
        (yt ** 2).sum().backward()
        assert_close(me.parametrizations.weight.original.grad, mt.parametrizations.weight.original.grad,
                     what="gradient of the original")
        opt_e.step()
        opt_t.step()
    P.remove_parametrizations(me, "weight")
    torch.nn.utils.parametrize.remove_parametrizations(mt, "weight")
    assert list(me.state_dict()) == list(mt.state_dict())
    assert_close(me.weight, mt.weight, what="weight after removal")
