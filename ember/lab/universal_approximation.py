"""One hidden layer of sigmoid/tanh units fits a continuous function better as its width grows (NOTES §1).

The universal approximation theorem: one hidden layer with a squashing activation and enough
units approximates any continuous function on a bounded closed set. Here the function is

    f(x) = sin(2x) + 0.5·sin(5x)   on [−π, π],

and the nets are ``Linear(1, width) → sigmoid/tanh → Linear(width, 1)`` trained with full-batch
Adam on the mean squared error (a regression: no activation on the output, NOTES §10), its
learning rate (0.02 for tanh, 0.1 for sigmoid, whose slope is a quarter of tanh's) annealed to
1e-4 so that every width ends at a converged fit; the full
run keeps the best of three restarts per width (chosen by training error). The theorem promises
that a good approximation exists; finding it is the optimiser's job, and past a few dozen units
the remaining error is set by the finite training budget more than by the width. The error
is measured on a grid ten times denser than the training points, so it counts the gaps between
them too. Each extra unit adds one more "bump" (a shifted, scaled squashing curve) to the sum the
net can draw, so the error falls as the width grows.
"""
from __future__ import annotations

import numpy as np

import ember
from ember import nn
from ember.lab._common import conclude, evaluate, experiment, fit, plt, save, seed_everything

ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
# sigmoid's slope at 0 is 1/4 of tanh's, so its units need larger weights for the same curve: a larger rate
LEARNING_RATES = {"tanh": 0.02, "sigmoid": 0.1}


def target(x: np.ndarray) -> np.ndarray:
    return np.sin(2 * x) + 0.5 * np.sin(5 * x)


def one_hidden_layer(width: int, activation: str) -> nn.Module:
    return nn.Sequential(nn.Linear(1, width), ACTIVATIONS[activation](), nn.Linear(width, 1))


@experiment
def run(out_dir, quick=False):
    widths = [1, 4, 16] if quick else [1, 2, 4, 8, 16, 32, 64]
    steps = 1000 if quick else 2500
    restarts = 1 if quick else 3
    x = np.linspace(-np.pi, np.pi, 100, dtype=np.float32)[:, None]
    y = target(x).astype(np.float32)
    x_test = np.linspace(-np.pi, np.pi, 1000, dtype=np.float32)[:, None]
    y_test = target(x_test)

    mse = {a: [] for a in ACTIVATIONS}
    fits, train_mse = {a: {} for a in ACTIVATIONS}, {a: {} for a in ACTIVATIONS}
    for activation in ACTIVATIONS:
        for width in widths:
            best = None
            for restart in range(restarts):
                rng = seed_everything(1000 * restart + width)
                net = one_hidden_layer(width, activation)
                optimizer = ember.optim.Adam(net.parameters(), lr=LEARNING_RATES[activation])
                schedule = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=1e-4)
                curve = fit(net, optimizer, nn.MSELoss(), x, y, steps, rng=rng,
                            on_step=lambda step, s=schedule: s.step())
                if best is None or curve[-1] < best[0]:  # keep the restart that fits the training points best
                    best = (curve[-1], net)
            train_mse[activation][width] = float(best[0])
            pred = evaluate(best[1], x_test)["output"]
            fits[activation][width] = pred
            mse[activation].append(float(np.mean((pred - y_test) ** 2)))

    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(15, 4.2))
    for ax, activation in zip(axes[:2], ACTIVATIONS):
        ax.plot(x_test, y_test, color="k", lw=2.5, label="target f(x)")
        cmap = pyplot.get_cmap("viridis")
        for i, width in enumerate(widths):
            ax.plot(x_test, fits[activation][width], color=cmap(i / max(1, len(widths) - 1)), lw=1.2,
                    label=f"{width} unit{'s' * (width > 1)} (MSE {mse[activation][i]:.1e})")
        ax.set_title(f"one hidden layer of {activation} units", fontsize=10)
        ax.set_xlabel("x")
        ax.legend(fontsize=7)
    for activation, marker in zip(ACTIVATIONS, ("o", "s")):
        axes[2].loglog(widths, mse[activation], marker=marker, label=activation)
    axes[2].set_xlabel("hidden units")
    axes[2].set_ylabel("test MSE")
    axes[2].set_title(f"error vs width ({steps} Adam steps, best of {restarts})", fontsize=10)
    axes[2].grid(alpha=0.3, which="both")
    axes[2].legend()
    plots = [save(fig, out_dir, "universal_approximation.png")]

    result = {"widths": widths, "mse_tanh": mse["tanh"], "mse_sigmoid": mse["sigmoid"], "steps": steps,
              "restarts": restarts, "train_mse_tanh": [train_mse["tanh"][w] for w in widths],
              "train_mse_sigmoid": [train_mse["sigmoid"][w] for w in widths], "plots": plots}
    lines = [f"target sin(2x) + 0.5 sin(5x) on [-π, π]; {len(x)} training points, MSE on {len(x_test)}"]
    for activation in ACTIVATIONS:
        pairs = ", ".join(f"{w}: {m:.1e}" for w, m in zip(widths, mse[activation]))
        best = int(np.argmin(mse[activation]))
        ratio = mse[activation][0] / mse[activation][best]
        lines.append(f"{activation:8s} width → test MSE  {pairs}  ({ratio:.0f}× smaller from {widths[0]} unit to "
                     f"{widths[best]} units, the best width)")
    result["conclusion"] = conclude("universal_approximation", lines)
    return result
