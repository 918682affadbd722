"""ImageFolder on PNG/JPEG files the test writes."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ember.data import DataError, DataLoader, ImageFolder


def make_folder(root, size=(12, 10), per_class=3):
    rng = np.random.default_rng(0)
    written = {}
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, size=(size[0], size[1], 3), dtype=np.uint8)
            ext = "png" if i % 2 == 0 else "jpg"
            Image.fromarray(pixels).save(root / cls / f"{i}.{ext}")
            written[(cls, i)] = pixels
    (root / "dog" / "notes.txt").write_text("not an image")
    return written


def test_classes_labels_and_pixels(tmp_path):
    written = make_folder(tmp_path)
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and len(ds) == 6
    np.testing.assert_array_equal(ds.targets, [0, 0, 0, 1, 1, 1])
    image, label = ds[0]
    assert image.shape == (3, 12, 10) and image.dtype == np.float32 and label == 0
    np.testing.assert_allclose(image, written[("cat", 0)].transpose(2, 0, 1) / 255.0, atol=1e-6)  # PNG is lossless


def test_grey_resize_and_in_memory_arrays(tmp_path):
    make_folder(tmp_path)
    ds = ImageFolder(tmp_path, mode="L", size=8, in_memory=True)
    x, y = ds.arrays()
    assert x.shape == (6, 1, 8, 8) and x.dtype == np.uint8
    batch = next(iter(DataLoader(ds, batch_size=6)))
    assert batch[0].shape == (6, 1, 8, 8) and batch[0].dtype == np.float32


def test_lazy_folder_through_loader_with_workers(tmp_path):
    make_folder(tmp_path)
    ds = ImageFolder(tmp_path)
    with pytest.raises(TypeError, match="in_memory=True"):
        ds.arrays()
    a = [b[1].array for b in DataLoader(ds, batch_size=4, shuffle=True, seed=3)]
    b = [b[1].array for b in DataLoader(ds, batch_size=4, shuffle=True, seed=3, num_workers=2)]
    assert all(np.array_equal(p, q) for p, q in zip(a, b)) and sum(len(p) for p in a) == 6


def test_mixed_sizes_need_size(tmp_path):
    make_folder(tmp_path)
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).save(tmp_path / "cat" / "small.png")
    with pytest.raises(DataError, match="different sizes.*pass size"):
        ImageFolder(tmp_path, in_memory=True)
    assert ImageFolder(tmp_path, size=(12, 10), in_memory=True).arrays()[0].shape == (7, 3, 12, 10)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(DataError, match="is not a directory"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class sub-folders"):
        ImageFolder(tmp_path / "empty")
    (tmp_path / "empty" / "cls").mkdir()
    with pytest.raises(DataError, match=r"no \.jpg/\.jpeg/\.png/.* images"):
        ImageFolder(tmp_path / "empty")
    with pytest.raises(ValueError, match="unknown image mode 'CMYK'; valid: RGB, L"):
        ImageFolder(tmp_path, mode="CMYK")
    make_folder(tmp_path / "ok")
    (tmp_path / "ok" / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    ds = ImageFolder(tmp_path / "ok")
    index = [str(p) for p, _ in ds.samples].index(str(tmp_path / "ok" / "cat" / "broken.png"))
    with pytest.raises(DataError, match=r"cannot decode image .*broken\.png"):
        ds[index]


def test_torchvision_attributes_and_target_transform(tmp_path):
    make_folder(tmp_path)
    ds = ImageFolder(tmp_path, transform=None, target_transform=lambda y: f"label{y}")
    assert ds.class_to_idx == {"cat": 0, "dog": 1}
    assert ds.imgs is ds.samples and all(isinstance(p, str) and isinstance(y, int) for p, y in ds.samples)
    assert ds.samples[0] == (str(tmp_path / "cat" / "0.png"), 0)
    assert ds[4][1] == "label1" and not ds.has_arrays()
    assert ImageFolder.find_classes(tmp_path) == (["cat", "dog"], {"cat": 0, "dog": 1})
    with pytest.raises(TypeError, match="target_transform.*pass mode= by keyword"):
        ImageFolder(tmp_path, None, "L")


def test_loader_is_valid_file_and_empty_classes(tmp_path):
    make_folder(tmp_path)
    only_png = ImageFolder(tmp_path, is_valid_file=lambda p: p.endswith(".png"))
    assert len(only_png) == 4 and only_png.extensions is None
    calls = []

    def loader(path):
        calls.append(path)
        return np.full((5, 4, 3), 255, np.uint8)  # an HWC array

    ds = ImageFolder(tmp_path, loader=loader)
    image, _ = ds[0]
    assert calls == [ds.samples[0][0]] and image.shape == (3, 5, 4) and image.min() == 1.0
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(DataError, match="no .* images for the classes empty_class"):
        ImageFolder(tmp_path)
    assert ImageFolder(tmp_path, allow_empty=True).classes == ["cat", "dog", "empty_class"]
