import math

import numpy as np
import pytest

import ember.tune as T


def test_log_uniform_learning_rate_is_even_per_decade():
    study = T.random_search(lambda c: 0.0, {"lr": T.LogUniform(1e-4, 1.0)}, n_trials=400, seed=1)
    decades = np.floor(np.log10([t.user_attrs["lr"] for t in study.trials]))
    counts = np.bincount((decades + 4).astype(int), minlength=4)[:4]
    assert counts.min() > 70, counts  # ~100 per decade; uniform sampling would put ~90% in the top decade


def test_beta_is_sampled_as_one_minus_beta_log_uniform():
    study = T.random_search(lambda c: 0.0, {"m": T.OneMinusLogUniform(0.9, 0.999)}, n_trials=300, seed=2)
    betas = np.array([t.user_attrs["m"] for t in study.trials])
    assert betas.min() >= 0.9 and betas.max() <= 0.999
    assert np.mean(betas > 0.99) == pytest.approx(0.5, abs=0.1)  # half the mass in [0.99, 0.999]


def test_random_search_beats_grid_when_one_dimension_matters():
    # the score depends on lr only; a 3x3 grid tries 3 lr values, random search 9
    def score(c):
        return -abs(math.log10(c["lr"]) + 2.37)

    grid = T.grid_search(score, {"lr": [1e-4, 1e-2, 1.0], "wd": [1e-6, 1e-4, 1e-2]})
    assert len(grid.trials) == 9
    wins = 0
    for seed in range(10):
        rnd = T.random_search(score, {"lr": T.LogUniform(1e-4, 1.0), "wd": T.LogUniform(1e-6, 1e-2)}, 9, seed=seed)
        wins += rnd.best_value > grid.best_value
    assert wins >= 7


def test_coarse_to_fine_zooms_around_the_best_region():
    def score(c):
        return -(math.log10(c["lr"]) + 2) ** 2

    coarse, fine, fine_space = T.coarse_to_fine(score, {"lr": T.LogUniform(1e-5, 1.0)}, 20, 20, seed=0)
    assert fine_space["lr"].low > 1e-5 and fine_space["lr"].high < 1.0
    assert fine_space["lr"].low < 1e-2 < fine_space["lr"].high
    assert fine.best_value >= coarse.best_value - 1e-3


def test_study_persists_in_sqlite_and_resumes(tmp_path):
    db = tmp_path / "s.db"
    T.random_search(lambda c: c["x"], {"x": T.Uniform(0, 1)}, 3, storage=db, study_name="s")
    study = T.random_search(lambda c: c["x"], {"x": T.Uniform(0, 1)}, 2, storage=db, study_name="s", seed=5)
    assert len(study.trials) == 5


def test_bad_ranges_are_clear_errors():
    with pytest.raises(ValueError, match="0 < low < high"):
        T.LogUniform(0, 1)
    with pytest.raises(ValueError, match="< 1"):
        T.OneMinusLogUniform(0.9, 1.0)
    with pytest.raises(ValueError, match="direction"):
        T.random_search(lambda c: 0, {"x": T.Uniform(0, 1)}, 1, direction="up")
