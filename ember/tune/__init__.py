"""Hyperparameter search (NOTES §9) on Optuna: spaces on the right scale, random/grid/TPE, coarse-to-fine."""
from ember.tune.search import (  # noqa: F401
    best_config, coarse_to_fine, grid_search, random_search, top_configs, tpe_search, zoom,
)
from ember.tune.space import Choice, IntRange, LogUniform, OneMinusLogUniform, Uniform, default_space  # noqa: F401
