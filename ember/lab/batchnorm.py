"""Batch norm in a deep net: faster convergence and a much larger usable learning rate (NOTES §6).

Batch norm normalises each unit's pre-activation over the mini-batch, ``ẑ = (z − μ_B)/√(σ²_B + ε)``,
then scales and shifts it with learned γ, β; it sits after the Linear layer and before the
non-linearity. Whatever the weights do, every layer's input stays at zero mean and unit variance,
so a large step cannot blow the activations up layer after layer, and the scale of the weights
stops mattering for the forward signal.

The experiment trains a 10-hidden-layer ReLU MLP (64 units, He initialisation) on 3-class spirals
with plain SGD, with and without batch norm, at learning rates from 0.01 to 3:

1. the curves at one rate (convergence speed);
2. the loss after training against the learning rate: without batch norm the net diverges above a
   few tenths, with it every rate in the sweep trains;
3. the same two nets with the layers' default initialisation, U(±1/√fan_in), which shrinks the
   signal at every ReLU layer: without batch norm nothing reaches the output and the loss stays at
   ln 3; with it the net trains anyway.
"""
from __future__ import annotations

import math

import numpy as np

import ember
from ember import nn
from ember.data import make_spirals
from ember.lab._common import (
    conclude, evaluate, experiment, final, fit, plt, save, seed_everything, smooth, standardize,
)
from ember.models import MLP

DEPTH, WIDTH = 10, 64


def deep_net(batchnorm: bool, he_init: bool = True) -> nn.Sequential:
    if he_init:
        return MLP([2] + [WIDTH] * DEPTH + [3], activation="relu", batchnorm=batchnorm)
    layers, n_in = [], 2
    for _ in range(DEPTH):  # the layers' own default initialisation
        layers += [nn.Linear(n_in, WIDTH)] + ([nn.BatchNorm1d(WIDTH)] if batchnorm else []) + [nn.ReLU()]
        n_in = WIDTH
    return nn.Sequential(*layers, nn.Linear(WIDTH, 3))


@experiment
def run(out_dir, quick=False):
    steps = 150 if quick else 400
    lrs = [0.03, 0.3, 3.0] if quick else [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
    focus_lr = 0.3 if quick else 0.1
    x, y = make_spirals(1000, n_classes=3, noise=0.2, seed=0).arrays()
    (x,) = standardize(x)
    loss_fn = nn.CrossEntropyLoss()

    curves, final_loss, acc = {}, {}, {}
    for bn in (False, True):
        for lr in lrs:
            rng = seed_everything(0)
            net = deep_net(bn)
            curves[(bn, lr)] = fit(net, ember.optim.SGD(net.parameters(), lr=lr), loss_fn, x, y, steps,
                                   batch_size=64, rng=rng)
            final_loss[(bn, lr)] = final(curves[(bn, lr)], 20)
            acc[(bn, lr)] = evaluate(net, x, y)["acc"]

    default_curves, default_acc = {}, {}
    for bn in (False, True):
        rng = seed_everything(0)
        net = deep_net(bn, he_init=False)
        default_curves[bn] = fit(net, ember.optim.SGD(net.parameters(), lr=focus_lr), loss_fn, x, y, steps,
                                 batch_size=64, rng=rng)
        default_acc[bn] = evaluate(net, x, y)["acc"]

    usable = {bn: [lr for lr in lrs if final_loss[(bn, lr)] < 0.5 * math.log(3)] for bn in (False, True)}
    early = steps // 3

    # ------------------------------------------------------------------ plots
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(17, 4.6))
    names = {False: "no batch norm", True: "batch norm"}
    ax = axes[0]
    for bn in (False, True):
        ax.plot(smooth(curves[(bn, focus_lr)], 10), label=f"{names[bn]}: loss {final_loss[(bn, focus_lr)]:.3f}, "
                                                         f"acc {acc[(bn, focus_lr)]:.2f}")
    ax.axvline(early, color="gray", ls=":", lw=0.8)
    ax.axhline(math.log(3), color="gray", ls=":", label="ln 3")
    ax.set_yscale("log")
    ax.set_xlabel(f"step (SGD ε = {focus_lr}, batch 64)")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title(f"{DEPTH} hidden layers × {WIDTH}, He init, same rate", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[1]
    for bn, marker in ((False, "o"), (True, "s")):
        values = [final_loss[(bn, lr)] if math.isfinite(final_loss[(bn, lr)]) else np.nan for lr in lrs]
        ax.loglog(lrs, values, marker=marker, label=names[bn])
        for lr in lrs:
            if not math.isfinite(final_loss[(bn, lr)]):
                ax.plot([lr], [0.97], marker="x", ms=10, color=f"C{int(bn)}", transform=ax.get_xaxis_transform())
                ax.annotate(f"{names[bn]}: diverged", (lr, 0.93), xycoords=("data", "axes fraction"), fontsize=8,
                            color=f"C{int(bn)}", ha="right", va="top")
    ax.axhline(0.5 * math.log(3), color="gray", ls=":", label="usable: below ½ ln 3")
    ax.set_xlabel("learning rate ε")
    ax.set_ylabel(f"training loss after {steps} steps")
    ax.set_title("usable learning rates (×: diverged)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)

    ax = axes[2]
    for bn in (False, True):
        ax.plot(smooth(default_curves[bn], 10), label=f"{names[bn]}: acc {default_acc[bn]:.2f}")
    ax.axhline(math.log(3), color="gray", ls=":", label="ln 3")
    ax.set_xlabel(f"step (SGD ε = {focus_lr})")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title("default init U(±1/√fan_in): the signal fades without BN", fontsize=10)
    ax.legend(fontsize=8)
    plots = [save(fig, out_dir, "batchnorm.png")]

    result = {
        "lrs": lrs, "focus_lr": focus_lr, "steps": steps,
        "final_loss": {f"{'bn' if bn else 'plain'}@{lr:g}": v for (bn, lr), v in final_loss.items()},
        "early_loss_plain": float(np.mean(curves[(False, focus_lr)][early - 10:early])),
        "early_loss_bn": float(np.mean(curves[(True, focus_lr)][early - 10:early])),
        "largest_usable_lr_plain": max(usable[False], default=0.0),
        "largest_usable_lr_bn": max(usable[True], default=0.0),
        "diverged_plain": [lr for lr in lrs if not math.isfinite(final_loss[(False, lr)])],
        "diverged_bn": [lr for lr in lrs if not math.isfinite(final_loss[(True, lr)])],
        "default_init_acc_plain": default_acc[False], "default_init_acc_bn": default_acc[True],
        "default_init_final_loss_plain": final(default_curves[False], 20),
        "default_init_final_loss_bn": final(default_curves[True], 20),
        "plots": plots,
    }
    lines = [
        f"at ε = {focus_lr}, loss after {early} steps: without BN {result['early_loss_plain']:.3f}, "
        f"with BN {result['early_loss_bn']:.3f}",
        "loss after training by learning rate: "
        + "; ".join(f"ε={lr:g}: {final_loss[(False, lr)]:.3g} → {final_loss[(True, lr)]:.3g}" for lr in lrs)
        + " (without → with BN)",
        f"largest usable rate: without BN {result['largest_usable_lr_plain']:g}, "
        f"with BN {result['largest_usable_lr_bn']:g}",
        f"default init: without BN accuracy {default_acc[False]:.2f} "
        f"(loss {result['default_init_final_loss_plain']:.3f}, "
        f"ln 3 = {math.log(3):.3f}), with BN {default_acc[True]:.2f}",
    ]
    result["conclusion"] = conclude("batchnorm", lines)
    return result
