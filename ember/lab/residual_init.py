"""Residual blocks: He on the first layer, zero on the last keeps Var(F(x) + x) = Var(x) at the start (NOTES §5).

A residual block outputs ``x + F(x)``. If the branch F is initialised like any other layer, its
output has about the variance of its input, and every block adds it on top of the skip:
``Var(x_{l+1}) ≈ Var(x_l) + Var(F(x_l))`` — the signal grows with depth (doubling per block when
F keeps the variance, as He initialisation does). Zeroing the branch's last layer (or, with batch
norm, its last BN scale γ) makes every block the identity at the start, ``F(x) = 0``, so the
variance is exactly kept however deep the net; the first layer keeps He initialisation, so the
gradient still reaches the zeroed layer and the branch starts learning at once.

1. A 16-block residual MLP (branch: Linear → ReLU → Linear, no batch norm) on random inputs: the
   std of each block's output at initialisation, with the last layer He-initialised vs zeroed,
   next to the same depth without skips.
2. :func:`ember.models.resnet20` (convolutions with batch norm) with and without
   ``zero_init_residual``: the std after each block at initialisation.
3. The residual MLP trained on spirals with SGD: He-initialised last layers vs zeroed.
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
from ember.models import resnet20

BLOCKS, WIDTH = 16, 64


class ResidualBlock(nn.Module):
    """x + W2·relu(W1·x + b1) + b2 (``skip=False``: without the x)."""

    def __init__(self, width: int, zero_last: bool, skip: bool = True):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, width), nn.Linear(width, width)
        self.skip = skip
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        nn.init.zeros_(self.fc1.bias)
        if zero_last:
            nn.init.zeros_(self.fc2.weight)
        else:
            nn.init.kaiming_normal_(self.fc2.weight, nonlinearity="relu")
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x):
        branch = self.fc2(ember.relu(self.fc1(x)))
        return x + branch if self.skip else ember.relu(branch)


def residual_mlp(zero_last: bool, skip: bool = True, inputs: int = 2, classes: int = 3) -> nn.Sequential:
    stem = nn.Linear(inputs, WIDTH)
    nn.init.kaiming_normal_(stem.weight, nonlinearity="relu")
    head = nn.Linear(WIDTH, classes)
    nn.init.normal_(head.weight, 0.0, 0.01)
    return nn.Sequential(stem, *[ResidualBlock(WIDTH, zero_last, skip) for _ in range(BLOCKS)], head)


def block_stds(net: nn.Module, blocks, x) -> list[float]:
    """The std of each block's output for one forward pass of x (forward hooks)."""
    stds = []
    handles = [b.register_forward_hook(lambda m, i, o: stds.append(float(o.array.std()))) for b in blocks]
    with ember.no_grad():
        net(x)
    for h in handles:
        h.remove()
    return stds


VARIANTS = {"skip, last layer He": (False, True), "skip, last layer zero": (True, True),
            "no skip, He": (False, False)}


@experiment
def run(out_dir, quick=False):
    # 1. residual MLP at initialisation
    seed_everything(0)
    x = ember.randn(256, WIDTH)
    mlp_stds = {}
    for label, (zero_last, skip) in VARIANTS.items():
        seed_everything(1)
        net = residual_mlp(zero_last, skip, inputs=WIDTH)
        blocks = list(net)[1:-1]
        mlp_stds[label] = block_stds(nn.Sequential(*blocks), blocks, x)

    # 2. resnet20 with batch norm
    seed_everything(0)
    images = ember.randn(4 if quick else 16, 3, 32, 32)
    resnet_stds = {}
    for zero in (False, True):
        seed_everything(1)
        net = resnet20(num_classes=10, in_channels=3, input_size=32, zero_init_residual=zero)
        net.eval()  # BN uses its running statistics (mean 0, var 1 at the start): a deterministic forward
        blocks = [b for stage in (net.layer1, net.layer2, net.layer3) for b in stage]
        resnet_stds[zero] = block_stds(net, blocks, images)

    # 3. training the residual MLP
    steps = 200 if quick else 600
    xs, ys = make_spirals(600, n_classes=3, seed=0).arrays()
    (xs,) = standardize(xs)
    curves, acc = {}, {}
    for label in ("skip, last layer He", "skip, last layer zero"):
        zero_last, skip = VARIANTS[label]
        rng = seed_everything(0)
        net = residual_mlp(zero_last, skip)
        curves[label] = fit(net, ember.optim.SGD(net.parameters(), lr=0.01, momentum=0.9), nn.CrossEntropyLoss(),
                            xs, ys, steps, batch_size=64, rng=rng)
        acc[label] = evaluate(net, xs, ys)["acc"]

    # ------------------------------------------------------------------ plots
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(17, 4.6))
    ax = axes[0]
    for label, stds in mlp_stds.items():
        ax.semilogy(np.arange(1, BLOCKS + 1), stds, marker="o", label=label)
    ax.set_xlabel("block")
    ax.set_ylabel("std of the block's output")
    ax.set_title(f"residual MLP at init ({BLOCKS} blocks × {WIDTH}, input std 1)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax = axes[1]
    for zero in (False, True):
        stds = resnet_stds[zero]
        ax.plot(np.arange(1, len(stds) + 1), stds, marker="o",
                label=f"zero_init_residual={zero}")
    for edge in (3.5, 6.5):
        ax.axvline(edge, color="gray", ls=":", lw=0.8)
    ax.set_xlabel("block (stages of 3; dotted: down-sampling)")
    ax.set_ylabel("std of the block's output")
    ax.set_title("resnet20 (conv + batch norm) at init", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[2]
    for label, curve in curves.items():
        finite = int(np.isfinite(curve).sum())
        note = f"diverged after {finite} steps" if finite < len(curve) else f"final {final(curve, 20):.3g}"
        ax.plot(smooth(curve, 10), marker="." if finite < 5 else None, label=f"{label}: {note}, acc {acc[label]:.2f}")
    ax.axhline(math.log(3), color="gray", ls=":", label="ln 3")
    ax.set_yscale("log")
    ax.set_ylim(1e-2, 1e3)
    ax.set_xlabel("step (SGD ε = 0.01, momentum 0.9, batch 64)")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title(f"training the {BLOCKS}-block residual MLP on spirals", fontsize=10)
    ax.legend(fontsize=8)
    plots = [save(fig, out_dir, "residual_init.png")]

    growth = {label: stds[-1] / stds[0] for label, stds in mlp_stds.items()}
    result = {
        "mlp_block_std": mlp_stds,
        "mlp_std_growth": growth,
        "resnet20_block_std": {f"zero_init_residual={z}": s for z, s in resnet_stds.items()},
        "resnet20_std_growth": {f"zero_init_residual={z}": s[2] / s[0] for z, s in resnet_stds.items()},
        "final_loss": {label: final(c, 20) for label, c in curves.items()},
        "finite_steps": {label: int(np.isfinite(c).sum()) for label, c in curves.items()},
        "accuracy": acc,
        "plots": plots,
    }
    lines = [
        f"residual MLP, std of block 1 → block {BLOCKS} output at init: "
        + ", ".join(f"{k} {v[0]:.3g} → {v[-1]:.3g}" for k, v in mlp_stds.items()),
        "resnet20, std after blocks 1 → 3 of the first stage: "
        + ", ".join(f"zero_init_residual={z}: {s[0]:.3g} → {s[2]:.3g}" for z, s in resnet_stds.items()),
        f"training on spirals for {steps} steps: "
        + ", ".join(f"{k}: loss {result['final_loss'][k]:.3g}, accuracy {acc[k]:.2f}" for k in curves),
    ]
    result["conclusion"] = conclude("residual_init", lines)
    return result
