"""The new layers' public surface: constructor and argument validation with a sentence, forward shape errors that
name the shapes, dtype preservation, and the parameter containers' list/dict behaviour."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F


@pytest.mark.parametrize("make,message", [
    (lambda: nn.LayerNorm(0), "normalized_shape must be a positive integer"),
    (lambda: nn.LayerNorm(()), "must name at least one dimension"),
    (lambda: nn.LayerNorm(4, eps=0), "eps must be a positive number"),
    (lambda: nn.GroupNorm(3, 4), r"num_channels \(4\) must be divisible by num_groups \(3\)"),
    (lambda: nn.GroupNorm(0, 4), "num_groups must be a positive integer"),
    (lambda: nn.InstanceNorm2d(0), "num_features must be a positive integer"),
    (lambda: nn.InstanceNorm2d(3, momentum=1.5), r"momentum must be a number in \[0, 1\] or None"),
    (lambda: nn.ConvTranspose2d(3, 4, 0), "kernel_size must be a positive integer"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, groups=2), r"in_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.ConvTranspose2d(4, 3, 3, groups=2), r"out_channels \(3\) must be divisible by groups \(2\)"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2), "output_padding .* must be smaller than"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, padding=-1), "padding must be a non-negative integer"),
    (lambda: nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect"), "only padding_mode 'zeros'"),
    (lambda: nn.Hardswish(), None), (lambda: nn.GLU(dim=1.5), "dim must be an int"),
    (lambda: nn.Threshold("a", 1.0), "threshold must be a number"),
    (lambda: nn.AdaptiveMaxPool2d(0), "output_size must be a positive int"),
    (lambda: nn.ZeroPad2d((1, 2, 3)), "padding must be an int or a tuple of 4 ints"),
    (lambda: nn.ReflectionPad2d(-1), "padding must be a non-negative integer"),
    (lambda: nn.ConstantPad2d(1, "x"), "value must be a number"),
    (lambda: nn.PixelShuffle(0), "upscale_factor must be a positive integer"),
    (lambda: nn.PixelUnshuffle(1.5), "downscale_factor must be a positive integer"),
    (lambda: nn.Embedding(0, 3), "num_embeddings must be a positive integer"),
    (lambda: nn.Embedding(5, 3, padding_idx=5), r"padding_idx must be an int within num_embeddings \[-5, 4\]"),
    (lambda: nn.Embedding(5, 3, sparse=True), "sparse=True"),
    (lambda: nn.Embedding(5, 3, _weight=ember.randn(4, 3)), r"_weight of shape \(4, 3\) does not match"),
    (lambda: nn.Embedding.from_pretrained(ember.randn(4)), "embeddings must be 2-D"),
    (lambda: nn.CosineSimilarity(eps=0), "eps must be a positive number"),
    (lambda: nn.PairwiseDistance(p=0), "p must be a positive number"),
    (lambda: nn.TripletMarginLoss(margin=-1), "margin must be a non-negative number"),
    (lambda: nn.TripletMarginLoss(reduction="avg"), "reduction must be one of"),
    (lambda: nn.CosineEmbeddingLoss(margin=2), r"margin must be a number in \[-1, 1\]"),
    (lambda: nn.ParameterList([3]), "holds ember.nn.Parameter or Tensor values, got int"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_constructors_validate_up_front(make, message):
    if message is None:  # a constructor with nothing to validate
        make()
        return
    with pytest.raises((ValueError, TypeError), match=message):
        make()


@pytest.mark.parametrize("call,message", [
    (lambda: nn.LayerNorm(4)(ember.randn(2, 5)), r"input of shape \(2, 5\) does not end with normalized_shape \(4,\)"),
    (lambda: F.layer_norm(ember.randn(2, 4), 4, ember.ones(3)), r"weight of shape \(3,\) does not match .* \(4,\)"),
    (lambda: nn.GroupNorm(2, 4)(ember.randn(2, 6, 3)), r"input of shape \(2, 6, 3\) must have 4 channels"),
    (lambda: F.group_norm(ember.randn(2, 6, 3), 4), r"num_groups=4 must be a positive divisor of the 6 channels"),
    (lambda: nn.InstanceNorm2d(3)(ember.randn(2, 3)), r"expects a 4-D \(batched\) or 3-D \(unbatched\) input"),
    (lambda: nn.InstanceNorm2d(3, affine=True)(ember.randn(2, 4, 3, 3)), r"\(2, 4, 3, 3\) has 4 channels"),
    (lambda: nn.ConvTranspose2d(3, 2, 3)(ember.randn(1, 4, 5, 5)), r"\(1, 4, 5, 5\) has 4 channels, expected "
                                                                     r"in_channels=3"),
    (lambda: F.conv_transpose2d(ember.randn(1, 3, 5, 5), ember.randn(4, 2, 3, 3)),
     r"input of shape \(1, 3, 5, 5\) has 3 channels but weight of shape \(4, 2, 3, 3\) expects 4"),
    (lambda: F.conv_transpose2d(ember.randn(1, 2, 5, 5), ember.randn(2, 2, 3, 3), ember.randn(3)),
     r"bias of shape \(3,\) does not match .* expected \(2,\)"),
    (lambda: F.conv_transpose2d(ember.randn(1, 2, 1, 1), ember.randn(2, 2, 1, 1), padding=1), "empty output"),
    (lambda: nn.ConvTranspose2d(2, 2, 3, stride=2)(ember.randn(1, 2, 4, 4), output_size=(20, 9)),
     r"output_size \(20, 9\) is not reachable .* between 9 and 10"),
    (lambda: F.interpolate(ember.randn(1, 2, 3, 3), scale_factor=2, mode="bicubix"),
     r"mode 'bicubix' is not supported; valid modes: \['area', 'bicubic', 'bilinear', 'linear', 'nearest', "
     r"'nearest-exact'\]"),
    (lambda: F.interpolate(ember.randn(1, 2, 3), scale_factor=2, mode="bilinear"), "needs a 4-D input"),
    (lambda: F.interpolate(ember.randn(1, 2, 3, 3), scale_factor=2, align_corners=True), "align_corners option"),
    (lambda: F.interpolate(ember.randn(1, 2, 3, 3)), "exactly one of size or scale_factor"),
    (lambda: F.interpolate(ember.randn(1, 2, 3, 3), size=(2, 3, 4)), "size must be a number or 2 of them"),
    (lambda: F.interpolate(ember.randn(1, 2, 3, 3), scale_factor=0.1), "makes an empty output"),
    (lambda: F.interpolate(ember.randn(2, 3), scale_factor=2), r"3-D \(N, C, L\) or 4-D"),
    (lambda: F.interpolate(ember.randn(1, 2, 3, 3), size=4, recompute_scale_factor=True), "not meaningful"),
    (lambda: F.glu(ember.randn(2, 5)), r"dimension -1 of the input of shape \(2, 5\) has size 5"),
    (lambda: F.pad(ember.randn(2, 3, 4), (1, 1), mode="wrap"), r"valid modes: \['constant', 'reflect'"),
    (lambda: F.pad(ember.randn(2, 3, 4), (4, 0), mode="reflect"), r"must be smaller than its size 4"),
    (lambda: F.pad(ember.randn(2, 3, 4), (5, 0), mode="circular"), r"must be at most its size 4"),
    (lambda: F.pad(ember.randn(2, 3, 4), (1, 1), mode="reflect", value=2.0), "takes no value"),
    (lambda: F.pad(ember.randn(4), (1, 1), mode="reflect"), "pads the last 1, 2 or 3 dimensions"),
    (lambda: F.pad(ember.randn(2, 3), (1,), mode="replicate"), "even length"),
    (lambda: F.pixel_shuffle(ember.randn(1, 6, 2, 2), 2), "divisible by upscale_factor² = 4"),
    (lambda: F.pixel_unshuffle(ember.randn(1, 2, 3, 4), 2), "H and W divisible by downscale_factor = 2"),
    (lambda: F.adaptive_max_pool2d(ember.randn(2, 3, 4), 2), "expects a 4-D input"),
    (lambda: nn.Embedding(5, 2)(ember.tensor([0, 5])), r"indices from 0 to 5 for 5 embeddings \(valid: 0..4\)"),
    (lambda: nn.Embedding(5, 2)(ember.tensor([0.0, 1.0])), "indices must be an integer tensor, got dtype float32"),
    (lambda: F.cosine_similarity(ember.randn(2, 3), ember.randn(2, 4)), r"shapes \(2, 3\) and \(2, 4\) do not broadcast"),
    (lambda: F.pairwise_distance(ember.randn(2, 3), ember.randn(3, 4)), r"shapes \(2, 3\) and \(3, 4\)"),
    (lambda: F.normalize(ember.randn(2, 3), p=0), "p must be a positive number"),
    (lambda: F.triplet_margin_loss(ember.randn(2, 3), ember.randn(2, 3), ember.randn(3)),
     r"got shapes \(2, 3\), \(2, 3\) and \(3,\)"),
    (lambda: F.cosine_embedding_loss(ember.randn(2, 3), ember.randn(2, 3), ember.tensor([1, 1, -1])),
     r"target of shape \(3,\) does not match inputs of shape \(2, 3\) \(expected \(2,\)\)"),
])
def test_bad_inputs_name_the_problem(call, message):
    with pytest.raises((RuntimeError, ValueError, IndexError, NotImplementedError), match=message):
        call()


@pytest.mark.parametrize("make,shape", [
    (lambda: nn.LayerNorm(4), (2, 4)), (lambda: nn.GroupNorm(2, 4), (2, 4, 3)),
    (lambda: nn.InstanceNorm2d(2, affine=True), (2, 2, 3, 3)), (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2), (1, 2, 3, 3)),
    (lambda: nn.Upsample(scale_factor=1.5, mode="bilinear"), (1, 2, 3, 3)), (lambda: nn.Upsample(scale_factor=2), (1, 2, 3, 3)),
    (lambda: nn.Hardswish(), (3,)), (lambda: nn.Hardsigmoid(), (3,)), (lambda: nn.Mish(), (3,)),
    (lambda: nn.LogSigmoid(), (3,)), (lambda: nn.GLU(), (4,)), (lambda: nn.Threshold(0.1, 2.0), (3,)),
    (lambda: nn.AdaptiveMaxPool2d(2), (1, 2, 5, 5)), (lambda: nn.ReflectionPad2d(1), (1, 2, 3, 3)),
    (lambda: nn.PixelShuffle(2), (1, 4, 2, 2)),
])
def test_dtype_is_kept(make, shape):
    layer = make()
    x = ember.randn(*shape, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    for p in layer.parameters():
        assert p.grad.dtype == np.float32
    layer.double()
    assert layer(ember.randn(*shape, dtype=ember.float64)).dtype == np.float64


def test_embedding_output_dtype_follows_the_weight():
    layer = nn.Embedding(4, 2)
    assert layer(ember.tensor([1, 2])).dtype == np.float32
    assert layer.double()(ember.tensor([1, 2])).dtype == np.float64


def test_norms_hold_no_batch_state_train_equals_eval():
    x = ember.randn(3, 4, 2, 2)
    for layer in (nn.LayerNorm((4, 2, 2)), nn.GroupNorm(2, 4), nn.InstanceNorm2d(4)):
        np.testing.assert_array_equal(layer.train()(x).array, layer.eval()(x).array)


def test_parameter_list_and_dict_behave_like_containers():
    pl = nn.ParameterList([ember.randn(2)])  # a plain tensor is wrapped into a Parameter
    assert isinstance(pl[0], nn.Parameter) and pl[0].requires_grad
    pl += [nn.Parameter(ember.randn(3))]
    pl[-1] = nn.Parameter(ember.zeros(4))
    assert len(pl) == 2 and pl[1].shape == (4,) and [p.shape for p in pl] == [(2,), (4,)]
    assert len(pl[:1]) == 1
    with pytest.raises(IndexError, match="index 2 is out of range for a ParameterList of 2"):
        pl[2]
    pd = nn.ParameterDict({"a": ember.randn(2)})
    pd.update({"b": nn.Parameter(ember.randn(1))})
    assert list(pd) == ["a", "b"] and "a" in pd and isinstance(pd["a"], nn.Parameter)
    del pd["a"]
    assert list(pd.keys()) == ["b"] and pd.get("a") is None
    with pytest.raises(KeyError, match="without '.'"):
        pd["x.y"] = nn.Parameter(ember.randn(1))
    holder = nn.Sequential()
    holder.ps = pl
    assert len(list(holder.parameters())) == 2
    assert "(0): Parameter containing: [ember.float32 of size 2]" in repr(pl)
