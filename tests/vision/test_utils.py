"""ember.vision.utils: torchvision's make_grid / save_image layout (rows of nrow, padding, grey -> RGB)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision import utils as vutils


def test_make_grid_tiles_a_batch_in_rows_with_padding():
    batch = ember.arange(5 * 3 * 2 * 4, dtype=ember.float32).reshape(5, 3, 2, 4)
    grid = vutils.make_grid(batch, nrow=3, padding=1, pad_value=-1.0)
    assert isinstance(grid, ember.Tensor) and grid.shape == (3, 2 * 3 + 1, 3 * 5 + 1)
    g = grid.numpy()
    np.testing.assert_array_equal(g[:, 1:3, 1:5], batch.numpy()[0])
    np.testing.assert_array_equal(g[:, 1:3, 6:10], batch.numpy()[1])
    np.testing.assert_array_equal(g[:, 4:6, 6:10], batch.numpy()[4])  # second row, second column
    assert (g[:, 0] == -1).all() and (g[:, 4:6, 11:15] == -1).all()  # padding, and the empty last cell


def test_make_grid_greys_to_rgb_normalizes_and_returns_a_single_image_alone():
    x = ember.tensor(np.random.default_rng(0).uniform(-3, 5, size=(2, 1, 4, 4)).astype(np.float32))
    grid = vutils.make_grid(x, normalize=True, padding=0)
    assert grid.shape == (3, 4, 8) and float(grid.min()) == 0.0 and float(grid.max()) == 1.0
    np.testing.assert_array_equal(grid.numpy()[0], grid.numpy()[2])
    assert float(x.min()) < 0  # the input is untouched
    each = vutils.make_grid(x, normalize=True, scale_each=True, padding=0).numpy()
    assert each[:, :, :4].min() == 0 and each[:, :, :4].max() == 1 and each[:, :, 4:].max() == 1
    clipped = vutils.make_grid(x, normalize=True, value_range=(0.0, 1.0), padding=0).numpy()
    np.testing.assert_allclose(clipped[0], np.clip(np.concatenate([x.numpy()[0, 0], x.numpy()[1, 0]], 1), 0, 1))
    assert vutils.make_grid(x[0]).shape == (3, 4, 4) and vutils.make_grid(x[0, 0]).shape == (3, 4, 4)
    assert vutils.make_grid([x[0], x[1]], padding=0).shape == (3, 4, 8)
    with pytest.raises(TypeError, match="tensor or a list of tensors"):
        vutils.make_grid(x.numpy())
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        vutils.make_grid(x, normalize=True, value_range=[0, 1])


def test_save_image_writes_the_grid_as_8_bit(tmp_path):
    x = ember.rand(4, 3, 5, 6)
    vutils.save_image(x, tmp_path / "fake.png", nrow=2)
    saved = np.asarray(Image.open(tmp_path / "fake.png"))
    assert saved.shape == (2 * 7 + 2, 2 * 8 + 2, 3) and saved.dtype == np.uint8
    np.testing.assert_array_equal(saved[2:7, 2:8], np.clip(x.numpy()[0].transpose(1, 2, 0) * 255 + 0.5, 0, 255)
                                  .astype(np.uint8))
