"""A correctly initialised C-class softmax classifier starts at a loss near ln C (NOTES §3, §10).

With small weights in the last layer every logit is close to 0, the softmax is close to the
uniform distribution 1/C, and the cross entropy of any target is −log(1/C) = ln C: 0.69 for two
classes, 2.30 for ten, 4.61 for a hundred. Checking the loss of the first mini-batch against ln C
is the cheapest sanity check there is: a clearly larger value means the net starts out confident
and wrong (weights too large), so the first steps are spent undoing the initialisation.

The experiment builds, for C = 2 … 100 classes of Gaussian blobs in 32 dimensions:

* ``small``: the last layer drawn from N(0, 0.01²) — the correct initialisation;
* ``he``: He initialisation in every layer including the last (what a ReLU net gets when
  the output layer is treated like the hidden ones);
* ``large``: the last layer drawn from N(0, 1) — far too large;

both as softmax regression (one Linear layer) and as an MLP with two hidden ReLU layers, and
measures the loss before any training. Then it trains the three 10-class MLPs on overlapping
classes and follows the validation loss: the net that starts with large logits fits the training
set with large logits too and ends over-confident, with a higher validation loss.
"""
from __future__ import annotations

import math

import numpy as np

import ember
from ember import nn
from ember.data import make_blobs
from ember.lab._common import (
    as_tensor, conclude, evaluate, experiment, fit, plt, save, seed_everything, smooth, standardize,
)

SCHEMES = ("small", "he", "large")
FEATURES = 32


def classifier(kind: str, classes: int, scheme: str) -> nn.Sequential:
    """Softmax regression (``kind='linear'``) or a 2-hidden-layer ReLU MLP (``'mlp'``) whose last
    layer is initialised by ``scheme``; hidden layers always get He initialisation."""
    if kind == "linear":
        net = nn.Sequential(nn.Linear(FEATURES, classes))
    else:
        net = nn.Sequential(nn.Linear(FEATURES, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                            nn.Linear(128, classes))
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for m in linears[:-1]:
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        nn.init.zeros_(m.bias)
    last = linears[-1]
    if scheme == "small":
        nn.init.normal_(last.weight, 0.0, 0.01)
    elif scheme == "he":
        nn.init.kaiming_normal_(last.weight, nonlinearity="relu")
    elif scheme == "large":
        nn.init.normal_(last.weight, 0.0, 1.0)
    else:
        raise ValueError(f"unknown scheme {scheme!r}; valid: {', '.join(SCHEMES)}")
    nn.init.zeros_(last.bias)
    return net


def blobs(classes: int, n: int, seed: int, spread: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian classes (std 2) with centres uniform in [−spread, spread]^32, standardised."""
    x, y = make_blobs(n, centers=classes, n_features=FEATURES, std=2.0, box=(-spread, spread), seed=seed).arrays()
    (x,) = standardize(x)
    return x, y


def initial_loss(kind: str, classes: int, scheme: str, x: np.ndarray, y: np.ndarray, seed: int) -> float:
    seed_everything(seed)
    net = classifier(kind, classes, scheme)
    with ember.no_grad():
        return float(nn.CrossEntropyLoss()(net(as_tensor(x)), as_tensor(y)).item())


@experiment
def run(out_dir, quick=False):
    class_counts = [2, 10, 100] if quick else [2, 3, 5, 10, 20, 50, 100]
    seeds = [0, 1] if quick else [0, 1, 2, 3, 4]
    losses = {(k, s): [] for k in ("linear", "mlp") for s in SCHEMES}
    for classes in class_counts:
        x, y = blobs(classes, 20 * classes if classes > 10 else 200, seed=classes)
        for key in losses:
            losses[key].append(float(np.mean([initial_loss(key[0], classes, key[1], x, y, s) for s in seeds])))

    # training the 10-class MLP from each initialisation, on overlapping classes
    steps = 100 if quick else 300
    x, y = blobs(10, 2000, seed=10, spread=1.0)
    x, y, x_val, y_val = x[:1000], y[:1000], x[1000:], y[1000:]
    curves, val_steps, val_curves = {}, list(range(0, steps, 10)) + [steps - 1], {}
    for scheme in SCHEMES:
        rng = seed_everything(0)
        net = classifier("mlp", 10, scheme)
        optimizer = ember.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        val = val_curves[scheme] = []

        def record(step, net=net, val=val):
            if step in val_steps:
                val.append(evaluate(net, x_val, y_val, nn.CrossEntropyLoss())["loss"])

        curves[scheme] = fit(net, optimizer, nn.CrossEntropyLoss(), x, y, steps, batch_size=64, rng=rng,
                             on_step=record)

    pyplot = plt()
    fig, axes = pyplot.subplots(1, 2, figsize=(12, 4.3))
    ln_c = np.log(class_counts)
    axes[0].semilogx(class_counts, ln_c, color="k", lw=3, alpha=0.3, label="ln C")
    styles = {"linear": "--", "mlp": "-"}
    for (kind, scheme), values in losses.items():
        axes[0].semilogx(class_counts, values, styles[kind], marker="o", color=f"C{SCHEMES.index(scheme)}",
                         label=f"{kind}, last layer {scheme}")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("number of classes C")
    axes[0].set_ylabel("cross-entropy loss before training")
    axes[0].set_title(f"initial loss (mean of {len(seeds)} seeds)", fontsize=10)
    axes[0].grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    for scheme in SCHEMES:
        color = f"C{SCHEMES.index(scheme)}"
        axes[1].plot(smooth(curves[scheme], 5), color=color, alpha=0.5,
                     label=f"last layer {scheme}: training (first batch {curves[scheme][0]:.2f})")
        axes[1].plot(val_steps, val_curves[scheme], color=color, marker="o", ms=3,
                     label=f"last layer {scheme}: validation (final {val_curves[scheme][-1]:.2f})")
    axes[1].axhline(math.log(10), color="k", ls=":", label="ln 10")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("step (SGD lr 0.01, momentum 0.9, batch 64)")
    axes[1].set_ylabel("cross-entropy loss")
    axes[1].set_title("10 overlapping classes: a large start stays over-confident", fontsize=10)
    axes[1].legend(fontsize=7)
    plots = [save(fig, out_dir, "softmax_init_loss.png")]

    rel = {f"{k}_{s}": [abs(v - math.log(c)) / math.log(c) for v, c in zip(losses[(k, s)], class_counts)]
           for k, s in losses}
    result = {
        "classes": class_counts, "ln_c": ln_c.tolist(),
        "initial_loss": {f"{k}_{s}": v for (k, s), v in losses.items()},
        "relative_error": rel,
        "max_relative_error_small": max(max(rel["linear_small"]), max(rel["mlp_small"])),
        "first_loss_10_classes": {s: float(curves[s][0]) for s in SCHEMES},
        "final_val_loss_10_classes": {s: float(val_curves[s][-1]) for s in SCHEMES},
        "plots": plots,
    }
    lines = [f"C = {class_counts}: ln C = " + ", ".join(f"{v:.2f}" for v in ln_c)]
    for (kind, scheme), values in losses.items():
        lines.append(f"{kind:6s} last layer {scheme:5s}: initial loss " + ", ".join(f"{v:.2f}" for v in values))
    lines.append(f"small last layer: within {result['max_relative_error_small']:.1%} of ln C for every C; "
                 f"N(0, 1) last layer starts {losses[('mlp', 'large')][-1] / ln_c[-1]:.0f}× above it "
                 f"for C = {class_counts[-1]}")
    lines.append("10 overlapping classes after training, validation loss: "
                 + ", ".join(f"{sc} {val_curves[sc][-1]:.2f}" for sc in SCHEMES)
                 + (" — the net that started confident ends over-confident"
                    if val_curves["large"][-1] > val_curves["small"][-1] else ""))
    result["conclusion"] = conclude("softmax_init_loss", lines)
    return result
