"""Too big a learning rate diverges, big oscillates, too small crawls; a range test finds the edge (NOTES §4).

1. **A parabola.** Gradient descent on ``f(w) = ½·L·w²`` multiplies w by ``(1 − ε·L)`` each step:
   for ε < 1/L it creeps towards 0 from one side, for 1/L < ε < 2/L it overshoots and the sign
   flips every step while |w| still shrinks (oscillation), for ε > 2/L |w| grows (divergence).
2. **A real net.** Full-batch gradient descent (no mini-batch noise, so every wiggle comes from the
   rate) on an MLP for 3-class spirals with four rates a decade or so apart.
3. **The range test** (:func:`ember.diagnose.lr_range_test`): one short run whose rate grows
   exponentially each step from 1e-4 to 100 while the loss is recorded. The loss falls, bottoms
   out, then blows up; the test stops at the blow-up ("the largest rate that does not blow up")
   and suggests a rate a decade below the bottom ("then train slightly below it"). A fresh net
   trained at the suggested rate is added to the comparison.
"""
from __future__ import annotations

import math

import numpy as np

import ember
from ember import nn
from ember.data import make_spirals
from ember.diagnose.lr_finder import lr_range_test
from ember.lab._common import (
    as_tensor, conclude, experiment, final, fit, plt, save, seed_everything, smooth, standardize,
)
from ember.lab.optimizers import spiral_net

# the four regimes on the spirals MLP (full batch, plain SGD)
RATES = {"too small": 1e-3, "good": 0.3, "big": 3.0, "too big": 10.0}
PARABOLA = {"ε = 0.1/L (crawls)": 0.1, "ε = 0.9/L": 0.9, "ε = 1.8/L (oscillates)": 1.8, "ε = 2.1/L (diverges)": 2.1}


def parabola_path(lr: float, steps: int, curvature: float = 1.0) -> np.ndarray:
    """w along gradient descent on ½·L·w² from w = 1, with ember's SGD and autograd."""
    w = nn.Parameter(ember.tensor([1.0]))
    optimizer = ember.optim.SGD([w], lr=lr)
    path = [1.0]
    for _ in range(steps):
        optimizer.zero_grad()
        (0.5 * curvature * w * w).sum().backward()
        optimizer.step()
        path.append(float(w.array[0]))
    return np.array(path)


def rising_fraction(curve: np.ndarray) -> float:
    """The fraction of steps after which the loss went up (0 for a smooth descent)."""
    c = curve[np.isfinite(curve)]
    return float(np.mean(np.diff(c) > 0)) if len(c) > 1 else 1.0


@experiment
def run(out_dir, quick=False):
    n, steps = (300, 150) if quick else (600, 500)
    x, y = make_spirals(n, n_classes=3, noise=0.2, seed=0).arrays()
    (x,) = standardize(x)
    loss_fn = nn.CrossEntropyLoss()

    paths = {label: parabola_path(lr, 20) for label, lr in PARABOLA.items()}

    curves = {}
    for label, lr in RATES.items():
        rng = seed_everything(0)
        net = spiral_net()
        curves[label] = fit(net, ember.optim.SGD(net.parameters(), lr=lr), loss_fn, x, y, steps, rng=rng)

    seed_everything(0)
    net = spiral_net()
    finder = lr_range_test(net, ember.optim.SGD(net.parameters(), lr=1e-3), loss_fn, [(as_tensor(x), as_tensor(y))],
                           start_lr=1e-4, end_lr=100.0, num_steps=100)
    finder.plot(out_dir / "lr_range_test.png")
    rng = seed_everything(0)
    net = spiral_net()
    suggested_curve = fit(net, ember.optim.SGD(net.parameters(), lr=finder.suggested_lr), loss_fn, x, y, steps, rng=rng)

    # ------------------------------------------------------------------ plots
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(17, 4.6))
    ax = axes[0]
    for label, path in paths.items():
        ax.plot(path, marker=".", label=label)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylim(-3, 3)
    ax.set_xlabel("step")
    ax.set_ylabel("w")
    ax.set_title("gradient descent on ½·L·w²: w ← (1 − εL)·w", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[1]
    initial = curves["good"][0]
    for label, curve in curves.items():
        shown = np.where(np.isfinite(curve), curve, np.nan)
        ax.plot(shown, label=f"{label}: ε={RATES[label]:g}, final {final(curve):.3g}")
    ax.plot(suggested_curve, "k--", label=f"range test's suggestion ε={finder.suggested_lr:.2g}: "
                                         f"final {final(suggested_curve):.3g}")
    ax.axhline(initial, color="gray", ls=":", label="starting loss")
    ax.set_yscale("log")
    finite = np.concatenate([c[np.isfinite(c)] for c in curves.values()])
    ax.set_ylim(finite.min() * 0.7, initial * 4)  # a diverging run leaves through the top
    ax.set_xlabel("step (full-batch gradient descent)")
    ax.set_ylabel("training loss")
    ax.set_title("MLP on spirals at four learning rates", fontsize=10)
    ax.legend(fontsize=7)

    ax = axes[2]
    ax.plot(finder.lrs, finder.losses, alpha=0.4, label="loss at each step")
    ax.plot(finder.lrs, smooth(np.array(finder.losses), 5), label="moving average of 5")
    top = initial * 2
    ax.set_ylim(min(finder.losses) * 0.8, top)
    for label, lr in RATES.items():
        ax.axvline(lr, color="gray", ls=":", lw=0.8)
        ax.text(lr, top * 0.97, f" {label}", rotation=90, va="top", fontsize=7, color="gray")
    ax.axvline(finder.suggested_lr, color="g", ls="--", label=f"suggested {finder.suggested_lr:.2g}")
    if finder.diverged_at:
        ax.axvline(finder.diverged_at, color="r", ls="--", label=f"blew up at {finder.diverged_at:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (grows every step)")
    ax.set_ylabel("training loss")
    ax.set_title("learning-rate range test", fontsize=10)
    ax.legend(fontsize=8, loc="lower left")
    plots = [save(fig, out_dir, "learning_rate.png"), str(out_dir / "lr_range_test.png")]

    # ------------------------------------------------------------------ numbers
    result = {
        "rates": dict(RATES),
        "initial_loss": float(initial),
        "final_loss": {label: final(c) for label, c in curves.items()},
        "best_loss": {label: float(np.nanmin(c)) if np.isfinite(c).any() else math.inf for label, c in curves.items()},
        "rising_fraction": {label: rising_fraction(c) for label, c in curves.items()},
        "parabola_final_abs_w": {label: float(abs(p[-1])) for label, p in paths.items()},
        "parabola_sign_flips": {label: int(np.sum(np.diff(np.sign(p)) != 0)) for label, p in paths.items()},
        "range_test_best_lr": float(finder.best_lr),
        "range_test_suggested_lr": float(finder.suggested_lr),
        "range_test_diverged_at": float(finder.diverged_at) if finder.diverged_at else None,
        "suggested_final_loss": final(suggested_curve),
        "plots": plots,
    }
    f, r = result["final_loss"], result["rising_fraction"]
    lines = [
        "parabola after 20 steps, |w|: " + ", ".join(f"{k} {v:.2g}" for k, v in result["parabola_final_abs_w"].items()),
        f"spirals MLP, starting loss {initial:.3f}; after {steps} full-batch steps:",
        f"  too small ε={RATES['too small']:g}: {f['too small']:.3f} "
        f"({f['too small'] / f['good']:.0f}× the good rate's loss: it crawls)",
        f"  good      ε={RATES['good']:g}: {f['good']:.3f}, loss went up on {r['good']:.0%} of steps",
        f"  big       ε={RATES['big']:g}: {f['big']:.3f} (best along the way {result['best_loss']['big']:.3f}), "
        f"loss went up on {r['big']:.0%} of steps (oscillates)",
        f"  too big   ε={RATES['too big']:g}: {f['too big']:.3g}, best along the way "
        f"{result['best_loss']['too big']:.3g} vs the start {initial:.3g}"
        + (" (diverged)" if f["too big"] >= initial else ""),
        f"range test: lowest loss at ε={finder.best_lr:.2g}, blew up at ε="
        + (f"{finder.diverged_at:.2g}" if finder.diverged_at else "— (never)")
        + f"; its suggestion ε={finder.suggested_lr:.2g} reaches {result['suggested_final_loss']:.3f}",
    ]
    result["conclusion"] = conclude("learning_rate", lines)
    return result
