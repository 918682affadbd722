"""Re-assigning a registered submodule or parameter keeps its place, as in PyTorch."""
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
