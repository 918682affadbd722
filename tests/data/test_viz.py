"""show_batch writes a readable PNG grid."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import ember
from ember.data import classes
from ember.viz import show_batch


def test_png_grid_grey_and_rgb(tmp_path):
    rng = np.random.default_rng(0)
    grey = rng.random((10, 1, 28, 28), dtype=np.float32)
    path = show_batch(ember.tensor(grey), ember.tensor(np.arange(10)), tmp_path / "sub" / "grey.png",
                      class_names=classes, title="a batch")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 200 and im.size[1] > 100
        pixels = np.asarray(im.convert("L"))
        assert pixels.std() > 10  # not a blank canvas
    rgb = (rng.random((5, 3, 32, 32)) * 255).astype(np.uint8)
    soft = rng.dirichlet(np.ones(10), size=5)
    assert show_batch(rgb, soft, tmp_path / "rgb.png", predictions=soft).is_file()
    standardised = rng.standard_normal((3, 1, 8, 8)) * 3
    assert show_batch(standardised, None, tmp_path / "z.png", ncols=2).is_file()


def test_errors(tmp_path):
    with pytest.raises(ValueError, match=r"C = 1 or 3"):
        show_batch(np.zeros((2, 2, 8, 8)), None, tmp_path / "x.png")
    with pytest.raises(ValueError, match="3 images but only 2 labels"):
        show_batch(np.zeros((3, 1, 8, 8)), [0, 1], tmp_path / "x.png")
