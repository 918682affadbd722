"""torchvision.utils' image helpers: ``make_grid`` tiles a batch of images into one, ``save_image`` writes it.

PyTorch's tutorials show a batch with ``imshow(torchvision.utils.make_grid(images))`` and save samples
with ``vutils.save_image(fake, "fake.png", normalize=True)``. Both work on the values only (the grid is
a new tensor outside the graph), with torchvision's arguments and layout: images in rows of ``nrow``,
``padding`` pixels of ``pad_value`` around each, one-channel images repeated to three channels.
"""
from __future__ import annotations

import math

import numpy as np

import ember
from ember.tensor import Tensor


def _batch(tensor) -> np.ndarray:
    if isinstance(tensor, (list, tuple)):
        if not all(isinstance(t, Tensor) for t in tensor):
            raise TypeError(f"make_grid: expected a tensor or a list of tensors, got a list holding "
                            f"{sorted({type(t).__name__ for t in tensor})}")
        return np.stack([t.array for t in tensor])
    if not isinstance(tensor, Tensor):
        raise TypeError(f"make_grid: expected a tensor or a list of tensors, got {type(tensor).__name__}")
    array = tensor.array
    if array.ndim not in (2, 3, 4):
        raise ValueError(f"make_grid: expected an image (H, W) or (C, H, W) or a batch (B, C, H, W), "
                         f"got shape {tuple(array.shape)}")
    if array.ndim == 2:
        array = array[None]
    if array.ndim == 3:
        array = array[None]
    return array


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False, value_range=None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Tile a batch (B, C, H, W) (or a list of (C, H, W) images) into one (C, H', W') image, ``nrow`` per row.

    ``normalize=True`` shifts the values to [0, 1] using ``value_range`` (min, max) or else the batch's own
    min and max (each image's own with ``scale_each=True``). A single image comes back alone, unpadded."""
    array = _batch(tensor)
    if array.shape[1] == 1:  # single-channel images are shown as grey RGB
        array = np.concatenate([array] * 3, axis=1)
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("make_grid: value_range has to be a tuple (min, max) if specified")
        array = array.astype(np.result_type(array.dtype, np.float32), copy=True)

        def norm_range(t):
            low, high = value_range if value_range is not None else (float(t.min()), float(t.max()))
            np.clip(t, low, high, out=t)
            t -= low
            t /= max(high - low, 1e-5)

        for t in (array if scale_each else [array]):
            norm_range(t)
    if array.shape[0] == 1:
        return ember.tensor(array[0])
    nmaps, channels, h, w = array.shape
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(nmaps / xmaps))
    height, width = h + padding, w + padding
    grid = np.full((channels, height * ymaps + padding, width * xmaps + padding), pad_value, dtype=array.dtype)
    for k in range(nmaps):
        y, x = divmod(k, xmaps)
        grid[:, y * height + padding: y * height + padding + h, x * width + padding: x * width + padding + w] = array[k]
    return ember.tensor(grid)


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """Write ``make_grid(tensor, **kwargs)`` (values in [0, 1]) as an 8-bit image file."""
    from PIL import Image

    grid = make_grid(tensor, **kwargs).array
    ndarr = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(ndarr).save(fp, format=format)


__all__ = ["make_grid", "save_image"]
