"""Overfit first; then L2, dropout, augmentation shrink the train/val gap; early stopping picks the epoch (NOTES §7).

A wide MLP is trained on a deliberately small training set (a 1,000-image class-balanced subset of
Fashion-MNIST when its files are on this machine; otherwise, and in the quick run, the noisy
synthetic patterns of :mod:`ember.lab._data`, 100 per class) and validated on other images of the
same kind. Five runs share the model, the optimizer (SGD + momentum), the batches and the number of
epochs:

* ``baseline`` — no regularisation: training accuracy goes to 100 % and the validation loss turns
  upwards once the net starts memorising;
* ``L2`` — weight decay, the gradient of ``λ/2·‖w‖²`` added to every step (``weight_decay=λ``);
* ``dropout`` — inverted dropout (p = 0.5) after every hidden layer: training sees a random
  thinned net each step, evaluation the whole net;
* ``augmentation`` — every mini-batch is flipped left-right at random and cropped at a random
  offset after padding by 2 pixels (labels do not change under either);
* ``all three`` together.

The gap is measured twice: validation loss − training loss, and training accuracy − validation
accuracy. On a small set the unregularised net reaches 100 % training accuracy and so does a net
with moderate L2 or dropout; what they change first is how confident the net is on images it
memorised, which the loss gap shows. Augmentation adds new images, and shrinks both.

Early stopping: the baseline's weights are checkpointed whenever the validation loss reaches a new
low; the checkpoint at the best epoch is reloaded and evaluated.
"""
from __future__ import annotations

import numpy as np

import ember
from ember import nn
from ember.data import Compose, RandomCrop, RandomHorizontalFlip
from ember.lab._common import conclude, evaluate, experiment, fit, plt, save, seed_everything
from ember.lab._data import fashion_subset, patterns
from ember.models import MLP

VARIANTS = ("baseline", "L2", "dropout", "augmentation", "all three")


def load(quick: bool):
    """(x_train, y_train, x_val, y_val, description)."""
    if not quick:
        found = fashion_subset(1000, 2000, seed=0)
        if found is not None:
            return (*found, "Fashion-MNIST, 1,000 training / 2,000 validation images")
    x, y = patterns(200, seed=0)
    n = len(y) // 2
    return x[:n], y[:n], x[n:], y[n:], f"synthetic patterns, {n} training / {len(y) - n} validation images"


def train_variant(variant: str, data, epochs: int, batch_size: int, weight_decay: float):
    x, y, x_val, y_val, _ = data
    rng = seed_everything(0)
    sizes = [int(np.prod(x.shape[1:])), 256, 256, int(y.max()) + 1]
    use_dropout = variant in ("dropout", "all three")
    net = MLP(sizes, activation="relu", dropout=0.5 if use_dropout else 0.0)
    decay = weight_decay if variant in ("L2", "all three") else 0.0
    optimizer = ember.optim.SGD(net.parameters(), lr=0.02, momentum=0.9, weight_decay=decay)
    augment = Compose([RandomHorizontalFlip(), RandomCrop(padding=2)]) if variant in ("augmentation", "all three") \
        else None
    transform = (lambda xb, r: augment(xb, rng=r)) if augment else None
    steps_per_epoch = len(x) // batch_size
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    best = {"val_loss": np.inf, "epoch": 0, "state": None}

    def end_of_epoch(step):
        if (step + 1) % steps_per_epoch:
            return
        tr = evaluate(net, x, y, nn.CrossEntropyLoss())
        va = evaluate(net, x_val, y_val, nn.CrossEntropyLoss())
        for key, value in (("train_loss", tr["loss"]), ("train_acc", tr["acc"]), ("val_loss", va["loss"]),
                           ("val_acc", va["acc"])):
            history[key].append(value)
        if va["loss"] < best["val_loss"]:  # a checkpoint at every new best validation loss
            best.update(val_loss=va["loss"], epoch=len(history["val_loss"]),
                        state={k: v.array.copy() for k, v in net.state_dict().items()})

    fit(net, optimizer, nn.CrossEntropyLoss(), x, y, epochs * steps_per_epoch, batch_size=batch_size, rng=rng,
        transform=transform, on_step=end_of_epoch)
    return net, history, best


@experiment
def run(out_dir, quick=False):
    data = load(quick)
    x, y, x_val, y_val, description = data
    epochs = 25 if quick else 40
    batch_size = 50
    weight_decay = 2e-2
    runs = {v: train_variant(v, data, epochs, batch_size, weight_decay) for v in VARIANTS}

    # early stopping on the baseline: reload the best checkpoint
    net, history, best = runs["baseline"]
    net.load_state_dict({k: ember.tensor(v) for k, v in best["state"].items()})
    stopped = evaluate(net, x_val, y_val, nn.CrossEntropyLoss())

    # ------------------------------------------------------------------ plots
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(17, 4.8))
    ep = np.arange(1, epochs + 1)
    for i, v in enumerate(VARIANTS):
        h = runs[v][1]
        axes[0].plot(ep, h["train_acc"], color=f"C{i}", ls="--", lw=1)
        axes[0].plot(ep, h["val_acc"], color=f"C{i}", label=f"{v}: val acc {h['val_acc'][-1]:.2f}")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("accuracy (dashed: training, solid: validation)")
    axes[0].set_title(description, fontsize=9)
    axes[0].legend(fontsize=8)

    h = history
    axes[1].plot(ep, h["train_loss"], label="baseline, training loss")
    axes[1].plot(ep, h["val_loss"], label="baseline, validation loss")
    axes[1].axvline(best["epoch"], color="g", ls="--",
                    label=f"early stop: epoch {best['epoch']} (val acc {stopped['acc']:.3f})")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("cross-entropy loss")
    axes[1].set_title("overfitting, and the checkpoint early stopping keeps", fontsize=10)
    axes[1].legend(fontsize=8)

    acc_gaps = [runs[v][1]["train_acc"][-1] - runs[v][1]["val_acc"][-1] for v in VARIANTS]
    loss_gaps = [runs[v][1]["val_loss"][-1] - runs[v][1]["train_loss"][-1] for v in VARIANTS]
    pos = np.arange(len(VARIANTS))
    axes[2].bar(pos - 0.2, loss_gaps, 0.4, label="validation − training loss")
    axes[2].bar(pos + 0.2, acc_gaps, 0.4, label="training − validation accuracy")
    axes[2].set_xticks(pos, VARIANTS, fontsize=8)
    axes[2].set_title(f"the generalisation gap after {epochs} epochs", fontsize=10)
    axes[2].legend(fontsize=8)
    plots = [save(fig, out_dir, "regularisation.png")]

    result = {"dataset": description, "epochs": epochs, "weight_decay": weight_decay}
    for v in VARIANTS:
        hv = runs[v][1]
        key = v.replace(" ", "_").lower()
        result[f"{key}_train_acc"] = hv["train_acc"][-1]
        result[f"{key}_val_acc"] = hv["val_acc"][-1]
        result[f"{key}_gap"] = hv["train_acc"][-1] - hv["val_acc"][-1]
        result[f"{key}_loss_gap"] = hv["val_loss"][-1] - hv["train_loss"][-1]
    result.update({
        "early_stop_epoch": best["epoch"], "early_stop_val_loss": stopped["loss"], "early_stop_val_acc": stopped["acc"],
        "final_val_loss": history["val_loss"][-1], "final_val_acc": history["val_acc"][-1], "plots": plots,
    })
    lines = [description + f", {epochs} epochs"]
    for v in VARIANTS:
        key = v.replace(" ", "_").lower()
        lines.append(f"{v:13s} train acc {result[f'{key}_train_acc']:.3f}, val acc {result[f'{key}_val_acc']:.3f}, "
                     f"gap {result[f'{key}_gap']:.3f}, val − train loss {result[f'{key}_loss_gap']:.3f}")
    lines.append(f"early stopping: best validation loss at epoch {best['epoch']} of {epochs} "
                 f"({stopped['loss']:.3f}, acc {stopped['acc']:.3f}) vs the last epoch's "
                 f"{history['val_loss'][-1]:.3f} (acc {history['val_acc'][-1]:.3f})")
    result["conclusion"] = conclude("regularisation", lines)
    return result
