"""Small mini-batches give noisy gradient estimates, large ones reduce the noise (NOTES §4, §10).

A mini-batch gradient is an average over B random samples of the per-sample gradients, so it is an
unbiased estimate of the full-batch gradient whose variance falls as 1/B (times 1 − B/N when the
batch is drawn without replacement from N samples). The experiment

1. measures that noise directly: at fixed weights, ``E‖g_B − g‖² / ‖g‖²`` over many random
   mini-batches of each size B (g the full-batch gradient), next to the 1/B law;
2. trains the same MLP on 3-class spirals with B = 8, 32, 128 and the full batch for the same number
   of epochs (same learning rate, so small batches take more, noisier steps): the per-step loss of
   small batches jumps around, the full batch descends smoothly. Small batches add noise that can
   help (a regulariser, a way out of poor regions); a batch that is too large removes it and, per
   epoch, takes fewer steps.
"""
from __future__ import annotations


import numpy as np

import ember
from ember import nn
from ember.data import make_spirals
from ember.lab._common import (
    as_tensor, conclude, evaluate, experiment, fit, plt, save, seed_everything, smooth, standardize,
)
from ember.lab.optimizers import spiral_net


def flat_gradient(net: nn.Module, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """All parameter gradients of the mean cross-entropy on (x, y), as one vector."""
    net.zero_grad()
    nn.CrossEntropyLoss()(net(as_tensor(x)), as_tensor(y)).backward()
    return np.concatenate([p.grad.array.ravel() for p in net.parameters()]).astype(np.float64)


def gradient_noise(net: nn.Module, x: np.ndarray, y: np.ndarray, batch: int, draws: int,
                   rng: np.random.Generator) -> float:
    """E‖g_B − g‖² / ‖g‖² over ``draws`` mini-batches of size ``batch`` drawn without replacement."""
    full = flat_gradient(net, x, y)
    errors = []
    for _ in range(draws):
        idx = rng.choice(len(x), batch, replace=False)
        errors.append(np.sum((flat_gradient(net, x[idx], y[idx]) - full) ** 2))
    return float(np.mean(errors) / np.sum(full**2))


def jitter(curve: np.ndarray) -> float:
    """How much a loss curve jumps around its own trend: the std of log-loss minus its moving
    average (window 9), over the second half of training."""
    c = np.log(curve[np.isfinite(curve)])
    c = c[len(c) // 2:]
    if len(c) < 9:
        return 0.0
    return float(np.std(c - smooth(c, 9)))


@experiment
def run(out_dir, quick=False):
    n, epochs = (600, 6) if quick else (1200, 30)
    batches = [8, 32, 128, n]
    x, y = make_spirals(2 * n, n_classes=3, noise=0.25, seed=0).arrays()
    x, x_val = standardize(x[:n], x[n:])
    y, y_val = y[:n], y[n:]

    # 1. gradient noise at the initial weights
    seed_everything(0)
    net = spiral_net()
    rng = np.random.default_rng(1)
    draws = 30 if quick else 100
    noise = {b: gradient_noise(net, x, y, b, draws, rng) for b in batches[:-1]}

    # 2. training for the same number of epochs
    lr = 0.05
    curves, per_epoch, val_acc = {}, {}, {}
    for b in batches:
        rng = seed_everything(0)
        net = spiral_net()
        steps_per_epoch = n // b
        epoch_loss = []

        def record(step, net=net, spe=steps_per_epoch, out=epoch_loss):
            if (step + 1) % spe == 0:
                out.append(evaluate(net, x, y, nn.CrossEntropyLoss())["loss"])

        curves[b] = fit(net, ember.optim.SGD(net.parameters(), lr=lr), nn.CrossEntropyLoss(), x, y,
                        epochs * steps_per_epoch, batch_size=b, rng=rng, on_step=record)
        per_epoch[b] = epoch_loss
        val_acc[b] = evaluate(net, x_val, y_val)["acc"]

    # ------------------------------------------------------------------ plots
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(17, 4.6))
    ax = axes[0]
    bs = np.array(batches[:-1])
    measured = np.array([noise[b] for b in bs])
    theory = (1 / bs) * (1 - bs / n)
    ax.loglog(bs, measured, "o-", label="measured E‖g_B − g‖² / ‖g‖²")
    ax.loglog(bs, theory * measured[0] / theory[0], "k--", label="∝ (1/B)(1 − B/N)")
    ax.set_xlabel("batch size B")
    ax.set_ylabel("relative gradient noise")
    ax.set_title(f"noise of the mini-batch gradient (N = {n}, {draws} draws)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)

    ax = axes[1]
    for b in batches:
        c = curves[b]
        ax.plot(np.arange(len(c)) * b / n, c, lw=0.7, alpha=0.8, label=f"B = {b if b < n else f'{n} (full)'}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss of each step's mini-batch")
    ax.set_title(f"what each step sees (SGD ε = {lr})", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[2]
    for b in batches:
        label = f"B = {b if b < n else f'{n} (full)'}: {len(curves[b])} steps, val acc {val_acc[b]:.2f}"
        ax.plot(np.arange(1, epochs + 1), per_epoch[b], marker="o", ms=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss on the whole training set")
    ax.set_title(f"same number of epochs ({epochs})", fontsize=10)
    ax.legend(fontsize=8)
    plots = [save(fig, out_dir, "batch_size.png")]

    result = {
        "batch_sizes": batches,
        "gradient_noise": {int(b): v for b, v in noise.items()},
        "noise_ratio_8_vs_128": noise[8] / noise[128],
        "loss_jitter": {int(b): jitter(curves[b]) for b in batches},
        "final_train_loss": {int(b): float(per_epoch[b][-1]) for b in batches},
        "val_acc": {int(b): v for b, v in val_acc.items()},
        "plots": plots,
    }
    lines = [
        "relative gradient noise: " + ", ".join(f"B={b} {noise[b]:.3f}" for b in batches[:-1])
        + f" — B=8 is {result['noise_ratio_8_vs_128']:.1f}× noisier than B=128 "
        f"(1/B predicts {(1 / 8 * (1 - 8 / n)) / (1 / 128 * (1 - 128 / n)):.1f}×)",
        "jitter of the per-step loss around its trend (second half): "
        + ", ".join(f"B={b} {result['loss_jitter'][b]:.3f}" for b in batches),
        f"after {epochs} epochs, loss on the training set: "
        + ", ".join(f"B={b} {result['final_train_loss'][b]:.3f}" for b in batches)
        + "; validation accuracy: " + ", ".join(f"B={b} {val_acc[b]:.2f}" for b in batches),
    ]
    result["conclusion"] = conclude("batch_size", lines)
    return result
