"""Pictures of data: a batch of images as a labelled PNG grid.

Drawn with matplotlib's Agg canvas directly (no pyplot, no display, no global figure state), so
it works on a headless machine and from any thread. Useful to look at what the network really
sees — e.g. a batch before and after augmentation.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ember.tensor import Tensor


def _images(images) -> np.ndarray:
    """NCHW (or NHW) images as float (N, H, W, C) in [0, 1] for display."""
    a = images.array if isinstance(images, Tensor) else np.asarray(images)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise ValueError(f"show_batch expects images (N, C, H, W) with C = 1 or 3 (or (N, H, W)), got {a.shape}")
    if a.dtype == np.uint8:
        a = a.astype(np.float32) / 255.0
    a = a.astype(np.float32)
    lo, hi = float(a.min(initial=0.0)), float(a.max(initial=1.0))
    if lo < 0.0 or hi > 1.0:  # preprocessed (e.g. standardised) data: stretch each image to [0, 1]
        mn = a.min(axis=(1, 2, 3), keepdims=True)
        mx = a.max(axis=(1, 2, 3), keepdims=True)
        a = (a - mn) / np.where(mx > mn, mx - mn, 1.0)
    return a.transpose(0, 2, 3, 1)


def _label_text(label, class_names) -> str:
    a = np.asarray(label.array if isinstance(label, Tensor) else label)
    if a.ndim == 1:  # soft label (mixup): the two largest classes with their weights
        top = np.argsort(a)[::-1][:2]
        parts = [f"{_name(int(c), class_names)} {a[c]:.2f}" for c in top if a[c] > 0.005]
        return "\n".join(parts)
    return _name(int(a), class_names)


def _name(index: int, class_names) -> str:
    if class_names is not None and 0 <= index < len(class_names):
        return str(class_names[index])
    return str(index)


def show_batch(images, labels=None, path: str | os.PathLike = "batch.png", class_names=None, title: str | None = None,
               ncols: int | None = None, max_images: int = 64, predictions=None) -> Path:
    """Write a PNG grid of ``images`` with their labels under each; returns the path.

    ``images``: (N, C, H, W) with C 1 or 3 (ndarray or Tensor; float in [0, 1], uint8, or any
    float range, which is stretched per image). ``labels``: integer (N,) or soft (N, classes)
    labels, or None. ``class_names`` maps indices to names. ``predictions``: optional (N,) or
    (N, classes) predictions shown after the label (red when wrong). At most ``max_images``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    pics = _images(images)[:max_images]
    n = pics.shape[0]
    if n == 0:
        raise ValueError("show_batch got an empty batch")
    labels = None if labels is None else (labels.array if isinstance(labels, Tensor) else np.asarray(labels))
    if labels is not None and labels.shape[0] < n:
        raise ValueError(f"{n} images but only {labels.shape[0]} labels")
    if predictions is not None:
        predictions = predictions.array if isinstance(predictions, Tensor) else np.asarray(predictions)
        if predictions.ndim == 2:
            predictions = predictions.argmax(axis=1)
    ncols = ncols or min(n, 8)
    nrows = math.ceil(n / ncols)
    cell = 1.5
    fig = Figure(figsize=(ncols * cell, nrows * (cell + 0.35) + (0.4 if title else 0)), dpi=100)
    FigureCanvasAgg(fig)
    for i in range(n):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        img = pics[i]
        if img.shape[2] == 1:
            ax.imshow(img[:, :, 0], cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        else:
            ax.imshow(np.clip(img, 0.0, 1.0), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        text, colour = "", "black"
        if labels is not None:
            text = _label_text(labels[i], class_names)
        if predictions is not None:
            guess = _name(int(predictions[i]), class_names)
            text = f"{text} / {guess}" if text else guess
            if labels is not None and labels.ndim == 1 and int(predictions[i]) != int(labels[i]):
                colour = "red"
        if text:
            ax.set_title(text, fontsize=7, color=colour)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path
