"""The learning-rate range test (NOTES §4: "find the largest rate that does not blow up, then train
slightly below it").

The rate grows exponentially from ``start_lr`` to ``end_lr`` over ``num_steps``
mini-batches while the (exponentially smoothed) loss is recorded; the test stops
early once the loss exceeds ``diverge_factor`` × its best value. The suggestion
is the rate one decade below the rate where the smoothed loss was lowest, and the
rate of steepest descent is reported too. The model and optimizer are restored
afterwards, so the test can run before real training.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LRFinderResult:
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    diverged_at: float | None = None

    @property
    def best_lr(self) -> float:
        """The rate with the lowest smoothed loss."""
        return self.lrs[int(np.argmin(self.smoothed))]

    @property
    def steepest_lr(self) -> float:
        """The rate where the smoothed loss fell fastest per decade of learning rate."""
        if len(self.lrs) < 3:
            return self.best_lr
        s = np.asarray(self.smoothed)
        d = np.gradient(s, np.log10(self.lrs))
        stop = int(np.argmin(s)) + 1
        return self.lrs[int(np.argmin(d[:stop]))]

    @property
    def suggested_lr(self) -> float:
        """Slightly below the edge: a tenth of the best rate (a common, safe choice)."""
        return self.best_lr / 10

    def plot(self, path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 4))
        ax.plot(self.lrs, self.losses, alpha=0.3, label="loss")
        ax.plot(self.lrs, self.smoothed, label="smoothed loss")
        ax.axvline(self.suggested_lr, color="g", ls="--", label=f"suggested {self.suggested_lr:.2g}")
        ax.axvline(self.best_lr, color="k", ls=":", label=f"lowest loss {self.best_lr:.2g}")
        if self.diverged_at:
            ax.axvline(self.diverged_at, color="r", ls="--", label=f"diverged {self.diverged_at:.2g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.set_title("learning-rate range test")
        finite = [v for v in self.smoothed if math.isfinite(v)]
        if finite:
            ax.set_ylim(min(finite) * 0.9, min(max(finite), 4 * min(finite)) * 1.1)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)


def lr_range_test(model, optimizer, loss_fn, loader, start_lr: float = 1e-7, end_lr: float = 10.0,
                  num_steps: int = 100, smoothing: float = 0.05, diverge_factor: float = 4.0) -> LRFinderResult:
    """Run the range test; ``loader`` yields (inputs, targets) and is cycled as needed."""
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr}, end_lr={end_lr}")
    if num_steps < 2:
        raise ValueError(f"num_steps must be at least 2, got {num_steps}")
    model_state = {k: v.array.copy() for k, v in model.state_dict().items()}
    opt_state = copy.deepcopy(optimizer.state_dict())
    factor = (end_lr / start_lr) ** (1 / (num_steps - 1))
    res = LRFinderResult()
    avg, best = 0.0, math.inf
    was_training = model.training
    model.train()
    it = iter(loader)
    try:
        for i in range(num_steps):
            lr = start_lr * factor**i
            for g in optimizer.param_groups:
                g["lr"] = lr
            try:
                x, y = next(it)
            except StopIteration:
                it = iter(loader)
                x, y = next(it)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            value = float(loss.item())
            if not math.isfinite(value):
                res.diverged_at = lr
                break
            loss.backward()
            optimizer.step()
            avg = smoothing * value + (1 - smoothing) * avg
            smoothed = avg / (1 - (1 - smoothing) ** (i + 1))  # bias-corrected like Adam's moments
            res.lrs.append(lr)
            res.losses.append(value)
            res.smoothed.append(smoothed)
            best = min(best, smoothed)
            if smoothed > diverge_factor * best and i > 5:
                res.diverged_at = lr
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(opt_state)
        model.train(was_training)
    if not res.lrs:
        raise RuntimeError(f"the loss was not finite even at lr={start_lr}; check the model and data first")
    return res
