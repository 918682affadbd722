"""An MLP with a non-linearity solves XOR; without it the net collapses to a linear classifier and cannot (NOTES §1).

Three models are trained on the same noisy XOR points with the same optimizer:

* ``mlp``: Linear(2, 8) → tanh → Linear(8, 2), the net ``f = W2·σ(W1·x + b1) + b2``;
* ``no_activation``: the same two Linear layers with nothing in between. Their product is one
  affine map, ``W = W2·W1``, ``b = W2·b1 + b2``; the experiment checks that this single map
  reproduces the two-layer net's outputs exactly;
* ``linear``: a single Linear(2, 2), softmax regression.

A line cannot separate {(0,0), (1,1)} from {(0,1), (1,0)}: the best a linear classifier can do
on the four corners of the truth table is 3 of 4 (accuracy 0.75).
"""
from __future__ import annotations

import numpy as np

import ember
from ember import nn
from ember.data import make_xor
from ember.lab._common import conclude, decision_map, evaluate, experiment, fit, plt, save, seed_everything


def build(kind: str, hidden: int = 8) -> nn.Module:
    if kind == "mlp":
        return nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))
    if kind == "no_activation":
        return nn.Sequential(nn.Linear(2, hidden), nn.Linear(hidden, 2))
    if kind == "linear":
        return nn.Sequential(nn.Linear(2, 2))
    raise ValueError(f"unknown model {kind!r}; valid: mlp, no_activation, linear")


def collapsed(model: nn.Sequential) -> tuple[np.ndarray, np.ndarray]:
    """The single affine map (W, b) equal to two stacked Linear layers: W = W2·W1, b = W2·b1 + b2."""
    first, second = model[0], model[1]
    w1, b1, w2, b2 = first.weight.array, first.bias.array, second.weight.array, second.bias.array
    return w2 @ w1, w2 @ b1 + b2


KINDS = ("mlp", "no_activation", "linear")


def train_all(seed: int, steps: int, n: int = 200, noise: float = 0.15):
    x, y = make_xor(n, noise=noise, seed=seed).arrays()
    truth_x, truth_y = make_xor(4, noise=0.0, shuffle=False).arrays()
    models, curves, acc, truth_acc = {}, {}, {}, {}
    for kind in KINDS:
        rng = seed_everything(seed)
        model = build(kind)
        optimizer = ember.optim.Adam(model.parameters(), lr=0.05)
        curves[kind] = fit(model, optimizer, nn.CrossEntropyLoss(), x, y, steps, rng=rng)
        models[kind] = model
        acc[kind] = evaluate(model, x, y)["acc"]
        truth_acc[kind] = evaluate(model, truth_x, truth_y)["acc"]
    return x, y, models, curves, acc, truth_acc


@experiment
def run(out_dir, quick=False):
    steps = 300 if quick else 600
    seeds = [0] if quick else list(range(10))
    per_seed = [train_all(s, steps) for s in seeds]
    x, y, models, curves, acc, truth_acc = per_seed[0]

    # the two-layer net without a non-linearity is exactly one affine map
    w, b = collapsed(models["no_activation"])
    two_layers = evaluate(models["no_activation"], x)["output"]
    collapse_error = float(np.abs(two_layers - (x @ w.T + b)).max())

    mean = {k: float(np.mean([r[4][k] for r in per_seed])) for k in KINDS}
    truth_mean = {k: float(np.mean([r[5][k] for r in per_seed])) for k in KINDS}

    pyplot = plt()
    fig, axes = pyplot.subplots(1, 4, figsize=(15, 3.8))
    titles = {"mlp": "Linear → tanh → Linear", "no_activation": "Linear → Linear (no activation)",
              "linear": "single Linear (softmax regression)"}
    for ax, kind in zip(axes, KINDS):
        model = models[kind]
        decision_map(ax, lambda g, m=model: evaluate(m, g)["output"].argmax(1), x, y,
                     f"{titles[kind]}\ntrain accuracy {acc[kind]:.2f}")
    for kind in KINDS:
        axes[3].plot(curves[kind], label=kind)
    axes[3].axhline(np.log(2), color="gray", ls=":", label="ln 2 (chance)")
    axes[3].set_xlabel("step (full batch, Adam lr 0.05)")
    axes[3].set_ylabel("cross-entropy loss")
    axes[3].set_title("training loss", fontsize=9)
    axes[3].legend(fontsize=8)
    plots = [save(fig, out_dir, "xor.png")]

    result = {
        "mlp_acc": acc["mlp"], "no_activation_acc": acc["no_activation"], "linear_acc": acc["linear"],
        "mlp_truth_table_acc": truth_acc["mlp"], "no_activation_truth_table_acc": truth_acc["no_activation"],
        "linear_truth_table_acc": truth_acc["linear"],
        "collapse_error": collapse_error, "seeds": len(seeds),
        "mlp_acc_mean": mean["mlp"], "mlp_acc_min": float(min(r[4]["mlp"] for r in per_seed)),
        "linear_acc_max": float(max(r[4]["linear"] for r in per_seed)),
        "no_activation_acc_max": float(max(r[4]["no_activation"] for r in per_seed)),
        "linear_truth_table_acc_max": float(max(r[5]["linear"] for r in per_seed)),
        "mlp_truth_table_acc_mean": truth_mean["mlp"],
        "plots": plots,
    }
    result["conclusion"] = conclude("xor", [
        f"{len(seeds)} seed(s), {len(x)} noisy XOR points, {steps} full-batch Adam steps each",
        f"MLP with tanh:          train accuracy {mean['mlp']:.3f} (min {result['mlp_acc_min']:.3f}), "
        f"truth table {truth_mean['mlp']:.2f}",
        f"two Linear, no act.:    train accuracy {mean['no_activation']:.3f} "
        f"(max {result['no_activation_acc_max']:.3f}), truth table {truth_mean['no_activation']:.2f}",
        f"single Linear:          train accuracy {mean['linear']:.3f} (max {result['linear_acc_max']:.3f}), "
        f"truth table {truth_mean['linear']:.2f} (a line gets at most 3 of 4 corners)",
        f"W2·W1 reproduces the activation-free net to {collapse_error:.1e}: it is one linear classifier",
    ])
    return result
