"""ember.nn.functional call forms from PyTorch code: one_hot, the ``inplace`` flags."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn.functional as F


@pytest.mark.parametrize("labels,num_classes", [([0, 2, 1], 3), ([[0, 2], [1, 1]], -1), ([3], 5)])
def test_one_hot_matches_pytorch(labels, num_classes, torch):
    e = F.one_hot(ember.tensor(labels), num_classes)
    t = torch.nn.functional.one_hot(torch.tensor(labels), num_classes)
    assert e.dtype == np.int64 and e.shape == tuple(t.shape)
    np.testing.assert_array_equal(e.array, t.numpy())


@pytest.mark.parametrize("call,message", [
    (lambda: F.one_hot(ember.tensor([0.0, 1.0])), r"index tensors \(integers\), got dtype float32"),
    (lambda: F.one_hot(ember.tensor([0, 3]), 3), r"must lie in \[0, 3\).*from 0 to 3"),
    (lambda: F.one_hot(ember.tensor([-1, 0]), 3), r"from -1 to 0"),
    (lambda: F.one_hot(ember.zeros(0, dtype=ember.int64)), "cannot infer num_classes"),
])
def test_one_hot_errors_name_the_problem(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


def test_relu_and_silu_accept_inplace():
    x = ember.tensor([-1.0, 2.0], requires_grad=True)
    y = F.relu(x, inplace=True)  # ember always returns a new tensor; the graph records it
    assert y.tolist() == [0.0, 2.0] and x.tolist() == [-1.0, 2.0]
    (y + F.silu(x, inplace=False)).sum().backward()
    assert x.grad is not None
