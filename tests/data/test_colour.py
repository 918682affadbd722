"""Grayscale, RandomGrayscale, GaussianBlur and RandomErasing."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ember.data.colour import GaussianBlur, Grayscale, RandomErasing, RandomGrayscale


def batch(n=4, c=3, h=9, w=11, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w), dtype=np.float32)


def test_grayscale_weights_channels_and_pil():
    x = batch()
    grey = 0.2989 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    np.testing.assert_allclose(Grayscale()(x)[:, 0], grey, rtol=1e-5)
    three = Grayscale(3)(x[0])
    assert three.shape == (3, 9, 11) and np.array_equal(three[0], three[2])
    img = Image.fromarray((x[0].transpose(1, 2, 0) * 255).astype(np.uint8))
    assert Grayscale()(img).mode == "L" and Grayscale(3)(img).mode == "RGB"
    np.testing.assert_array_equal(np.asarray(Grayscale()(img)), np.asarray(img.convert("L")))
    with pytest.raises(ValueError, match="either 1 or 3"):
        Grayscale(2)


def test_random_grayscale_keeps_channels():
    x = batch()
    out = RandomGrayscale(p=1.0)(x)
    assert out.shape == x.shape and np.allclose(out[:, 0], out[:, 1])
    np.testing.assert_array_equal(RandomGrayscale(p=0.0)(x), x)
    np.testing.assert_array_equal(RandomGrayscale(p=1.0)(x[:, :1]), x[:, :1])


def test_gaussian_blur_matches_a_reflect_padded_convolution(torch):
    TF = torch.nn.functional
    x = batch(n=1)
    sigma = 1.3
    t = np.linspace(-2, 2, 5)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    k /= k.sum()
    padded = TF.pad(torch.tensor(x), (2, 2, 2, 2), mode="reflect")
    kernel = torch.tensor(np.outer(k, k), dtype=torch.float32).expand(3, 1, 5, 5)
    ref = TF.conv2d(padded, kernel, groups=3).numpy()
    np.testing.assert_allclose(GaussianBlur(5, sigma=sigma)(x), ref, atol=1e-5)
    flat = np.full((1, 3, 6, 6), 0.4, np.float32)
    np.testing.assert_allclose(GaussianBlur(3)(flat), flat, atol=1e-6)
    with pytest.raises(ValueError, match="odd and positive"):
        GaussianBlur(4)
    with pytest.raises(ValueError, match="sigma values should be positive"):
        GaussianBlur(3, sigma=(2.0, 1.0))


def test_random_erasing_erases_one_box_in_the_scale_range():
    x = batch(n=200, c=2, h=20, w=20) + 1.0  # never 0, so erased pixels are the zeros
    out = RandomErasing(p=1.0, scale=(0.1, 0.2), ratio=(0.5, 2.0))(x, rng=np.random.default_rng(0))
    erased = out[:, 0] == 0
    assert np.array_equal(erased, out[:, 1] == 0)  # all channels
    area = erased.sum(axis=(1, 2))
    assert (area > 0).mean() > 0.9 and area.max() <= 0.2 * 400 * 1.3
    for m in erased[area > 0][:20]:
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        assert m.sum() == rows.size * cols.size  # one rectangle
    np.testing.assert_array_equal(RandomErasing(p=0.0)(x), x)
    coloured = RandomErasing(p=1.0, value=(0.25, 0.75))(x, rng=np.random.default_rng(1))
    assert set(np.unique(coloured[:, 0][coloured[:, 0] < 1])) <= {0.25}
    y = x.copy()
    assert RandomErasing(p=1.0, inplace=True)(y) is y and not np.array_equal(y, x)
    with pytest.raises(ValueError, match="should be 'random'"):
        RandomErasing(value="noise")
