"""torchvision's conversion transforms (ToTensor, PILToTensor, ToPILImage, Normalize, Lambda, RandomApply)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ember.data.augment import RandomHorizontalFlip
from ember.data.transforms import Lambda, Normalize, PILToTensor, RandomApply, ToPILImage, ToTensor
from ember.tensor import Tensor


def hwc(h=5, w=7, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, c), dtype=np.uint8)


def test_to_tensor_scales_uint8_and_moves_channels_first():
    pixels = hwc()
    expected = pixels.transpose(2, 0, 1).astype(np.float32) / 255.0
    for pic in (Image.fromarray(pixels), pixels):
        t = ToTensor()(pic)
        assert isinstance(t, Tensor) and t.dtype == np.float32 and t.shape == (3, 5, 7)
        np.testing.assert_allclose(t.array, expected, rtol=1e-6)
    grey = hwc(c=1)[:, :, 0]
    np.testing.assert_allclose(ToTensor()(Image.fromarray(grey)).array, grey[None] / 255.0, rtol=1e-6)
    np.testing.assert_allclose(ToTensor()(grey).array, grey[None] / 255.0, rtol=1e-6)


def test_to_tensor_lets_embers_float_chw_through():
    chw = np.random.default_rng(1).random((1, 28, 28), dtype=np.float32)
    t = ToTensor()(chw)
    assert isinstance(t, Tensor) and t.shape == (1, 28, 28)
    np.testing.assert_array_equal(t.array, chw)
    np.testing.assert_array_equal(ToTensor()(t).array, chw)
    float_hwc = np.random.default_rng(2).random((6, 6, 3))  # unscaled, transposed (torchvision's float rule)
    np.testing.assert_array_equal(ToTensor()(float_hwc).array, float_hwc.transpose(2, 0, 1))
    with pytest.raises(TypeError, match="pic should be a PIL Image"):
        ToTensor()("image.png")


def test_pil_to_tensor_and_to_pil_image_match_torchvision_rules():
    pixels = hwc()
    u = PILToTensor()(Image.fromarray(pixels))
    assert u.dtype == np.uint8
    np.testing.assert_array_equal(u.array, pixels.transpose(2, 0, 1))
    x = np.random.default_rng(3).random((3, 4, 6), dtype=np.float32)
    img = ToPILImage()(Tensor._wrap(x))
    assert img.mode == "RGB" and img.size == (6, 4)
    expected = (x * 255).astype(np.uint8).transpose(1, 2, 0)  # torchvision's to_pil_image: mul(255).byte()
    np.testing.assert_array_equal(np.asarray(img), expected)
    assert ToPILImage()(pixels[:, :, :1]).mode == "L"
    back = ToPILImage()(ToTensor()(Image.fromarray(pixels)))
    np.testing.assert_array_equal(np.asarray(back), pixels)


def test_normalize_formula_inplace_and_repr():
    x = np.random.default_rng(4).random((3, 4, 5), dtype=np.float32)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    expected = (x - np.array(mean, np.float32)[:, None, None]) / np.array(std, np.float32)[:, None, None]
    out = Normalize(mean, std)(Tensor._wrap(x.copy()))
    assert isinstance(out, Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(out.array, expected, rtol=1e-6)
    np.testing.assert_allclose(Normalize(mean, std)(x[None]), expected[None], rtol=1e-6)  # batches too
    y = x.copy()
    assert Normalize(mean, std, inplace=True)(y) is y
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    np.testing.assert_allclose(Normalize((0.5,), (0.5,))(x), x * 2 - 1, rtol=1e-6)
    assert repr(Normalize((0.5,), (0.5,))) == "Normalize(mean=[0.5], std=[0.5])"


def test_normalize_errors_name_the_problem():
    with pytest.raises(ValueError, match="std evaluated to zero"):
        Normalize((0.5,), (0.0,))
    with pytest.raises(TypeError, match="float tensor, got uint8; put ToTensor"):
        Normalize((0.5,), (0.5,))(hwc().transpose(2, 0, 1))
    with pytest.raises(TypeError, match="PIL image; put ToTensor"):
        Normalize((0.5,), (0.5,))(Image.fromarray(hwc()))
    with pytest.raises(ValueError, match="2 mean values but the image has 3 channels"):
        Normalize((0.5, 0.5), (0.5, 0.5))(np.zeros((3, 2, 2), np.float32))


def test_lambda_and_random_apply():
    assert Lambda(lambda v: v * 2)(3) == 6 and repr(Lambda(abs)) == "Lambda()"
    with pytest.raises(TypeError, match="lambd should be callable"):
        Lambda(3)
    x = np.random.default_rng(5).random((64, 1, 2, 3), dtype=np.float32)
    out = RandomApply([RandomHorizontalFlip(p=1.0)], p=0.5)(x, rng=np.random.default_rng(0))
    flipped = np.array([np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x)])
    same = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert (flipped | same).all() and 10 < flipped.sum() < 54  # per image, about half
    np.testing.assert_array_equal(RandomApply([RandomHorizontalFlip(p=1.0)], p=0.0)(x), x)
