"""PNG plots of a run (matplotlib, Agg backend: no display needed).

* ``plot_curves``: loss and accuracy for training (per step, lightly, and per epoch) and validation;
* ``plot_lr``: the learning rate per step;
* ``plot_confusion_matrix``: counts with row-normalised colours and the class names;
* ``plot_misclassified``: a grid of misclassified images titled with the predicted (with its
  probability) and the true label.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    tmp.replace(path)
    return path


def _epoch_axis(history) -> tuple[list, float]:
    """Epoch numbers of the epoch records and the number of steps per epoch (for placing steps)."""
    epochs = history["epoch"]
    steps = history["step"]
    per = (steps[-1] / epochs[-1]) if epochs and epochs[-1] and steps[-1] else 1.0
    return epochs, per


def plot_curves(history, path, title: str | None = None) -> Path:
    """Loss and accuracy per epoch, train vs validation, with the per-step training loss behind."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    epochs, per = _epoch_axis(history)
    s_steps, s_loss = history.step_series("loss")
    ax = axes[0]
    if s_steps:
        x = np.asarray(s_steps) / per
        ax.plot(x, s_loss, color="tab:blue", alpha=0.2, lw=0.8, label="train (per step)")
        window = max(1, len(s_loss) // 40)
        if window > 1:  # a moving average shows the trend through the mini-batch noise
            smooth = np.convolve(np.asarray(s_loss, dtype=float), np.ones(window) / window, mode="valid")
            ax.plot(x[window - 1:], smooth, color="tab:blue", alpha=0.6, lw=1.2,
                    label=f"train (mean of {window} steps)")
    for key, label, style in (("loss", "train (epoch mean)", "o-"), ("val_loss", "validation", "s-")):
        vals = history[key]
        pts = [(e, v) for e, v in zip(epochs, vals) if v is not None]
        if pts:
            ax.plot(*zip(*pts), style, label=label, color="tab:blue" if key == "loss" else "tab:orange")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title("loss")
    ax.grid(alpha=0.3)
    ax.legend()
    ax = axes[1]
    s_steps, s_acc = history.step_series("running_accuracy")
    drew = False
    if s_steps:
        ax.plot(np.asarray(s_steps) / per, 100 * np.asarray(s_acc), color="tab:blue", alpha=0.25, lw=0.8,
                label="train (running, within epoch)")
        drew = True
    for key, label, style in (("accuracy", "train", "o-"), ("val_accuracy", "validation", "s-")):
        pts = [(e, 100 * v) for e, v in zip(epochs, history[key]) if v is not None]
        if pts:
            ax.plot(*zip(*pts), style, label=label, color="tab:blue" if key == "accuracy" else "tab:orange")
            drew = True
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title("accuracy")
    ax.grid(alpha=0.3)
    if drew:
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_lr(history, path) -> Path:
    """The learning rate of every optimisation step."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps, lrs = history.step_series("lr")
    ax.plot(steps, lrs, color="tab:green")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title("learning-rate schedule")
    if lrs and min(lrs) > 0 and max(lrs) / min(lrs) > 50:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_confusion_matrix(cm, path, class_names: Sequence[str] | None = None, title: str = "confusion matrix") -> Path:
    """Counts in each cell; colour = fraction of the true class (the row), so recall reads off the diagonal."""
    plt = _plt()
    cm = np.asarray(cm)
    n = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros(cm.shape, dtype=float), where=rows > 0)
    size = max(5.0, 0.6 * n + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xticklabels(names, rotation=45, ha="right")
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    total = cm.sum()
    acc = np.trace(cm) / total if total else float("nan")
    ax.set_title(f"{title} (accuracy {100 * acc:.2f}%, {total} images)")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if frac[i, j] > 0.5 else "black")
    return _save(fig, path)


def _show(ax, img: np.ndarray) -> None:
    img = np.asarray(img, dtype=np.float32)
    if img.ndim == 3 and img.shape[0] in (1, 3):
        img = img[0] if img.shape[0] == 1 else np.transpose(img, (1, 2, 0))
    lo, hi = float(img.min()), float(img.max())
    if lo < 0 or hi > 1:  # standardised input: stretch back to [0, 1] for display
        img = (img - lo) / (hi - lo + 1e-12)
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_misclassified(images, labels, probs, path, class_names: Sequence[str] | None = None,
                       max_images: int = 25) -> Path:
    """A grid of up to ``max_images`` misclassified images, the most confident mistakes first, each titled
    ``pred <class> (<p>%) / true <class>``. ``images`` (N, C, H, W) in [0, 1], ``probs`` (N, classes)."""
    plt = _plt()
    images = np.asarray(images)
    labels = np.asarray(labels).astype(np.int64)
    probs = np.asarray(probs)
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != labels)
    wrong = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:max_images]
    names = list(class_names) if class_names is not None else [str(i) for i in range(probs.shape[1])]
    cols = 5 if len(wrong) > 4 else max(1, len(wrong))
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.6 * rows), squeeze=False, layout="constrained")
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), wrong):
        ax.axis("on")
        _show(ax, images[i])
        ax.set_title(f"pred {names[pred[i]]} ({100 * probs[i, pred[i]]:.0f}%)\ntrue {names[labels[i]]}",
                     fontsize=8, color="tab:red")
    if len(wrong) == 0:
        axes[0, 0].text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    fig.suptitle(f"misclassified test images ({int((pred != labels).sum())} of {len(labels)}), "
                 "most confident first", fontsize=10)
    return _save(fig, path)
