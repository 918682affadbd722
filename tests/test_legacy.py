"""PyTorch's older spellings: torch.Size and the typed constructors (FloatTensor, LongTensor, ...)."""
import numpy as np
import pytest

import ember


def test_typed_constructors_take_sizes_or_data():
    x = ember.FloatTensor(2, 3)
    assert x.dtype == np.float32 and x.shape == (2, 3) and not x.requires_grad
    assert ember.FloatTensor(4).shape == (4,)  # an int is a size, as in PyTorch
    assert ember.FloatTensor(ember.Size([2, 2])).shape == (2, 2)
    assert ember.LongTensor([1, 2]).dtype == np.int64 and ember.LongTensor([1, 2]).tolist() == [1, 2]
    assert ember.FloatTensor([[1, 2]]).dtype == np.float32
    assert ember.ByteTensor(np.array([3, 4])).dtype == np.uint8 and ember.BoolTensor([1, 0]).dtype == np.bool_
    assert ember.DoubleTensor(ember.ones(2)).dtype == np.float64
    with pytest.raises(TypeError, match="takes sizes"):
        ember.FloatTensor([1.0], [2.0])


def test_typed_constructors_name_their_dtype_and_size_is_a_tuple():
    x = ember.randn(2, 3)
    assert x.type(ember.DoubleTensor).dtype == np.float64 and x.type(ember.LongTensor).dtype == np.int64
    assert x.shape == ember.Size([2, 3]) and x.size() == ember.Size((2, 3))
    assert repr(ember.Size([2, 3])) == "ember.Size([2, 3])" and ember.Size([2, 3, 4]).numel() == 24
