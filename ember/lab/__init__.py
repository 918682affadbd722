"""ember.lab: runnable experiments that show the notes' claims with your own eyes.

Each experiment is one small module in this folder: its docstring states the claim (with the
section of the notes it comes from), its ``run(out_dir, quick=False)`` trains real ember models,
writes PNG plots to ``out_dir``, prints a short conclusion with the measured numbers and returns
them as a dict (plus ``"plots"``, ``"conclusion"`` and ``"seconds"``). Every run is seeded.
``quick=True`` shrinks the experiment to a few seconds (the tests use it); the full version takes
a minute or two on two cores.

    >>> import ember.lab
    >>> list(ember.lab.list_experiments())[:3]
    ['xor', 'universal_approximation', 'activations']
    >>> result = ember.lab.run("xor", "runs/lab/xor")      # doctest: +SKIP
    [xor]
      ...
    >>> result["mlp_acc"], result["linear_acc"] <= 0.75     # doctest: +SKIP
    (1.0, True)

From the shell: ``ember lab list`` and ``ember lab run xor``.
"""
from __future__ import annotations

import importlib
from pathlib import Path

# name -> module in ember.lab; the order is the order of the notes
EXPERIMENTS = (
    "xor",
    "universal_approximation",
    "activations",
    "initialisation",
    "softmax_init_loss",
    "optimizers",
    "learning_rate",
    "batch_size",
    "batchnorm",
    "regularisation",
    "search",
    "start_small",
    "residual_init",
    "ensembles",
)

__all__ = ["EXPERIMENTS", "list_experiments", "run", "get"]


def _check_name(name: str) -> str:
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; valid experiments: {', '.join(EXPERIMENTS)}")
    return name


def get(name: str):
    """The module of experiment ``name`` (its docstring is the claim, ``run`` runs it)."""
    return importlib.import_module(f"ember.lab.{_check_name(name)}")


def list_experiments() -> dict[str, str]:
    """Every experiment's name and the claim it demonstrates (the first line of its docstring)."""
    out = {}
    for name in EXPERIMENTS:
        doc = (get(name).__doc__ or "").strip()
        out[name] = doc.splitlines()[0] if doc else ""
    return out


def run(name: str, out_dir: str | Path, quick: bool = False) -> dict:
    """Run experiment ``name``, writing its plots into ``out_dir``; returns the measured numbers.

    Raises ValueError for an unknown name (the message lists the valid ones).
    """
    return get(name).run(Path(out_dir), quick=quick)
