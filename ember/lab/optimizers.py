"""SGD, SGD + momentum, AdaGrad, RMSProp and Adam on the same problems: how each update rule moves (NOTES §4).

The update rules (ε the learning rate, g the gradient):

* SGD: ``w = w − ε·g``
* momentum: ``v = μ·v + g; w = w − ε·v`` (μ = 0.9) — velocity builds up along directions where
  the gradient keeps its sign and cancels where it flips;
* AdaGrad: ``r = r + g⊙g; w = w − ε/(√r + δ)·g`` — per-weight steps, shrinking for ever;
* RMSProp: ``r = ρ·r + (1−ρ)·g⊙g``, then as AdaGrad — a moving average instead of a sum;
* Adam: momentum on g and RMSProp on g⊙g with bias correction (μ = 0.9, ρ = 0.999, δ = 1e-8).

1. **A ravine.** ``f(w) = ½(0.1·w₀² + 4·w₁²)``: 40 times steeper across than along. Plain SGD must
   keep ε below 2/4 to stay stable across, so it crawls along; momentum accumulates speed along
   the floor; the adaptive methods rescale each coordinate.
2. **A real net.** An MLP on 3-class spirals with mini-batches of 32; every optimizer gets the
   learning rate (from a small log grid) that gives it the lowest final training loss, so the
   comparison is of the rules, not of one lucky rate. A third panel shows how sensitive each rule
   is to the learning rate.
"""
from __future__ import annotations

import math

import numpy as np

import ember
from ember import nn
from ember.data import make_spirals
from ember.lab._common import conclude, experiment, final, fit, plt, save, seed_everything, smooth, standardize

OPTIMIZERS = ("SGD", "SGD+momentum", "AdaGrad", "RMSProp", "Adam")
CURVATURE = np.array([0.1, 4.0])
RAVINE_LR = {"SGD": 0.4, "SGD+momentum": 0.04, "AdaGrad": 0.5, "RMSProp": 0.05, "Adam": 0.1}


def make_optimizer(name: str, params, lr: float):
    if name == "SGD":
        return ember.optim.SGD(params, lr=lr)
    if name == "SGD+momentum":
        return ember.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "AdaGrad":
        return ember.optim.Adagrad(params, lr=lr, eps=1e-7)
    if name == "RMSProp":
        return ember.optim.RMSprop(params, lr=lr, alpha=0.99)
    if name == "Adam":
        return ember.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")


def ravine_path(name: str, steps: int, start=(-4.0, 1.0)) -> np.ndarray:
    """The points visited by ``name`` minimising f(w) = ½ Σ c_i w_i² from ``start`` (ember autograd)."""
    w = nn.Parameter(ember.tensor(np.array(start, dtype=np.float32)))
    curvature = ember.tensor(CURVATURE.astype(np.float32))
    optimizer = make_optimizer(name, [w], RAVINE_LR[name])
    path = [w.array.copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss = 0.5 * (curvature * w * w).sum()
        loss.backward()
        optimizer.step()
        path.append(w.array.copy())
    return np.array(path)


def spiral_net() -> nn.Sequential:
    net = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    for m in net:
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return net


@experiment
def run(out_dir, quick=False):
    # 1. the ravine
    ravine_steps = 50
    paths = {name: ravine_path(name, ravine_steps) for name in OPTIMIZERS}
    ravine_dist = {name: float(np.linalg.norm(paths[name][-1])) for name in OPTIMIZERS}

    # 2. spirals, each optimizer at its best learning rate from the grid
    steps = 250 if quick else 1000
    lrs = [1e-3, 1e-2, 1e-1, 1.0]
    x, y = make_spirals(1000, n_classes=3, noise=0.2, seed=0).arrays()
    (x,) = standardize(x)
    final_loss = {name: [] for name in OPTIMIZERS}
    curves = {}
    for name in OPTIMIZERS:
        best = None
        for lr in lrs:
            rng = seed_everything(0)
            net = spiral_net()
            curve = fit(net, make_optimizer(name, net.parameters(), lr), nn.CrossEntropyLoss(), x, y, steps,
                        batch_size=32, rng=rng)
            final_loss[name].append(final(curve, 25))
            if best is None or final_loss[name][-1] < best[0]:
                best = (final_loss[name][-1], lr, curve)
        curves[name] = best

    # ------------------------------------------------------------------ plots
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(17, 4.6))
    ax = axes[0]
    g0, g1 = np.meshgrid(np.linspace(-4.5, 1.5, 200), np.linspace(-1.6, 1.6, 200))
    ax.contour(g0, g1, 0.5 * (CURVATURE[0] * g0**2 + CURVATURE[1] * g1**2), levels=np.geomspace(0.01, 6, 12),
               colors="gray", linewidths=0.5)
    for name in OPTIMIZERS:
        p = paths[name]
        ax.plot(p[:, 0], p[:, 1], marker=".", ms=3, lw=1, label=f"{name} (ε={RAVINE_LR[name]:g}): "
                f"|w| = {ravine_dist[name]:.2f}")
    ax.plot(0, 0, "k*", ms=10)
    ax.set_title(f"f(w) = ½(0.1 w₀² + 4 w₁²), {ravine_steps} steps from (−4, 1)", fontsize=10)
    ax.set_xlabel("w₀")
    ax.set_ylabel("w₁")
    ax.legend(fontsize=7, loc="lower right")

    ax = axes[1]
    for name in OPTIMIZERS:
        loss, lr, curve = curves[name]
        ax.plot(smooth(curve, 25), label=f"{name}, ε={lr:g}: {loss:.3f}")
    ax.axhline(math.log(3), color="gray", ls=":", label="ln 3")
    ax.set_yscale("log")
    ax.set_xlabel("step (batch 32)")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title("MLP on spirals, each at its best learning rate", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[2]
    for name in OPTIMIZERS:
        values = [v if math.isfinite(v) else np.nan for v in final_loss[name]]
        ax.loglog(lrs, values, marker="o", label=name)
    ax.set_xlabel("learning rate ε")
    ax.set_ylabel(f"training loss after {steps} steps")
    ax.set_title("sensitivity to the learning rate (missing: diverged)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    plots = [save(fig, out_dir, "optimizers.png")]

    result = {
        "ravine_distance": ravine_dist,
        "best_lr": {name: curves[name][1] for name in OPTIMIZERS},
        "best_final_loss": {name: curves[name][0] for name in OPTIMIZERS},
        "final_loss_by_lr": {name: dict(zip(lrs, final_loss[name])) for name in OPTIMIZERS},
        "steps": steps,
        "plots": plots,
    }
    lines = [f"ravine, distance to the minimum after {ravine_steps} steps: "
             + ", ".join(f"{n} {ravine_dist[n]:.3f}" for n in OPTIMIZERS),
             f"spirals MLP, training loss after {steps} steps at each rule's best rate: "
             + ", ".join(f"{n} {curves[n][0]:.3f} (ε={curves[n][1]:g})" for n in OPTIMIZERS)]
    result["conclusion"] = conclude("optimizers", lines)
    return result
