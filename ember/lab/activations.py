"""Deep sigmoid nets' gradients vanish layer by layer, ReLU's do not; a too-large rate kills ReLUs (NOTES §2, §10).

The same 8-hidden-layer MLP (64 units per layer) is built with each activation — sigmoid, tanh,
ReLU, LeakyReLU, ELU, SELU — and the initialisation each activation calls for
(:class:`ember.models.MLP`: Glorot for sigmoid/tanh, He for the ReLU family, LeCun for SELU).

1. **Gradient per layer at initialisation.** One forward/backward pass on the whole data set;
   the norm of each Linear layer's weight gradient ``‖∂L/∂W_l‖``. Backprop multiplies the error
   by the activation's derivative at every layer; sigmoid's is at most 1/4, so the error reaching
   the first layer is many orders of magnitude smaller than at the last. For the sigmoid, tanh and
   ReLU nets, :class:`ember.diagnose.LayerProbe` also draws every layer's output and gradient
   range (one PNG each): sigmoid's outputs sit around 0.5, not zero-centred like tanh's.
2. **Training curves** with plain SGD + momentum (no per-weight rescaling that would hide
   vanishing gradients), same learning rate, same batches.
3. **Dead ReLUs.** The ReLU net trained with Adam at a sensible rate (1e-3) and at a too-large
   one (0.1). A unit is dead when its output is 0 for every training input: it then gets no
   gradient, ever. With the large rate most units die and the loss sits at ln C, "training error
   flat from the start" (§10). LeakyReLU at the same rate still passes a gradient (slope 0.01)
   through negative inputs, so its units cannot die.
"""
from __future__ import annotations

import math

import numpy as np

import ember
from ember import nn
from ember.data import make_spirals
from ember.diagnose.probes import LayerProbe
from ember.lab._common import (
    as_tensor, conclude, evaluate, experiment, final, fit, plt, save, seed_everything, smooth, standardize,
)
from ember.models import MLP

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu")
DEPTH, WIDTH = 8, 64


def deep_mlp(activation: str, classes: int = 3) -> MLP:
    return MLP([2] + [WIDTH] * DEPTH + [classes], activation=activation)


def weight_gradient_norms(net: nn.Module, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """‖∂L/∂W‖ of every Linear layer, input side first, after one forward/backward on (x, y)."""
    net.zero_grad()
    nn.CrossEntropyLoss()(net(as_tensor(x)), as_tensor(y)).backward()
    return np.array([np.linalg.norm(m.weight.grad.array) for m in net.modules() if isinstance(m, nn.Linear)])


def probe(net: nn.Module, x: np.ndarray, y: np.ndarray) -> LayerProbe:
    """Every layer's output and gradient statistics for one forward/backward pass ("visualise every layer")."""
    with LayerProbe(net) as p:
        net.zero_grad()
        nn.CrossEntropyLoss()(net(as_tensor(x)), as_tensor(y)).backward()
    return p


def dead_fraction(net: nn.Sequential, x: np.ndarray) -> np.ndarray:
    """Per hidden layer, the fraction of units whose activation input is <= 0 for every sample in x
    (for ReLU: outputs 0 everywhere and receives no gradient — dead)."""
    out, h = [], as_tensor(x)
    with ember.no_grad(), np.errstate(all="ignore"):
        for layer in net:
            if isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
                out.append(float(np.mean((h.array <= 0).all(axis=0))))
            h = layer(h)
    return np.array(out)


@experiment
def run(out_dir, quick=False):
    seeds = [0] if quick else [0, 1, 2]
    steps = 150 if quick else 600
    x, y = make_spirals(600, n_classes=3, seed=0).arrays()
    (x,) = standardize(x)

    # 1. gradient norm per layer at initialisation
    grads = {}
    for activation in ACTIVATIONS:
        per_seed = []
        for seed in seeds:
            seed_everything(seed)
            per_seed.append(weight_gradient_norms(deep_mlp(activation), x, y))
        grads[activation] = np.exp(np.mean(np.log(per_seed), axis=0))  # geometric mean over seeds

    # every layer of the sigmoid, tanh and ReLU nets at initialisation, through ember.diagnose's probe
    probes, output_mean = {}, {}
    for activation in ("sigmoid", "tanh", "relu"):
        seed_everything(0)
        probes[activation] = p = probe(deep_mlp(activation), x, y)
        acts = [r.output[-1] for r in p.records.values() if r.kind in (activation, "relu") and r.output]
        output_mean[activation] = float(np.mean([a.mean for a in acts]))

    # 2. training curves with SGD + momentum
    curves, acc = {}, {}
    for activation in ACTIVATIONS:
        rng = seed_everything(0)
        net = deep_mlp(activation)
        optimizer = ember.optim.SGD(net.parameters(), lr=0.02, momentum=0.9)
        curves[activation] = fit(net, optimizer, nn.CrossEntropyLoss(), x, y, steps, batch_size=64, rng=rng)
        acc[activation] = evaluate(net, x, y)["acc"]

    # 3. dead ReLUs after a too-large learning rate
    dead_steps = 150
    dead_runs = {}
    for activation, lr in (("relu", 1e-3), ("relu", 0.1), ("leaky_relu", 0.1)):
        rng = seed_everything(0)
        net = deep_mlp(activation)
        optimizer = ember.optim.Adam(net.parameters(), lr=lr)
        loss = fit(net, optimizer, nn.CrossEntropyLoss(), x, y, dead_steps, batch_size=64, rng=rng)
        dead_runs[(activation, lr)] = {"loss": loss, "dead": dead_fraction(net, x), "acc": evaluate(net, x, y)["acc"]}

    # ------------------------------------------------------------------ plots
    pyplot = plt()
    fig, axes = pyplot.subplots(2, 2, figsize=(13, 9))
    layers = np.arange(1, DEPTH + 2)
    ax = axes[0, 0]
    for activation in ACTIVATIONS:
        ax.semilogy(layers, grads[activation], marker="o", label=activation)
    ax.set_xlabel("Linear layer (1 = next to the input)")
    ax.set_ylabel("‖∂L/∂W‖ at initialisation")
    ax.set_title(f"gradient reaching each layer ({DEPTH} hidden layers × {WIDTH})", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    for activation in ACTIVATIONS:
        ax.plot(smooth(curves[activation], 10), label=f"{activation} (acc {acc[activation]:.2f})")
    ax.axhline(math.log(3), color="gray", ls=":", label="ln 3 (chance)")
    ax.set_xlabel("step (SGD lr 0.02, momentum 0.9, batch 64)")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title("training curves on 3-class spirals", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[1, 0]
    width = 0.27
    hidden = np.arange(1, DEPTH + 1)
    for i, ((activation, lr), r) in enumerate(dead_runs.items()):
        note = " (units with input ≤ 0 everywhere)" if activation != "relu" else ""
        label = f"{activation}, Adam lr {lr:g}{note}"
        ax.bar(hidden + (i - 1) * width, r["dead"], width, label=label)
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("fraction of units dead")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"dead units after {dead_steps} steps", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    for (activation, lr), r in dead_runs.items():
        ax.plot(smooth(r["loss"], 10), label=f"{activation}, Adam lr {lr:g} (acc {r['acc']:.2f})")
    ax.axhline(math.log(3), color="gray", ls=":", label="ln 3")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (smoothed)")
    ax.set_title("a too-large rate: dead ReLUs, flat loss", fontsize=10)
    ax.legend(fontsize=8)
    plots = [save(fig, out_dir, "activations.png")]
    for activation, p in probes.items():
        path = out_dir / f"activations_layers_{activation}.png"
        p.plot(path)
        plots.append(str(path))

    # ------------------------------------------------------------------ numbers
    first_to_last = {a: float(grads[a][0] / grads[a][-1]) for a in ACTIVATIONS}
    good, big, leaky = dead_runs[("relu", 1e-3)], dead_runs[("relu", 0.1)], dead_runs[("leaky_relu", 0.1)]
    result = {
        "grad_first_layer": {a: float(grads[a][0]) for a in ACTIVATIONS},
        "grad_last_layer": {a: float(grads[a][-1]) for a in ACTIVATIONS},
        "grad_first_to_last": first_to_last,
        "final_loss": {a: final(curves[a]) for a in ACTIVATIONS},
        "accuracy": acc,
        "mean_activation_output": output_mean,
        "dead_relu_frac_small_lr": float(good["dead"].mean()),
        "dead_relu_frac_large_lr": float(big["dead"].mean()),
        "relu_large_lr_final_loss": final(big["loss"]),
        "relu_large_lr_acc": big["acc"],
        "relu_small_lr_acc": good["acc"],
        "leaky_large_lr_acc": leaky["acc"],
        "plots": plots,
    }
    ratio = grads["sigmoid"][0] / grads["relu"][0]
    lines = [f"first-layer gradient ÷ last-layer gradient at init: "
             + ", ".join(f"{a} {first_to_last[a]:.1e}" for a in ACTIVATIONS),
             f"sigmoid's first-layer gradient is {ratio:.1e} × ReLU's"
             + (": it vanishes on the way back" if ratio < 1e-2 else ""),
             "mean output of the activation layers at init: "
             + ", ".join(f"{a} {m:.2f}" for a, m in output_mean.items())
             + " (tanh is zero-centred; sigmoid and ReLU outputs are all positive)",
             f"after {steps} SGD steps, accuracy: " + ", ".join(f"{a} {acc[a]:.2f}" for a in ACTIVATIONS),
             f"ReLU with Adam lr 1e-3: {good['dead'].mean():.0%} of hidden units dead, accuracy {good['acc']:.2f}",
             f"ReLU with Adam lr 0.1:  {big['dead'].mean():.0%} dead, loss stuck at {final(big['loss']):.3f} "
             f"(ln 3 = {math.log(3):.3f}), accuracy {big['acc']:.2f}",
             f"LeakyReLU with lr 0.1: accuracy {leaky['acc']:.2f} "
             + ("(its negative side still passes a gradient, so its units cannot die)"
                if leaky["acc"] > big["acc"] + 0.2 else "(the rate is too large for it as well)")]
    result["conclusion"] = conclude("activations", lines)
    return result
