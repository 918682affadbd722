"""parameters_to_vector / vector_to_parameters."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.nn import Parameter
from ember.nn.utils import parameters_to_vector, vector_to_parameters


def _params():
    return [Parameter(np.arange(6, dtype=np.float32).reshape(2, 3)), Parameter(np.array([10.0, 11.0], np.float32))]


def test_round_trip():
    params = _params()
    vec = parameters_to_vector(params)
    assert vec.shape == (8,)
    np.testing.assert_array_equal(vec.array, [0, 1, 2, 3, 4, 5, 10, 11])
    arrays = [p.array for p in params]
    vector_to_parameters(ember.tensor(np.arange(8, dtype=np.float32) * -1), params)
    assert params[0].array is arrays[0], "parameters keep their arrays (optimizer state stays attached)"
    np.testing.assert_array_equal(params[0].array, -np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(params[1].array, [-6, -7])


def test_the_vector_is_differentiable():
    params = _params()
    (parameters_to_vector(params) ** 2).sum().backward()
    np.testing.assert_array_equal(params[0].grad.array, 2 * params[0].array)
    np.testing.assert_array_equal(params[1].grad.array, 2 * params[1].array)


def test_parity_with_pytorch(torch):
    params = _params()
    theirs = [torch.tensor(p.array.copy()) for p in params]
    np.testing.assert_array_equal(parameters_to_vector(params).array,
                                  torch.nn.utils.parameters_to_vector(theirs).numpy())


def test_wrong_use():
    params = _params()
    with pytest.raises(TypeError, match="ember Tensor"):
        vector_to_parameters(np.zeros(8, np.float32), params)
    with pytest.raises(ValueError, match="8"):
        vector_to_parameters(ember.zeros(7), params)
    with pytest.raises(ValueError, match="1-D"):
        vector_to_parameters(ember.zeros(2, 4), params)
    with pytest.raises(ValueError, match="no parameters"):
        parameters_to_vector([])
