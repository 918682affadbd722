"""Hyperparameter search on Optuna (NOTES §9).

* ``random_search`` — random search beats grid search: with the same budget it
  tries many more values of the few hyperparameters that matter.
* ``grid_search`` — for comparison (and for one- or two-dimensional sweeps).
* ``coarse_to_fine`` — search coarse, then zoom into the region of the best trials.
* "Caviar" is ``n_jobs > 1``: many models trained in parallel, keep the best.
  "Panda" is babysitting one run: resume it with a changed learning rate
  (``ember train --resume`` with ``--lr``), not a search.

Studies live in Optuna storage (an SQLite file by default) so a search can be
stopped, resumed and inspected later.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Callable

from ember.tune.space import suggest_all


def _optuna():
    try:
        import optuna
    except ImportError as e:  # pragma: no cover
        raise ImportError("ember.tune needs Optuna: pip install optuna") from e
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def _storage(storage: str | Path | None):
    if storage is None:
        return None
    s = str(storage)
    if "://" in s:
        return s
    Path(s).parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(s).resolve()}"


def _run(objective: Callable[[dict], float], space: dict, sampler, n_trials: int, direction: str,
         storage, study_name: str | None, n_jobs: int, pruner=None):
    optuna = _optuna()
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction must be 'maximize' or 'minimize', got {direction!r}")
    study = optuna.create_study(direction=direction, sampler=sampler, storage=_storage(storage),
                                study_name=study_name, load_if_exists=study_name is not None, pruner=pruner)

    def wrapped(trial):
        config = suggest_all(trial, space)
        for k, v in config.items():
            trial.set_user_attr(k, v)
        return objective(config) if not _wants_trial(objective) else objective(config, trial)

    study.optimize(wrapped, n_trials=n_trials, n_jobs=n_jobs)
    return study


def _wants_trial(fn) -> bool:
    import inspect

    try:
        return len(inspect.signature(fn).parameters) >= 2
    except (TypeError, ValueError):
        return False


def random_search(objective: Callable, space: dict, n_trials: int = 20, seed: int = 0, direction: str = "maximize",
                  storage=None, study_name: str | None = None, n_jobs: int = 1, pruner=None):
    """Sample ``n_trials`` configurations independently from ``space``; ``objective(config[, trial])`` returns
    the score (e.g. validation accuracy). Returns the Optuna study (``study.best_trial.user_attrs`` holds the
    configuration in its natural units)."""
    optuna = _optuna()
    return _run(objective, space, optuna.samplers.RandomSampler(seed=seed), n_trials, direction, storage,
                study_name, n_jobs, pruner)


def tpe_search(objective: Callable, space: dict, n_trials: int = 20, seed: int = 0, direction: str = "maximize",
               storage=None, study_name: str | None = None, n_jobs: int = 1, pruner=None):
    """Like random search, but later trials concentrate where earlier ones scored well (Optuna's TPE)."""
    optuna = _optuna()
    return _run(objective, space, optuna.samplers.TPESampler(seed=seed), n_trials, direction, storage,
                study_name, n_jobs, pruner)


def grid_search(objective: Callable, grid: dict, direction: str = "maximize", storage=None,
                study_name: str | None = None, n_jobs: int = 1):
    """Every combination of the listed values (``grid``: name → list)."""
    optuna = _optuna()
    from ember.tune.space import Choice

    space = {k: Choice(v) for k, v in grid.items()}
    n = 1
    for v in grid.values():
        n *= len(v)
    sampler = optuna.samplers.GridSampler({k: list(v) for k, v in grid.items()})
    return _run(objective, space, sampler, n, direction, storage, study_name, n_jobs)


def best_config(study) -> dict:
    """The best trial's configuration in natural units (β, not 1 − β)."""
    return dict(study.best_trial.user_attrs)


def top_configs(study, k: int) -> list[dict]:
    trials = [t for t in study.trials if t.value is not None]
    trials.sort(key=lambda t: t.value, reverse=study.direction.name == "MAXIMIZE")
    return [dict(t.user_attrs) for t in trials[:k]]


def zoom(space: dict, configs: list[dict]) -> dict:
    """A finer space: each searched dimension narrowed to the region the given (good) configs occupy."""
    if not configs:
        raise ValueError("zoom needs at least one configuration")
    out = {}
    for k, d in space.items():
        if hasattr(d, "around"):
            out[k] = d.around([c[k] for c in configs])
        else:
            out[k] = d
    return out


def coarse_to_fine(objective: Callable, space: dict, coarse_trials: int = 20, fine_trials: int = 20,
                   top_frac: float = 0.25, seed: int = 0, direction: str = "maximize", storage=None,
                   study_name: str | None = None):
    """Random search over ``space``, then again over the region of its best ``top_frac`` trials.
    Returns (coarse_study, fine_study, fine_space)."""
    coarse = random_search(objective, space, coarse_trials, seed, direction, storage,
                           f"{study_name}-coarse" if study_name else None)
    k = max(1, int(round(coarse_trials * top_frac)))
    fine_space = zoom(space, top_configs(coarse, k))
    fine = random_search(objective, fine_space, fine_trials, seed + 1, direction, storage,
                         f"{study_name}-fine" if study_name else None)
    return coarse, fine, fine_space


def grid_points(grid: dict):
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        yield dict(zip(keys, values))
