"""ImageFolder: one sub-folder per class, PNG or JPEG files inside, decoded with Pillow.

::

    root/cat/001.png
    root/cat/002.jpg
    root/dog/abc.jpeg

Classes are the sub-folder names in sorted order (so label ``i`` is ``classes[i]``). Images are
decoded on demand (``in_memory=False``, the loader's worker threads then decode in parallel) or
all at construction (``in_memory=True``: they must share a size, or pass ``size``), which gives
the vectorised ``arrays()`` path of the in-memory datasets.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ember.data.dataset import Dataset, to_float
from ember.data.errors import DataError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
MODES = {"RGB": 3, "L": 1}


class ImageFolder(Dataset):
    """Images in ``root/<class>/<file>`` as float32 (C, H, W) in [0, 1] with integer labels.

    ``mode``: "RGB" (3 channels) or "L" (grey, 1 channel); ``size``: (H, W) or int to resize
    every image (bilinear); ``transform``: an optional per-sample transform.
    """

    def __init__(self, root: str | os.PathLike, transform=None, mode: str = "RGB", size=None,
                 in_memory: bool = False):
        self.root = Path(root)
        if mode not in MODES:
            raise ValueError(f"unknown image mode {mode!r}; valid: {', '.join(MODES)}")
        if not self.root.is_dir():
            raise DataError(f"ImageFolder root {self.root} is not a directory")
        self.mode = mode
        self.size = (size, size) if isinstance(size, int) else (tuple(size) if size is not None else None)
        self.transform = transform
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not self.classes:
            raise DataError(f"ImageFolder root {self.root} has no class sub-folders (expected root/<class>/<image>)")
        self.samples: list[tuple[Path, int]] = []
        for label, name in enumerate(self.classes):
            files = sorted(p for p in (self.root / name).rglob("*")
                           if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
            self.samples += [(p, label) for p in files]
        if not self.samples:
            raise DataError(
                f"ImageFolder root {self.root} has class folders {self.classes} but no "
                f"{'/'.join(IMAGE_EXTENSIONS)} images in them"
            )
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
            with Image.open(path) as im:
                im = im.convert(self.mode)
                if self.size is not None and im.size != (self.size[1], self.size[0]):
                    im = im.resize((self.size[1], self.size[0]), Image.BILINEAR)
                pixels = np.asarray(im, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise DataError(f"cannot decode image {path}: {exc}") from exc
        return pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)

    def __getitem__(self, index: int):
        image = self._data[index] if self._data is not None else self.load_image(index)
        image = to_float(image)
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.targets[index])

    def has_arrays(self) -> bool:
        return self._data is not None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 NCHW images, int64 labels); only with ``in_memory=True``."""
        if self._data is None:
            raise TypeError("ImageFolder(in_memory=False) decodes on demand and has no arrays(); "
                            "pass in_memory=True to hold the images in memory")
        return self._data, self.targets

    def __repr__(self) -> str:
        return f"ImageFolder({self.root}, {len(self)} images, {len(self.classes)} classes)"
