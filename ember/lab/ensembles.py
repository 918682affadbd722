"""An ensemble of independently trained models beats its average member, and usually its best one (NOTES §7).

K copies of the same MLP are trained on the same data, differing only in their random
initialisation and the order of their mini-batches. Each one makes partly different mistakes; the
ensemble averages the members' predicted class probabilities,
``p(c|x) = (1/K) Σ_k softmax(f_k(x))_c``, and predicts the most probable class. Errors that are not
shared get outvoted, and the averaged probabilities are less over-confident, so the validation
loss falls too. The curve of validation accuracy against ensemble size shows the gain level off
after a handful of members: the members' shared errors remain.
"""
from __future__ import annotations

import numpy as np

import ember
from ember import nn
from ember.lab._common import conclude, evaluate, experiment, fit, plt, save, seed_everything
from ember.lab._data import fashion_subset, patterns
from ember.models import MLP


def load(quick: bool):
    if not quick:
        found = fashion_subset(2000, 2000, seed=2)
        if found is not None:
            return (*found, "Fashion-MNIST, 2,000 training / 2,000 validation images")
    x, y = patterns(200, seed=2)
    n = len(y) // 2
    return x[:n], y[:n], x[n:], y[n:], f"synthetic patterns, {n} training / {len(y) - n} validation images"


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, None))))


@experiment
def run(out_dir, quick=False):
    x, y, x_val, y_val, description = load(quick)
    members = 5 if quick else 8
    epochs = 8 if quick else 15
    batch = 50
    sizes = [int(np.prod(x.shape[1:])), 256, int(y.max()) + 1]

    probs = []
    for k in range(members):
        rng = seed_everything(100 + k)  # a different initialisation and batch order per member
        net = MLP(sizes, activation="relu")
        fit(net, ember.optim.SGD(net.parameters(), lr=0.02, momentum=0.9), nn.CrossEntropyLoss(), x, y,
            epochs * (len(x) // batch), batch_size=batch, rng=rng)
        probs.append(softmax(evaluate(net, x_val)["output"]))
    probs = np.stack(probs)

    member_acc = [float(np.mean(p.argmax(1) == y_val)) for p in probs]
    member_nll = [nll(p, y_val) for p in probs]
    sizes_k = list(range(1, members + 1))
    ens_acc = [float(np.mean(probs[:k].mean(0).argmax(1) == y_val)) for k in sizes_k]
    ens_nll = [nll(probs[:k].mean(0), y_val) for k in sizes_k]
    wrong = probs.argmax(2) != y_val  # (members, samples)
    shared = float(np.mean(wrong.all(axis=0)) / max(np.mean(wrong), 1e-12))

    pyplot = plt()
    fig, axes = pyplot.subplots(1, 2, figsize=(12, 4.5))
    ax = axes[0]
    ax.plot(sizes_k, ens_acc, marker="o", label="ensemble of the first K members")
    ax.scatter(np.arange(1, members + 1), member_acc, color="gray", zorder=3, label="each member alone")
    ax.axhline(np.mean(member_acc), color="gray", ls=":", label=f"mean member {np.mean(member_acc):.3f}")
    ax.set_xlabel("K (members averaged)")
    ax.set_ylabel("validation accuracy")
    ax.set_title(description, fontsize=9)
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(sizes_k, ens_nll, marker="o", label="ensemble")
    ax.scatter(np.arange(1, members + 1), member_nll, color="gray", zorder=3, label="each member alone")
    ax.set_xlabel("K (members averaged)")
    ax.set_ylabel("validation cross-entropy")
    ax.set_title("averaged probabilities are less over-confident", fontsize=10)
    ax.legend(fontsize=8)
    plots = [save(fig, out_dir, "ensembles.png")]

    result = {
        "dataset": description, "members": members,
        "member_acc": member_acc, "member_nll": member_nll,
        "ensemble_acc": ens_acc, "ensemble_nll": ens_nll,
        "mean_member_acc": float(np.mean(member_acc)), "best_member_acc": float(max(member_acc)),
        "shared_error_fraction": shared,
        "plots": plots,
    }
    lines = [
        f"{description}; {members} MLPs, {epochs} epochs each",
        f"members' validation accuracy {min(member_acc):.3f} … {max(member_acc):.3f} "
        f"(mean {np.mean(member_acc):.3f}); "
        f"ensemble of all {members}: {ens_acc[-1]:.3f}",
        f"validation cross-entropy: mean member {np.mean(member_nll):.3f}, ensemble {ens_nll[-1]:.3f}",
        f"{shared:.0%} of the members' errors are made by every member (those no averaging fixes)",
    ]
    result["conclusion"] = conclude("ensembles", lines)
    return result
