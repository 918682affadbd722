"""What every experiment shares: seeding, a plain training loop, accuracy, plots and the printed conclusion.

The training loop is written out here on purpose, in the five lines every framework hides:
take a mini-batch, forward, loss, backward, step. Experiments call :func:`fit` so that the
one thing they vary (an activation, an initialisation, an optimizer) is the only difference
between the runs they compare.
"""
from __future__ import annotations

import functools
import math
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

import ember
from ember import nn

# ----------------------------------------------------------------------------- seeding and tensors


def seed_everything(seed: int) -> np.random.Generator:
    """Seed ember (initial weights, dropout masks) and return a NumPy generator for batches and data."""
    ember.manual_seed(seed)
    return np.random.default_rng(seed)


def as_tensor(a: np.ndarray) -> ember.Tensor:
    """Wrap an array without copying (inputs and targets need no gradient)."""
    return ember.from_numpy(np.ascontiguousarray(a))


# ----------------------------------------------------------------------------- the training loop


def minibatches(n: int, batch_size: int | None, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Index arrays of mini-batches forever: each epoch a fresh permutation cut into batches.

    ``batch_size=None`` (or >= n) is full-batch gradient descent: every step sees all n samples.
    """
    if batch_size is None or batch_size >= n:
        everything = np.arange(n)
        while True:
            yield everything
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch_size + 1, batch_size):  # drop the ragged last batch
            yield order[start:start + batch_size]


def fit(model: nn.Module, optimizer, loss_fn: Callable, x: np.ndarray, y: np.ndarray, steps: int,
        batch_size: int | None = None, rng: np.random.Generator | None = None,
        transform: Callable | None = None, on_step: Callable[[int], None] | None = None) -> np.ndarray:
    """Train for ``steps`` optimizer steps; returns the training loss of every step's mini-batch.

    ``transform(xb, rng)`` augments each mini-batch (flips, crops, noise). When the loss stops
    being finite (divergence) training stops and the remaining entries are ``nan``.
    ``on_step(step)`` runs after every update (to record statistics along the way).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    losses = np.full(steps, np.nan)
    batches = minibatches(len(x), batch_size, rng)
    model.train()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # a diverging run is a result, not an error
        for step in range(steps):
            idx = next(batches)
            xb, yb = x[idx], y[idx]
            if transform is not None:
                xb = transform(xb, rng)
            optimizer.zero_grad()
            loss = loss_fn(model(as_tensor(xb)), as_tensor(yb))
            value = float(loss.item())
            if not math.isfinite(value):
                break
            loss.backward()
            optimizer.step()
            losses[step] = value
            if on_step is not None:
                on_step(step)
    return losses


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray | None = None, loss_fn: Callable | None = None,
             batch_size: int = 2048) -> dict:
    """Eval-mode predictions without a graph: ``{"acc": ..., "loss": ...}`` (loss only with ``loss_fn``)."""
    was_training = model.training
    model.eval()
    outs = []
    with ember.no_grad(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for start in range(0, len(x), batch_size):
            outs.append(model(as_tensor(x[start:start + batch_size])).array)
    model.train(was_training)
    out = np.concatenate(outs)
    result = {"output": out}
    if y is not None and out.ndim == 2 and out.shape[1] > 1:
        result["acc"] = float(np.mean(out.argmax(1) == y))
    if loss_fn is not None and y is not None:
        with ember.no_grad(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result["loss"] = float(loss_fn(as_tensor(out), as_tensor(y)).item())
    return result


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    return evaluate(model, x, y)["acc"]


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Zero mean, unit variance per feature, fitted on the training set only (NOTES §6, §10)."""
    mean = train.mean(0, keepdims=True)
    std = train.std(0, keepdims=True) + 1e-8
    return [((a - mean) / std).astype(np.float32) for a in (train, *others)]


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average that ignores nan (for readable curves of noisy mini-batch losses)."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1:
        return values
    kernel = np.ones(window)
    ok = np.isfinite(values)
    num = np.convolve(np.where(ok, values, 0.0), kernel, mode="same")
    den = np.convolve(ok.astype(np.float64), kernel, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~ok] = np.nan
    return out


def final(values: np.ndarray, last: int = 10) -> float:
    """Mean of the last ``last`` finite values (inf when the run diverged before the end)."""
    values = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(values[-last:])):
        return math.inf
    return float(values[-last:].mean())


# ----------------------------------------------------------------------------- plots


def plt():
    """matplotlib.pyplot on the Agg backend (files only, no window)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def save(fig, out_dir: Path, name: str, tight: bool = True) -> str:
    """Write ``fig`` as ``out_dir/name`` (a PNG) and close it; returns the path.

    ``tight=False`` skips the automatic layout (slow for figures with dozens of small panels)."""
    path = Path(out_dir) / name
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt().close(fig)
    return str(path)


def decision_map(ax, predict: Callable[[np.ndarray], np.ndarray], x: np.ndarray, y: np.ndarray,
                 title: str, margin: float = 0.5, resolution: int = 150) -> None:
    """Colour the plane by the predicted class of a 2-D classifier and scatter the data on top."""
    lo, hi = x.min(0) - margin, x.max(0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    classes = predict(grid).reshape(gx.shape)
    k = int(max(y.max(), classes.max())) + 1
    ax.contourf(gx, gy, classes, levels=np.arange(k + 1) - 0.5, cmap="coolwarm" if k == 2 else "viridis", alpha=0.35)
    ax.scatter(x[:, 0], x[:, 1], c=y, s=10, cmap="coolwarm" if k == 2 else "viridis", edgecolors="k",
               linewidths=0.3)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


# ----------------------------------------------------------------------------- running an experiment


def conclude(name: str, lines: list[str], verbose: bool = True) -> str:
    """The printed conclusion: the claim's verdict with the numbers measured in this run."""
    text = "\n".join([f"[{name}]", *("  " + line for line in lines)])
    if verbose:
        print(text, flush=True)
    return text


def experiment(fn: Callable[[Path, bool], dict]) -> Callable[..., dict]:
    """Decorate an experiment's ``run``: create ``out_dir``, time the run.

    The wrapped function returns its dict of measured numbers plus ``"plots"`` (the PNG paths),
    ``"conclusion"`` (the printed text) and ``"seconds"``.
    """

    @functools.wraps(fn)
    def run(out_dir, quick: bool = False) -> dict:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        result = fn(out, bool(quick))
        result["seconds"] = round(time.perf_counter() - start, 2)
        return result

    return run
