"""Sequential, ModuleList and ModuleDict: the list and dict operations PyTorch code uses."""
from __future__ import annotations

import pytest

import ember.nn as nn


def _names(container):
    return [(k, type(m).__name__) for k, m in container.named_children()]


def test_sequential_list_operations_renumber_like_pytorch():
    s = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    del s[1]
    assert _names(s) == [("0", "Linear"), ("1", "Linear")]
    s.insert(1, nn.Tanh())
    s.extend([nn.Sigmoid()])
    assert _names(s) == [("0", "Linear"), ("1", "Tanh"), ("2", "Linear"), ("3", "Sigmoid")]
    del s[-2:]
    assert _names(s) == [("0", "Linear"), ("1", "Tanh")]
    both = s + nn.Sequential(nn.ReLU())
    assert _names(both) == [("0", "Linear"), ("1", "Tanh"), ("2", "ReLU")] and both[0] is s[0]
    with pytest.raises(IndexError, match="insert index 5 is out of range for a Sequential of 2 modules"):
        s.insert(5, nn.ReLU())
    with pytest.raises(TypeError, match="can only add a Sequential to a Sequential, got list"):
        s + [nn.ReLU()]


def test_module_list_and_dict_operations():
    layers = nn.ModuleList([nn.Linear(2, 2)])
    layers += [nn.ReLU(), nn.Linear(2, 2)]
    del layers[0]
    assert _names(layers) == [("0", "ReLU"), ("1", "Linear")]
    assert len(layers + [nn.Tanh()]) == 3 and len(layers) == 2
    d = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    assert type(d.pop("a")).__name__ == "Linear" and list(d.keys()) == ["b"]
    del d["b"]
    assert len(d) == 0 and list(d.parameters()) == []
