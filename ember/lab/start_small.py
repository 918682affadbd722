"""Start small: a softmax layer overfits a fixed small batch; add layers one by one; 2 classes before 10 (NOTES §10).

The notes' debugging recipe, run on images (ten classes of the synthetic patterns of
:mod:`ember.lab._data`, or Fashion-MNIST in the full run when its files are here):

1. **A fixed small batch through a single softmax layer.** 20 images, one Linear layer, the same
   batch every step. With more inputs (pixels) than images, a linear classifier can always fit
   them; if the loss does not go to ~0 here, something upstream (data, labels, loss, optimizer)
   is broken, and no architecture will fix it.
2. **Add layers one at a time.** The same batch through 1, 2, then 3 hidden ReLU layers; each
   new net must overfit it as well before it is trusted on the full data.
3. **Two classes before ten.** Train on two classes first (the loss starts at ln 2 and a working
   pipeline separates them quickly), then on all ten (the loss starts at ln 10). Every net here
   starts with a small last layer, so the first loss is a check in itself.
"""
from __future__ import annotations

import math

import numpy as np

import ember
from ember import nn
from ember.lab._common import conclude, evaluate, experiment, fit, plt, save, seed_everything
from ember.lab._data import fashion_subset, patterns


def net_with(hidden_layers: int, inputs: int, classes: int, width: int = 128) -> nn.Sequential:
    """Flatten → [Linear → ReLU] × hidden_layers → Linear; He init, last layer N(0, 0.01²) so the
    first loss is ln C."""
    layers, n_in = [nn.Flatten(1)], inputs
    for _ in range(hidden_layers):
        layers += [nn.Linear(n_in, width), nn.ReLU()]
        n_in = width
    layers.append(nn.Linear(n_in, classes))
    net = nn.Sequential(*layers)
    linears = [m for m in net if isinstance(m, nn.Linear)]
    for m in linears[:-1]:
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        nn.init.zeros_(m.bias)
    nn.init.normal_(linears[-1].weight, 0.0, 0.01)
    nn.init.zeros_(linears[-1].bias)
    return net


def load(quick: bool):
    if not quick:
        found = fashion_subset(3000, 1000, seed=1)
        if found is not None:
            return (*found, "Fashion-MNIST")
    x, y = patterns(150, classes=10, noise=0.6, seed=1)
    return x[:1000], y[:1000], x[1000:], y[1000:], "synthetic patterns"


def steps_to(curve: np.ndarray, threshold: float) -> int | None:
    below = np.flatnonzero(curve < threshold)
    return int(below[0]) + 1 if len(below) else None


@experiment
def run(out_dir, quick=False):
    x, y, x_val, y_val, name = load(quick)
    inputs = int(np.prod(x.shape[1:]))
    loss_fn = nn.CrossEntropyLoss()
    tiny_x, tiny_y = x[:20], y[:20]
    steps = 150 if quick else 300

    # 1 + 2: the fixed small batch, with 0, 1, 2, 3 hidden layers
    depths = [0, 1, 2, 3]
    tiny = {}
    for depth in depths:
        rng = seed_everything(0)
        net = net_with(depth, inputs, 10)
        curve = fit(net, ember.optim.Adam(net.parameters(), lr=1e-2 if depth == 0 else 1e-3), loss_fn, tiny_x, tiny_y,
                    steps, rng=rng)
        tiny[depth] = {"curve": curve, **evaluate(net, tiny_x, tiny_y, loss_fn)}

    # 3: two classes, then ten
    stages = {}
    epochs = 4 if quick else 8
    for classes in (2, 10):
        keep = y < classes
        xs, ys = x[keep], y[keep]
        keep_val = y_val < classes
        rng = seed_everything(0)
        net = net_with(2, inputs, classes)
        n_steps = epochs * (len(xs) // 32)
        curve = fit(net, ember.optim.Adam(net.parameters(), lr=1e-3), loss_fn, xs, ys, n_steps, batch_size=32, rng=rng)
        stages[classes] = {"curve": curve, "first_loss": float(curve[0]),
                           **evaluate(net, x_val[keep_val], y_val[keep_val], loss_fn)}

    # ------------------------------------------------------------------ plots
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(17, 4.6))
    ax = axes[0]
    ax.plot(tiny[0]["curve"], color="C0", lw=2, label=f"single softmax layer: final {tiny[0]['loss']:.1e}, "
                                                         f"acc {tiny[0]['acc']:.2f}")
    for depth in depths[1:]:
        t = tiny[depth]
        ax.plot(t["curve"], color=f"C{depth}",
                label=f"+ {depth} hidden layer{'s' * (depth > 1)}: final {t['loss']:.1e}, acc {t['acc']:.2f}")
    ax.axhline(math.log(10), color="gray", ls=":", label="ln 10")
    ax.set_yscale("log")
    ax.set_xlabel("step (the same 20 images every step)")
    ax.set_ylabel("training loss")
    ax.set_title(f"overfit a fixed small batch ({name}), adding layers one at a time", fontsize=10)
    ax.legend(fontsize=7)

    for ax, classes in zip(axes[1:], (2, 10)):
        st = stages[classes]
        ax.plot(st["curve"], lw=0.7, label=f"training: first batch {st['first_loss']:.3f}")
        ax.axhline(math.log(classes), color="k", ls=":", label=f"ln {classes} = {math.log(classes):.3f}")
        ax.set_xlabel("step (batch 32)")
        ax.set_ylabel("training loss")
        ax.set_title(f"{classes} classes: validation accuracy {st['acc']:.3f} (chance {1 / classes:.2f})", fontsize=10)
        ax.legend(fontsize=8)
    plots = [save(fig, out_dir, "start_small.png")]

    result = {
        "dataset": name,
        "softmax_tiny_loss": tiny[0]["loss"], "softmax_tiny_acc": tiny[0]["acc"],
        "softmax_steps_to_0.05": steps_to(tiny[0]["curve"], 0.05),
        "tiny_loss_by_depth": {d: tiny[d]["loss"] for d in depths},
        "tiny_acc_by_depth": {d: tiny[d]["acc"] for d in depths},
        "tiny_first_loss_by_depth": {d: float(tiny[d]["curve"][0]) for d in depths},
        "two_class_first_loss": stages[2]["first_loss"], "ten_class_first_loss": stages[10]["first_loss"],
        "two_class_val_acc": stages[2]["acc"], "ten_class_val_acc": stages[10]["acc"],
        "plots": plots,
    }
    lines = [
        f"{name}: 20 fixed images, single softmax layer → loss {tiny[0]['loss']:.1e}, accuracy {tiny[0]['acc']:.2f} "
        f"(below 0.05 after {result['softmax_steps_to_0.05']} steps)",
        "adding hidden layers one at a time, loss on the batch: "
        + ", ".join(f"{d} → {tiny[d]['loss']:.1e} (acc {tiny[d]['acc']:.2f})" for d in depths),
        f"two classes: first loss {stages[2]['first_loss']:.3f} (ln 2 = {math.log(2):.3f}), validation accuracy "
        f"{stages[2]['acc']:.3f}; ten classes: first loss {stages[10]['first_loss']:.3f} "
        f"(ln 10 = {math.log(10):.3f}), validation accuracy {stages[10]['acc']:.3f}",
    ]
    result["conclusion"] = conclude("start_small", lines)
    return result
