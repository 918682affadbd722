"""Random search beats grid search on the same budget when few hyperparameters matter; then zoom in (NOTES §9).

The objective is real: the validation accuracy of an MLP trained for a short budget with plain SGD
on 3-class spirals, as a function of three hyperparameters — the learning rate (log-uniform
1e-4 … 10), which matters a great deal (the best rates sit in a narrow band just below the ones
that blow up), the weight decay (log-uniform 1e-6 … 1e-3) and the initial bias of the hidden
units (0 … 0.01, the notes' tip for ReLU), which at these values hardly matter.

* **Grid search** with k values per hyperparameter spends k³ trials but tries only k learning
  rates; every other trial repeats a rate with irrelevant changes. The grid is evenly spaced (on
  the log scale where the range is log-uniform); where it starts is drawn per seed (a grid lands
  wherever its author happens to put it).
* **Random search** with the same k³ trials tries k³ different learning rates.

Repeated over several seeds (both methods share the seed's network initialisation), random search
finds an equal or better model in most of them. Then :func:`ember.tune.coarse_to_fine` runs a
coarse random search over the full space and a second one inside the region spanned by its best
quarter of trials.
"""
from __future__ import annotations

import math

import numpy as np

import ember
from ember import nn, tune
from ember.data import make_spirals
from ember.lab._common import conclude, evaluate, experiment, fit, plt, save, seed_everything, standardize

LR_RANGE, WD_RANGE, BIAS_RANGE = (1e-4, 10.0), (1e-6, 1e-3), (0.0, 0.01)
SPACE = {"lr": tune.LogUniform(*LR_RANGE), "weight_decay": tune.LogUniform(*WD_RANGE),
         "bias_init": tune.Uniform(*BIAS_RANGE)}


class Objective:
    """Validation accuracy of a small MLP (hidden biases starting at bias_init) trained on spirals with
    SGD(lr, weight_decay)."""

    def __init__(self, steps: int, init_seed: int = 0):
        x, y = make_spirals(600, n_classes=3, noise=0.2, seed=0).arrays()
        self.x, self.x_val = standardize(x[:300], x[300:])
        self.y, self.y_val = y[:300], y[300:]
        self.steps, self.init_seed = steps, init_seed
        self.calls = 0

    def __call__(self, config: dict) -> float:
        self.calls += 1
        rng = seed_everything(self.init_seed)
        net = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3))
        for layer in (net[0], net[2]):
            nn.init.constant_(layer.bias, config["bias_init"])
        optimizer = ember.optim.SGD(net.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
        fit(net, optimizer, nn.CrossEntropyLoss(), self.x, self.y, self.steps, batch_size=64, rng=rng)
        acc = evaluate(net, self.x_val, self.y_val)["acc"]
        return acc if math.isfinite(acc) else 0.0


def log_grid(low: float, high: float, k: int, rng: np.random.Generator) -> list[float]:
    """k values evenly spaced on the log scale inside [low, high], the whole grid shifted by a random
    fraction of one spacing."""
    a, b = math.log10(low), math.log10(high)
    step = (b - a) / k
    offset = rng.uniform(0, step)
    return [float(10 ** (a + offset + i * step)) for i in range(k)]


def linear_grid(low: float, high: float, k: int, rng: np.random.Generator) -> list[float]:
    """k evenly spaced values inside [low, high], shifted by a random fraction of one spacing."""
    step = (high - low) / k
    offset = rng.uniform(0, step)
    return [float(low + offset + i * step) for i in range(k)]


def trials_of(study) -> list[tuple[float, float, float]]:
    return [(t.user_attrs["lr"], t.user_attrs["weight_decay"], t.value) for t in study.trials if t.value is not None]


@experiment
def run(out_dir, quick=False):
    k = 3
    seeds = list(range(3)) if quick else list(range(12))
    steps = 100
    budget = k ** len(SPACE)

    per_seed = []
    for seed in seeds:
        objective = Objective(steps, init_seed=seed)
        rng = np.random.default_rng(100 + seed)
        grid = {"lr": log_grid(*LR_RANGE, k, rng), "weight_decay": log_grid(*WD_RANGE, k, rng),
                "bias_init": linear_grid(*BIAS_RANGE, k, rng)}
        grid_study = tune.grid_search(objective, grid)
        random_study = tune.random_search(objective, SPACE, n_trials=budget, seed=seed)
        per_seed.append({"seed": seed, "grid": trials_of(grid_study), "random": trials_of(random_study),
                         "grid_best": grid_study.best_value, "random_best": random_study.best_value})

    objective = Objective(steps, init_seed=0)
    coarse_n, fine_n = (10, 10) if quick else (20, 20)
    coarse, fine, fine_space = tune.coarse_to_fine(objective, SPACE, coarse_trials=coarse_n, fine_trials=fine_n,
                                                   top_frac=0.25, seed=7)

    # ------------------------------------------------------------------ plots
    pyplot = plt()
    fig, axes = pyplot.subplots(1, 3, figsize=(17, 4.8))
    first = per_seed[0]
    ax = axes[0]
    for name, marker in (("grid", "s"), ("random", "o")):
        pts = np.array(first[name])
        sc = ax.scatter(pts[:, 0], pts[:, 1], c=pts[:, 2], marker=marker, s=60, cmap="viridis", vmin=0.3, vmax=1.0,
                        edgecolors="k", linewidths=0.5, label=f"{name} ({len(pts)} trials)")
    fig.colorbar(sc, ax=ax, label="validation accuracy")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate (matters)")
    ax.set_ylabel("weight decay (hardly matters)")
    ax.set_title(f"seed {first['seed']}: the grid tries {k} learning rates, random search {budget}\n"
                 f"(bias init not shown)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[1]
    for name, marker in (("grid", "s"), ("random", "o")):
        pts = np.array(first[name])
        ax.scatter(pts[:, 0], pts[:, 2], marker=marker, s=40, alpha=0.7,
                   label=f"{name}: best {first[f'{name}_best']:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("validation accuracy")
    ax.set_title("the same trials against the learning rate alone", fontsize=10)
    ax.legend(fontsize=8)

    ax = axes[2]
    c, f = np.array(trials_of(coarse)), np.array(trials_of(fine))
    ax.scatter(c[:, 0], c[:, 2], color="gray", label=f"coarse ({len(c)}): best {coarse.best_value:.3f}")
    ax.scatter(f[:, 0], f[:, 2], color="C3", label=f"fine ({len(f)}): best {fine.best_value:.3f}")
    ax.axvspan(fine_space["lr"].low, fine_space["lr"].high, color="C3", alpha=0.1,
               label=f"zoomed lr range {fine_space['lr'].low:.1e} … {fine_space['lr'].high:.1e}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("validation accuracy")
    ax.set_title("coarse-to-fine: search wide, then zoom into the best region", fontsize=10)
    ax.legend(fontsize=8)
    plots = [save(fig, out_dir, "search.png")]

    wins = sum(s["random_best"] >= s["grid_best"] for s in per_seed)
    fine_vals = f[:, 2]
    result = {
        "budget": budget, "seeds": seeds,
        "grid_best": [s["grid_best"] for s in per_seed], "random_best": [s["random_best"] for s in per_seed],
        "random_wins": wins,
        "distinct_lrs_grid": len({round(t[0], 12) for t in per_seed[0]["grid"]}),
        "distinct_lrs_random": len({round(t[0], 12) for t in per_seed[0]["random"]}),
        "coarse_best": coarse.best_value, "fine_best": fine.best_value,
        "coarse_mean": float(np.mean(c[:, 2])), "fine_mean": float(np.mean(fine_vals)),
        "fine_lr_range": [fine_space["lr"].low, fine_space["lr"].high],
        "plots": plots,
    }
    lines = [
        f"budget {budget} trials each; best validation accuracy per seed, grid vs random: "
        + ", ".join(f"{g:.3f}/{r:.3f}" for g, r in zip(result["grid_best"], result["random_best"])),
        f"random search equal or better in {wins} of {len(seeds)} seeds (it tried {result['distinct_lrs_random']} "
        f"learning rates, the grid {result['distinct_lrs_grid']})",
        f"coarse-to-fine: coarse best {coarse.best_value:.3f} (mean {result['coarse_mean']:.3f}), zoomed into lr "
        f"{fine_space['lr'].low:.1e} … {fine_space['lr'].high:.1e}, fine best {fine.best_value:.3f} "
        f"(mean {result['fine_mean']:.3f})",
    ]
    result["conclusion"] = conclude("search", lines)
    return result
