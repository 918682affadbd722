"""MNIST and Fashion-MNIST: 28x28 grey images in ten classes, read from the official IDX files.

``FashionMNIST(split="train")`` (or torchvision's ``train=True``) holds 60,000 images (6,000 per class), ``split="test"`` 10,000
(1,000 per class). ``data`` is uint8 of shape (N, 1, 28, 28); the loader and ``dataset[i]``
give float32 in [0, 1]. See :mod:`ember.data.sources` for where the files are looked for.
Parsed files are cached per process and shared between dataset objects, so ``data`` and
``targets`` are read-only arrays (augmentations copy; the stored pixels never change).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ember.data.dataset import ImageArrayDataset
from ember.data.idx import read_image_label_pair
from ember.data.sources import check_split, files_in, get_source, locate
from ember.data.vision_compat import TargetTransformMixin, check_target_transform, resolve_split

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
MNIST_CLASSES = [str(d) for d in range(10)]

# Parsed files, keyed by (path, size, mtime): building the train split twice decodes it once.
# The arrays are read-only so that sharing them between dataset objects is safe.
_PARSED: dict = {}
_PARSED_LOCK = threading.Lock()
_KEEP = 4


def _load_pair(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    def key(p: Path):
        st = os.stat(p)
        return str(p.resolve()), st.st_size, st.st_mtime_ns

    k = (key(images), key(labels))
    with _PARSED_LOCK:
        hit = _PARSED.get(k)
    if hit is not None:
        return hit
    x, y = read_image_label_pair(images, labels, num_classes=10)
    x = x[:, None, :, :]  # (N, 28, 28) -> NCHW with one channel
    x.flags.writeable = False
    y.flags.writeable = False
    with _PARSED_LOCK:
        _PARSED[k] = (x, y)
        while len(_PARSED) > _KEEP:  # a few splits at most: memory matters more than a re-parse
            _PARSED.pop(next(iter(_PARSED)))
    return x, y


class _IDXImageDataset(TargetTransformMixin, ImageArrayDataset):
    source_name = ""
    classes: list[str] = []

    def __init__(self, root: str | os.PathLike | None = None, split: str | None = None, transform=None,
                 download: bool = True, progress: bool = True, *, train: bool | None = None,
                 target_transform=None):
        split = resolve_split(split, train)
        source = get_source(self.source_name)
        check_split(source, split)
        if root is not None:  # torchvision keeps the files in root/<ClassName>/raw
            tv_dir = Path(root).expanduser() / type(self).__name__ / "raw"
            if tv_dir.is_dir() and files_in(tv_dir, source, split) is not None:
                root = tv_dir
        files = locate(self.source_name, split, root=root, download=download, progress=progress)
        images_name, labels_name = source.files[split]
        x, y = _load_pair(files[images_name], files[labels_name])
        super().__init__(x, y, classes=type(self).classes, transform=transform, name=type(self).__name__)
        self.target_transform = check_target_transform(target_transform)
        self.split = split
        self.train = split == "train"
        self.root = files[images_name].parent

    def __repr__(self) -> str:
        return f"{type(self).__name__}(split={self.split!r}, {len(self)} images, from {self.root})"


class FashionMNIST(_IDXImageDataset):
    """Zalando's Fashion-MNIST: 70,000 28x28 grey images of clothing in ten classes.

    ``root``: a directory of the IDX files (searched first; torchvision's
    ``root/FashionMNIST/raw`` too); ``split``: "train" or "test" (or torchvision's ``train=True``
    / ``False``); ``transform``: an optional per-sample transform on float32 (1, 28, 28) images
    and ``target_transform`` one on the int label (setting either makes the loader fetch samples
    one by one); ``download``: try the official mirrors if the files are nowhere local (unlike
    torchvision, True by default).
    """

    source_name = "fashion-mnist"
    classes = FASHION_MNIST_CLASSES


class MNIST(_IDXImageDataset):
    """LeCun, Cortes and Burges' handwritten digits, same layout and signature as :class:`FashionMNIST`."""

    source_name = "mnist"
    classes = MNIST_CLASSES
