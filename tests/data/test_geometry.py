"""Resize, CenterCrop and Pad: against torch's interpolate, Pillow and hand-written slicing."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ember.data.geometry import CenterCrop, Pad, Resize
from ember.tensor import Tensor


def batch(n=2, c=3, h=17, w=23, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w), dtype=np.float32)


@pytest.mark.parametrize("size", [(9, 11), (30, 40), (17, 5), (40, 7)])
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_matches_torch_interpolate(size, antialias, torch):
    TF = torch.nn.functional
    x = batch()
    ref = TF.interpolate(torch.tensor(x), size=size, mode="bilinear", align_corners=False, antialias=antialias)
    np.testing.assert_allclose(Resize(size, antialias=antialias)(x), ref.numpy(), atol=1e-5)
    ref = TF.interpolate(torch.tensor(x), size=size, mode="nearest")
    np.testing.assert_array_equal(Resize(size, interpolation="nearest")(x), ref.numpy())


def test_resize_int_is_the_shorter_side_and_max_size_caps_the_longer():
    x = np.zeros((3, 20, 30), np.float32)
    assert Resize(10)(x).shape == (3, 10, 15)
    assert Resize([10])(np.zeros((3, 31, 20), np.float32)).shape == (3, 15, 10)  # int(10 * 31 / 20)
    assert Resize(10, max_size=12)(x).shape == (3, 8, 12)
    with pytest.raises(ValueError, match="max_size = 10 must be strictly greater"):
        Resize(10, max_size=10)
    with pytest.raises(ValueError, match="unknown interpolation 'cubic'; valid: nearest"):
        Resize(10, interpolation="cubic")
    t = Resize((4, 5))(Tensor._wrap(x))
    assert isinstance(t, Tensor) and t.shape == (3, 4, 5)


def test_resize_pil_uses_pillow():
    img = Image.fromarray(np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8))
    out = Resize(10)(img)
    assert isinstance(out, Image.Image) and out.size == (15, 10)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(img.resize((15, 10), Image.BILINEAR)))


def test_center_crop_rounds_like_torchvision_and_pads_when_larger():
    x = batch(h=9, w=10)
    np.testing.assert_array_equal(CenterCrop(4)(x), x[:, :, 2:6, 3:7])  # round(2.5) = 2, round(3.0) = 3
    np.testing.assert_array_equal(CenterCrop((3, 5))(x[0]), x[0, :, 3:6, 2:7])  # round(3.0), round(2.5)
    big = CenterCrop((12, 11))(x)
    assert big.shape == (2, 3, 12, 11)
    np.testing.assert_array_equal(big[:, :, 1:10, 0:10], x)  # 3 rows of padding: 1 above, 2 below
    assert big[:, :, 0].max() == 0 and big[:, :, 10:].max() == 0 and big[:, :, :, 10].max() == 0
    pil = Image.fromarray((x[0].transpose(1, 2, 0) * 255).astype(np.uint8))
    assert CenterCrop(4)(pil).size == (4, 4)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_forms_and_modes_match_numpy(mode):
    x = batch(h=5, w=6)
    kw = {"constant_values": 0.0} if mode == "constant" else {}
    np.testing.assert_array_equal(Pad(2, padding_mode=mode)(x), np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), mode, **kw))
    np.testing.assert_array_equal(Pad((1, 2), padding_mode=mode)(x),
                                  np.pad(x, ((0, 0), (0, 0), (2, 2), (1, 1)), mode, **kw))
    np.testing.assert_array_equal(Pad((1, 2, 3, 4), padding_mode=mode)(x),
                                  np.pad(x, ((0, 0), (0, 0), (2, 4), (1, 3)), mode, **kw))


def test_pad_fill_per_channel_and_errors():
    out = Pad(1, fill=(0.1, 0.2, 0.3))(batch(n=1, h=2, w=2))
    np.testing.assert_allclose(out[0, :, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="unknown padding_mode 'wrap'; valid: constant, edge, reflect, symmetric"):
        Pad(1, padding_mode="wrap")
    with pytest.raises(ValueError, match="sequence of 1, 2 or 4"):
        Pad((1, 2, 3))
    with pytest.raises(ValueError, match="fill has 2 values but the image has 3 channels"):
        Pad(1, fill=(0.0, 1.0))(batch())
    assert repr(Pad(2)) == "Pad(padding=2, fill=0.0, padding_mode=constant)"
