"""Re-assigning a registered submodule or parameter keeps its place, as in PyTorch."""
import numpy as np
import pytest

import ember
import ember.nn as nn


def test_reassigned_submodule_keeps_its_position():
    m = nn.Module()
    m.a = nn.Linear(2, 2)
    m.b = nn.ReLU()
    m.a = nn.Linear(2, 3)
    assert list(m._modules) == ["a", "b"]
    assert list(m.state_dict()) == ["a.weight", "a.bias"]


def test_reassigned_parameter_keeps_its_position_and_kind_changes_move_it():
    m = nn.Module()
    m.w = nn.Parameter(ember.zeros(2))
    m.v = nn.Parameter(ember.zeros(2))
    m.w = nn.Parameter(ember.ones(2))
    assert list(m._parameters) == ["w", "v"]
    m.w = nn.Linear(1, 1)  # now a module: no longer a parameter
    assert list(m._parameters) == ["v"] and "w" in m._modules


def test_assigning_a_plain_tensor_to_a_parameter_is_an_error_like_pytorch():
    lin = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"cannot assign Tensor as parameter 'weight' \(ember.nn.Parameter or None"):
        lin.weight = ember.zeros(2, 2)
    assert [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    lin.bias = None  # allowed: no bias
    lin.weight = nn.Parameter(ember.zeros(2, 2))
    assert [n for n, _ in lin.named_parameters()] == ["weight"]


def test_a_shared_module_is_saved_under_every_name_like_pytorch(torch):
    def build(lib):
        shared = lib.nn.Linear(2, 2)
        return lib.nn.Sequential(shared, lib.nn.ReLU(), shared)

    e, t = build(ember), build(torch)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]  # parameters once
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_modules(remove_duplicate=False)] == [
        n for n, _ in t.named_modules(remove_duplicate=False)]
    assert e.load_state_dict(e.state_dict()) == ([], [])


def test_module_to_takes_pytorchs_forms_and_refuses_other_devices():
    model = ember.nn.Sequential(ember.nn.Linear(2, 3), ember.nn.BatchNorm1d(3))
    device = ember.device("cuda" if ember.cuda.is_available() else "cpu")
    assert model.to(device) is model and model.to("cpu", ember.float64) is model
    assert model[0].weight.dtype == np.float64 and model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    model.to(ember.zeros(1), non_blocking=True)  # a tensor's dtype
    assert model[0].weight.dtype == np.float32
    model.to(device=device, dtype=ember.float32)
    for bad in (lambda: model.to("cuda"), lambda: model.to(device="cuda:0"), lambda: model.to(0), model.cuda):
        with pytest.raises(RuntimeError, match="ember runs on the CPU only"):
            bad()
    with pytest.raises(TypeError, match="unexpected keyword arguments \\['copy'\\]"):
        model.to(copy=True)
