"""ImageFolder: one sub-folder per class, PNG or JPEG files inside, decoded with Pillow.

::

    root/cat/001.png
    root/cat/002.jpg
    root/dog/abc.jpeg

Classes are the sub-folder names in sorted order (so label ``i`` is ``classes[i]``), and the
attributes are torchvision's: ``classes``, ``class_to_idx``, ``samples`` (= ``imgs``, a list of
``(path, label)``) and ``targets``. Images are
decoded on demand (``in_memory=False``, the loader's worker threads then decode in parallel) or
all at construction (``in_memory=True``: they must share a size, or pass ``size``), which gives
the vectorised ``arrays()`` path of the in-memory datasets.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from typing import Callable

from ember.data.dataset import Dataset, to_float
from ember.data.errors import DataError
from ember.data.image import is_hwc, is_pil, pil_to_array

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")  # torchvision's
MODES = {"RGB": 3, "L": 1}


def _callable_or_none(name: str, value, hint: str = "") -> None:
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__} {value!r}{hint}")


class ImageFolder(Dataset):
    """Images in ``root/<class>/<file>`` as float32 (C, H, W) in [0, 1] with integer labels.

    torchvision's arguments: ``transform`` (per image), ``target_transform`` (per label),
    ``loader`` (path -> PIL image; an array it returns is used as it is, HWC or CHW),
    ``is_valid_file`` (path -> bool, instead of the extension check) and ``allow_empty`` (let a
    class folder hold no images). ember's, by keyword: ``mode`` "RGB" (3 channels) or "L" (grey,
    1 channel); ``size``: (H, W) or int to resize every image (bilinear); ``in_memory``.
    """

    def __init__(self, root: str | os.PathLike, transform=None, target_transform=None,
                 loader: Callable | None = None, is_valid_file: Callable[[str], bool] | None = None,
                 allow_empty: bool = False, *, mode: str = "RGB", size=None, in_memory: bool = False):
        self.root = Path(root)
        _callable_or_none("transform", transform)
        _callable_or_none("target_transform", target_transform,
                          " (ImageFolder's third argument is torchvision's target_transform: pass mode= by keyword)"
                          if isinstance(target_transform, str) else "")
        _callable_or_none("loader", loader)
        _callable_or_none("is_valid_file", is_valid_file)
        if mode not in MODES:
            raise ValueError(f"unknown image mode {mode!r}; valid: {', '.join(MODES)}")
        if not self.root.is_dir():
            raise DataError(f"ImageFolder root {self.root} is not a directory")
        self.mode = mode
        self.size = (size, size) if isinstance(size, int) else (tuple(size) if size is not None else None)
        self.transform = transform
        self.target_transform = target_transform
        self.loader = loader
        self.extensions = None if is_valid_file is not None else IMAGE_EXTENSIONS
        self.classes, _ = self.find_classes(self.root)
        if not self.classes:
            raise DataError(f"ImageFolder root {self.root} has no class sub-folders (expected root/<class>/<image>)")
        valid = is_valid_file or (lambda path: path.lower().endswith(IMAGE_EXTENSIONS))
        self.samples: list[tuple[str, int]] = []
        empty = []
        for label, name in enumerate(self.classes):
            files = sorted(str(p) for p in (self.root / name).rglob("*") if p.is_file() and valid(str(p)))
            self.samples += [(p, label) for p in files]
            if not files:
                empty.append(name)
        what = "valid" if is_valid_file is not None else "/".join(IMAGE_EXTENSIONS)
        if not self.samples and not allow_empty:
            raise DataError(f"ImageFolder root {self.root} has class folders {self.classes} but no {what} images "
                            "in them")
        if empty and not allow_empty:
            raise DataError(f"ImageFolder {self.root}: found no {what} images for the classes {', '.join(empty)} "
                            "(allow_empty=True keeps empty classes)")
        self.imgs = self.samples  # torchvision's older name for the same list
        self.targets = np.array([label for _, label in self.samples], dtype=np.int64)
        self._data = None
        if in_memory:
            images = [self.load_image(i) for i in range(len(self.samples))]
            shapes = {im.shape for im in images}
            if len(shapes) != 1:
                raise DataError(
                    f"ImageFolder {self.root}: images have different sizes {sorted(shapes)[:4]}; pass size=(H, W) "
                    "to resize them to one size"
                )
            self._data = np.stack(images)

    @staticmethod
    def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
        """The class names (sorted sub-folder names, hidden ones skipped) and their labels, as torchvision's."""
        classes = sorted(d.name for d in Path(directory).iterdir() if d.is_dir() and not d.name.startswith("."))
        return classes, {c: i for i, c in enumerate(classes)}

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.samples)

    def load_image(self, index: int) -> np.ndarray:
        """Decode one file to uint8 (C, H, W); a file Pillow cannot read is a DataError naming it."""
        from PIL import Image, UnidentifiedImageError

        path = self.samples[index][0]
        try:
            if self.loader is not None:
                loaded = self.loader(path)
                if not is_pil(loaded):
                    a = np.asarray(loaded)
                    return a[None] if a.ndim == 2 else (a.transpose(2, 0, 1) if a.ndim == 3 and is_hwc(a) else a)
                return self._prepare(loaded)
            with Image.open(path) as im:
                return self._prepare(im)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise DataError(f"cannot decode image {path}: {exc}") from exc

    def _prepare(self, im) -> np.ndarray:
        from PIL import Image

        im = im.convert(self.mode)
        if self.size is not None and im.size != (self.size[1], self.size[0]):
            im = im.resize((self.size[1], self.size[0]), Image.BILINEAR)
        return pil_to_array(im)

    def __getitem__(self, index: int):
        image = self._data[index] if self._data is not None else self.load_image(index)
        image = to_float(image)
        if self.transform is not None:
            image = self.transform(image)
        target = int(self.targets[index])
        return image, (target if self.target_transform is None else self.target_transform(target))

    def has_arrays(self) -> bool:
        return self._data is not None and self.target_transform is None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 NCHW images, int64 labels); only with ``in_memory=True``."""
        if self._data is None:
            raise TypeError("ImageFolder(in_memory=False) decodes on demand and has no arrays(); "
                            "pass in_memory=True to hold the images in memory")
        return self._data, self.targets

    def __repr__(self) -> str:
        return f"ImageFolder({self.root}, {len(self)} images, {len(self.classes)} classes)"
