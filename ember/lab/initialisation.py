"""How the initial weights decide whether a deep net can learn: zeros, small Gaussians, Xavier, He (NOTES §5).

1. **Activations at initialisation.** Unit-variance inputs go through a deep stack of square
   Linear layers (no training, no bias) and the spread of each layer's output is recorded:

   * all zeros — every unit outputs the same 0; nothing to learn from;
   * N(0, 0.01) with tanh — each layer multiplies the spread by about 0.01·√n < 1: activations
     shrink to zero (and so do the gradients, which are scaled by them);
   * N(0, 0.05) with tanh — when 0.05·√n > 1 (n > 400 inputs per unit) the pre-activations grow
     past the linear part of tanh and the units saturate at ±1, where its derivative is ~0.
     A side panel sweeps the width n to show that the same std goes from "too small" to
     "saturating" as the fan-in grows: the right scale depends on the fan-in;
   * Xavier/Glorot ``Var(w) = 1/fan_in`` with tanh — the spread stays in tanh's active range;
   * Xavier with ReLU — ReLU zeroes half of its input, so the variance halves at every layer;
   * He/Kaiming ``N(0, 2/fan_in)`` with ReLU — the factor 2 makes up for it; the spread is kept.

2. **Short training.** A 6-hidden-layer net on spirals (narrow, 48 units in the quick run and
   128 in the full one: at these widths N(0, 0.05) errs on the small side, not the saturating
   one), trained with each scheme (SGD + momentum).
   With all weights zero no gradient reaches any weight matrix (every hidden output is tanh(0) = 0
   and every weight behind it is 0): the units of a layer stay identical and only the output
   bias moves. A constant initialisation (every weight 0.1) does move, but every unit of a layer
   gets the same gradient, so the units stay copies of each other for ever: symmetry is never
   broken. Random initialisation breaks it; its scale decides whether the signal survives the depth.
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
from ember.nn import functional as F

# scheme name -> (activation, weight initialiser)
SCHEMES = {
    "zeros (tanh)": ("tanh", nn.init.zeros_),
    "N(0, 0.01) (tanh)": ("tanh", lambda w: nn.init.normal_(w, 0.0, 0.01)),
    "N(0, 0.05) (tanh)": ("tanh", lambda w: nn.init.normal_(w, 0.0, 0.05)),
    "Xavier (tanh)": ("tanh", lambda w: nn.init.xavier_normal_(w)),
    "Xavier (ReLU)": ("relu", lambda w: nn.init.xavier_normal_(w)),
    "He (ReLU)": ("relu", lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")),
}
SATURATED = 0.9  # |tanh| above this: derivative 1 − tanh² below 0.19


def forward_stats(init, activation: str, width: int, depth: int, batch: int, seed: int) -> list[np.ndarray]:
    """The outputs of ``depth`` Linear(width, width) + activation layers for N(0, 1) inputs, one array per layer."""
    seed_everything(seed)
    h = ember.randn(batch, width)
    act = F.tanh if activation == "tanh" else F.relu
    outputs = []
    with ember.no_grad():
        for _ in range(depth):
            w = init(ember.empty(width, width))
            h = act(F.linear(h, w))
            outputs.append(h.array.copy())
    return outputs


def saturated_fraction(a: np.ndarray) -> float:
    return float(np.mean(np.abs(a) > SATURATED))


def training_net(scheme: str, width: int, depth: int, classes: int = 3) -> nn.Sequential:
    activation, init = SCHEMES[scheme] if scheme in SCHEMES else ("tanh", lambda w: nn.init.constant_(w, 0.1))
    act = nn.Tanh if activation == "tanh" else nn.ReLU
    layers, sizes = [], [2] + [width] * depth
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), act()]
    layers.append(nn.Linear(width, classes))
    net = nn.Sequential(*layers)
    for m in net:
        if isinstance(m, nn.Linear):
            init(m.weight)
            nn.init.zeros_(m.bias)
    return net


def unit_spread(net: nn.Sequential) -> float:
    """How different the units of a hidden layer are: the largest std, across the units of a layer,
    of their incoming weights and bias (0 when every unit is a copy of the others)."""
    spread = 0.0
    for m in list(net)[:-1]:
        if isinstance(m, nn.Linear):
            rows = np.concatenate([m.weight.array, m.bias.array[:, None]], axis=1)
            spread = max(spread, float(rows.std(axis=0).max()))
    return spread


@experiment
def run(out_dir, quick=False):
    width, depth, batch = (256, 10, 100) if quick else (1024, 10, 200)
    sweep = [128, 512, 1024, 2048] if quick else [128, 256, 512, 1024, 2048, 4096]
    sweep_depth = 3

    # 1. spread of each layer's output at initialisation
    outputs = {s: forward_stats(init, act, width, depth, batch, seed=0) for s, (act, init) in SCHEMES.items()}
    std = {s: np.array([o.std() for o in outs]) for s, outs in outputs.items()}
    saturation = {s: [saturated_fraction(o) for o in outs] for s, outs in outputs.items()}
    sweep_sat = {}
    for s in ("N(0, 0.05) (tanh)", "Xavier (tanh)"):
        act, init = SCHEMES[s]
        sweep_sat[s] = [saturated_fraction(forward_stats(init, act, n, sweep_depth, 32, seed=1)[-1]) for n in sweep]

    # 2. short training with each scheme
    t_width, t_depth = (48, 6) if quick else (128, 6)
    steps = 200 if quick else 600
    x, y = make_spirals(600, n_classes=3, seed=0).arrays()
    (x,) = standardize(x)
    train_schemes = ["zeros (tanh)", "constant 0.1 (tanh)", "N(0, 0.01) (tanh)", "N(0, 0.05) (tanh)", "Xavier (tanh)",
                     "He (ReLU)"]
    curves, acc, spread = {}, {}, {}
    for s in train_schemes:
        rng = seed_everything(0)
        net = training_net(s, t_width, t_depth)
        optimizer = ember.optim.SGD(net.parameters(), lr=0.03, momentum=0.9)
        curves[s] = fit(net, optimizer, nn.CrossEntropyLoss(), x, y, steps, batch_size=64, rng=rng)
        acc[s] = evaluate(net, x, y)["acc"]
        spread[s] = unit_spread(net)

    # ------------------------------------------------------------------ plots
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(16, 4.5))
    layers = np.arange(1, depth + 1)
    for s in SCHEMES:
        if s.startswith("zeros"):
            continue  # log scale: all-zero outputs have no spread to draw
        axes[0].semilogy(layers, std[s], marker="o", label=s)
    axes[0].set_xlabel("layer")
    axes[0].set_ylabel("std of the layer's output")
    axes[0].set_title(f"activations at init ({depth} layers × {width}, zeros: std 0)", fontsize=10)
    axes[0].grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    for s in sweep_sat:
        axes[1].semilogx(sweep, sweep_sat[s], marker="o", label=s)
    axes[1].set_xlabel("width n (fan-in)")
    axes[1].set_ylabel(f"fraction of |tanh| > {SATURATED} at layer {sweep_depth}")
    axes[1].set_title("N(0, 0.05) saturates once 0.05·√n > 1", fontsize=10)
    axes[1].axvline(400, color="gray", ls=":", label="n = 400")
    axes[1].grid(alpha=0.3, which="both")
    axes[1].legend(fontsize=8)
    for s in train_schemes:
        axes[2].plot(smooth(curves[s], 10), label=f"{s}: acc {acc[s]:.2f}")
    axes[2].axhline(math.log(3), color="gray", ls=":", label="ln 3")
    axes[2].set_xlabel(f"step (SGD lr 0.03, momentum 0.9; {t_depth} layers × {t_width})")
    axes[2].set_ylabel("training loss (smoothed)")
    axes[2].set_title("training on spirals", fontsize=10)
    axes[2].legend(fontsize=7)
    plots = [save(fig, out_dir, "initialisation.png")]

    # histograms of the outputs: one row per scheme, a few layers
    show = [0, depth // 2, depth - 1]
    fig, axes = pyplot.subplots(len(SCHEMES), len(show), figsize=(10, 1.9 * len(SCHEMES)))
    fig.subplots_adjust(left=0.03, right=0.98, bottom=0.04, top=0.96, hspace=0.55, wspace=0.12)
    for r, s in enumerate(SCHEMES):
        for c, layer in enumerate(show):
            a = outputs[s][layer].ravel()
            ax = axes[r, c]
            spread_ = float(np.abs(a).max())
            ax.hist(a, bins=60, range=(-1, 1) if SCHEMES[s][0] == "tanh" else (0, max(spread_, 1e-12)), color="C0",
                    histtype="stepfilled")
            ax.set_yticks([])
            ax.set_title(f"{s}, layer {layer + 1}: std {a.std():.2g}", fontsize=8)
            ax.tick_params(labelsize=7)
    plots.append(save(fig, out_dir, "initialisation_histograms.png", tight=False))

    # ------------------------------------------------------------------ numbers
    ratio = {s: float(std[s][-1] / std[s][0]) if std[s][0] > 0 else 0.0 for s in SCHEMES}
    result = {
        "width": width, "depth": depth,
        "act_std": {s: std[s].tolist() for s in SCHEMES},
        "std_last_over_first": ratio,
        "saturated_last_layer": {s: saturation[s][-1] for s in SCHEMES},
        "sweep_widths": sweep, "sweep_saturated": sweep_sat,
        "final_loss": {s: final(curves[s]) for s in train_schemes},
        "accuracy": acc, "unit_spread": spread,
        "plots": plots,
    }
    n05 = "N(0, 0.05) (tanh)"
    lines = [
        f"std of layer 1 → layer {depth} output at init (width {width}): "
        + ", ".join(f"{s} {std[s][0]:.2g}→{std[s][-1]:.2g}" for s in SCHEMES if not s.startswith("zeros")),
        f"zeros: every output is 0; N(0, 0.01) shrinks the signal {1 / max(ratio['N(0, 0.01) (tanh)'], 1e-300):.0e}× "
        f"over {depth} layers",
        f"N(0, 0.05) with tanh, fraction of saturated units (|tanh| > {SATURATED}) as the fan-in grows, "
        f"n={sweep}: " + ", ".join(f"{v:.0%}" for v in sweep_sat[n05])
        + " (Xavier: " + ", ".join(f"{v:.0%}" for v in sweep_sat["Xavier (tanh)"]) + ")",
        f"Xavier keeps tanh in range ({ratio['Xavier (tanh)']:.2f}× over {depth} layers); with ReLU it halves the "
        f"variance per layer ({ratio['Xavier (ReLU)']:.3f}×); He keeps ReLU's ({ratio['He (ReLU)']:.2f}×)",
        "after training, accuracy: " + ", ".join(f"{s} {acc[s]:.2f}" for s in train_schemes),
        f"units of a layer identical after training? zeros: spread {spread['zeros (tanh)']:.1e}, constant 0.1: "
        f"spread {spread['constant 0.1 (tanh)']:.1e} (random init: {spread['Xavier (tanh)']:.2f})",
    ]
    result["conclusion"] = conclude("initialisation", lines)
    return result
