"""Module.get_parameter, get_buffer, set_submodule and load_state_dict(assign=True), with torch's behaviour
as the reference where both can run the same code."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests.helpers import assert_close


def _net(nn_):
    """The same small tree in ember or torch: Sequential(Linear, Sequential(BatchNorm1d, ReLU), Linear(no bias))."""
    return nn_.Sequential(nn_.Linear(3, 4), nn_.Sequential(nn_.BatchNorm1d(4), nn_.ReLU()),
                          nn_.Linear(4, 2, bias=False))


# ----------------------------------------------------------------------------- get_parameter / get_buffer


def test_get_parameter_and_get_buffer():
    m = _net(nn)
    m[1][0].register_buffer("scratch", ember.zeros(2), persistent=False)
    assert m.get_parameter("0.weight") is m[0].weight
    assert m.get_parameter("1.0.bias") is m[1][0].bias
    assert m.get_buffer("1.0.running_mean") is m[1][0].running_mean
    assert m.get_buffer("1.0.scratch") is m[1][0].scratch  # non-persistent buffers are buffers too
    assert dict(m.named_parameters()) == {k: m.get_parameter(k) for k, _ in m.named_parameters()}
    assert all(m.get_buffer(k) is b for k, b in m.named_buffers())
    assert nn.Linear(2, 2).get_parameter("weight").shape == (2, 2)


BAD_PARAMETERS = ["2.bias", "1.0.running_mean", "0.nothing", "5.weight", "1", "0.in_features"]
BAD_BUFFERS = ["0.weight", "1.0.nothing", "3.running_mean", "1.0", "1.0.momentum"]


@pytest.mark.parametrize("target", BAD_PARAMETERS)
def test_get_parameter_errors_match_torch(torch, target):
    with pytest.raises(AttributeError):
        _net(nn).get_parameter(target)
    with pytest.raises(AttributeError):
        _net(torch.nn).get_parameter(target)


@pytest.mark.parametrize("target", BAD_BUFFERS)
def test_get_buffer_errors_match_torch(torch, target):
    with pytest.raises(AttributeError):
        _net(nn).get_buffer(target)
    with pytest.raises(AttributeError):
        _net(torch.nn).get_buffer(target)


def test_get_parameter_messages():
    m = _net(nn)
    with pytest.raises(AttributeError, match="'bias' of Linear is not a Parameter"):
        m.get_parameter("2.bias")
    with pytest.raises(AttributeError, match="not a buffer"):
        m.get_buffer("0.weight")


# ----------------------------------------------------------------------------- set_submodule


def test_set_submodule_replaces_and_adds():
    m = _net(nn)
    new = nn.Tanh()
    m.set_submodule("1.1", new)
    assert m[1][1] is new and m.get_submodule("1.1") is new
    lin = nn.Linear(2, 2)
    m.set_submodule("1.extra", lin)
    assert m.get_submodule("1.extra") is lin and "1.extra.weight" in m.state_dict()
    m.set_submodule("0", nn.Linear(3, 4, bias=False), strict=True)
    assert m[0].bias is None and "0.bias" not in m.state_dict()


SET_CASES = [("", ValueError), ("1.0", None), ("1.new", None), ("9.new", AttributeError),
             ("0.weight", AttributeError), ("0.in_features", AttributeError)]


@pytest.mark.parametrize("target,error", SET_CASES)
@pytest.mark.parametrize("strict", [False, True])
def test_set_submodule_matches_torch(torch, target, error, strict):
    if strict and target == "1.new":
        error = AttributeError  # strict only replaces
    for lib in (nn, torch.nn):
        m = _net(lib)
        if error is None:
            new = lib.Identity()
            m.set_submodule(target, new, strict=strict)
            assert m.get_submodule(target) is new
        else:
            with pytest.raises(error):
                m.set_submodule(target, lib.Identity(), strict=strict)


def test_set_submodule_refuses_a_non_module(torch):
    with pytest.raises(ValueError, match="Module"):
        _net(nn).set_submodule("0", lambda x: x)
    with pytest.raises(ValueError):
        _net(torch.nn).set_submodule("0", lambda x: x)


# ----------------------------------------------------------------------------- load_state_dict(assign=True)


def test_assign_takes_the_tensors():
    src, dst = _net(nn), _net(nn)
    dst[0].bias.requires_grad_(False)
    state = src.state_dict()
    out = dst.load_state_dict(state, assign=True)
    assert out.missing_keys == [] and out.unexpected_keys == []
    for k, v in state.items():
        mine = dict(dst.state_dict(keep_vars=True))[k]
        assert np.shares_memory(mine.array, v.array), k
    assert isinstance(dst[0].weight, nn.Parameter) and dst[0].weight.requires_grad
    assert isinstance(dst[0].bias, nn.Parameter) and not dst[0].bias.requires_grad  # the module's flag is kept
    assert dst[1][0].running_mean is state["1.0.running_mean"]  # buffers are taken as they are
    assert [k for k, _ in dst.named_parameters()] == [k for k, _ in src.named_parameters()]
    x = ember.tensor(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    assert_close(dst(x), src(x))
    src[0].weight.array[0, 0] = 42.0  # shared, not copied
    assert dst[0].weight.array[0, 0] == 42.0


def test_copy_versus_assign_dtype_and_identity():
    src = nn.Linear(2, 2).double()
    copied, assigned = nn.Linear(2, 2), nn.Linear(2, 2)
    w = copied.weight
    copied.load_state_dict(src.state_dict())
    assert copied.weight is w and copied.weight.dtype == np.float32  # copy: into the module's own tensors
    assigned.load_state_dict(src.state_dict(), assign=True)
    assert assigned.weight is not w and assigned.weight.dtype == np.float64  # assign: the given tensors
    live = src.state_dict(keep_vars=True)
    assigned.load_state_dict(live, assign=True)
    assert assigned.weight is src.weight  # a Parameter is taken as it is


def test_assign_keeps_the_checks():
    m = nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match="size mismatch"):
        m.load_state_dict({"weight": ember.zeros(3, 3), "bias": ember.zeros(3)}, assign=True)
    with pytest.raises(RuntimeError, match="missing keys: bias"):
        m.load_state_dict({"weight": ember.zeros(3, 2)}, assign=True)
    keys = m.load_state_dict({"weight": np.ones((3, 2), np.float32), "x": ember.zeros(1)}, strict=False, assign=True)
    assert keys.missing_keys == ["bias"] and keys.unexpected_keys == ["x"]
    assert isinstance(m.weight, nn.Parameter) and m.weight.requires_grad and m.weight.array.sum() == 6


def test_assign_matches_torch(torch):
    """Both frameworks, the same calls: what is shared, what is a Parameter, the requires_grad and the dtype."""
    results = []
    for lib, tensor in ((nn, lambda a: ember.tensor(a)), (torch.nn, lambda a: torch.tensor(a))):
        m = lib.Linear(2, 3)
        m.bias.requires_grad_(False)
        w, b = tensor(np.ones((3, 2))), tensor(np.zeros(3))
        m.load_state_dict({"weight": w, "bias": b}, assign=True)
        results.append((isinstance(m.weight, lib.Parameter), m.weight.requires_grad, m.bias.requires_grad,
                        str(m.weight.dtype).split(".")[-1], m.weight is w))
    assert results[0] == results[1]
