"""Every lab experiment, quick: it runs, writes real PNGs, and its measured numbers show the notes' claim.

The thresholds are the claims; a regression in ember (autograd, a layer, an initialiser, an
optimizer) or in an experiment shows up here as a claim that no longer holds.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from tests.lab.pngcheck import assert_png


def check_plots(result: dict, count: int = 1) -> None:
    assert len(result["plots"]) >= count
    for path in result["plots"]:
        assert_png(path)
    assert result["conclusion"].strip(), "the experiment printed no conclusion"


def test_xor_mlp_solves_it_linear_cannot(lab_result):
    r = lab_result("xor")
    check_plots(r)
    assert r["mlp_acc"] == 1.0 and r["mlp_truth_table_acc"] == 1.0
    assert r["linear_acc"] <= 0.75 and r["linear_truth_table_acc"] <= 0.75
    assert r["no_activation_acc"] <= 0.75 and r["no_activation_truth_table_acc"] <= 0.75
    assert r["collapse_error"] < 1e-4  # two Linear layers without activation are one affine map


def test_xor_is_seeded(lab_result, tmp_path):
    import ember.lab

    again = ember.lab.run("xor", tmp_path, quick=True)
    first = lab_result("xor")
    for key in ("mlp_acc", "linear_acc", "no_activation_acc", "collapse_error"):
        assert again[key] == first[key]


def test_universal_approximation_error_falls_with_width(lab_result):
    r = lab_result("universal_approximation")
    check_plots(r)
    for activation in ("tanh", "sigmoid"):
        mse = r[f"mse_{activation}"]
        assert all(a > b for a, b in zip(mse, mse[1:])), f"{activation}: {mse} does not fall with width"
        assert mse[-1] < mse[0] / 20


def test_activations_sigmoid_gradient_vanishes_and_large_lr_kills_relus(lab_result):
    r = lab_result("activations")
    check_plots(r)
    first = r["grad_first_layer"]
    assert first["sigmoid"] < 1e-3 * first["relu"]
    assert r["grad_first_to_last"]["sigmoid"] < 1e-3
    for a in ("tanh", "relu", "leaky_relu", "elu", "selu"):
        assert r["grad_first_to_last"][a] > 1e-2, a
    assert r["accuracy"]["sigmoid"] < 0.5  # flat: the deep sigmoid net does not learn
    for a in ("tanh", "relu", "leaky_relu", "elu", "selu"):
        assert r["accuracy"][a] >= 0.9, a
    assert r["dead_relu_frac_large_lr"] > 0.5
    assert r["dead_relu_frac_large_lr"] > 3 * r["dead_relu_frac_small_lr"]
    assert abs(r["relu_large_lr_final_loss"] - math.log(3)) < 0.05  # "training error flat": stuck at ln 3
    assert r["relu_small_lr_acc"] >= 0.9
    assert r["leaky_large_lr_acc"] > r["relu_large_lr_acc"] + 0.2


def test_initialisation_schemes(lab_result):
    r = lab_result("initialisation")
    check_plots(r, 2)
    ratio = r["std_last_over_first"]
    assert r["act_std"]["zeros (tanh)"] == [0.0] * r["depth"]
    assert ratio["N(0, 0.01) (tanh)"] < 1e-4  # shrinks to zero
    assert ratio["Xavier (tanh)"] > 0.2  # kept in range
    assert ratio["Xavier (ReLU)"] < 0.1  # ReLU halves the variance per layer...
    assert 0.5 < ratio["He (ReLU)"] < 2.0  # ...He's factor 2 makes up for it
    sweep = r["sweep_saturated"]["N(0, 0.05) (tanh)"]
    assert all(a <= b for a, b in zip(sweep, sweep[1:])) and sweep[-1] > 0.3
    assert max(r["sweep_saturated"]["Xavier (tanh)"]) < 0.02
    # all zeros: every unit of a layer identical after training, nothing learnt; constant: still copies
    assert r["unit_spread"]["zeros (tanh)"] < 1e-6
    assert r["unit_spread"]["constant 0.1 (tanh)"] < 1e-5
    assert r["unit_spread"]["Xavier (tanh)"] > 0.1
    assert r["accuracy"]["zeros (tanh)"] < 0.4
    assert r["accuracy"]["N(0, 0.01) (tanh)"] < 0.4
    assert r["accuracy"]["Xavier (tanh)"] >= 0.9 and r["accuracy"]["He (ReLU)"] >= 0.9


def test_softmax_initial_loss_is_ln_c(lab_result):
    r = lab_result("softmax_init_loss")
    check_plots(r)
    assert r["max_relative_error_small"] < 0.1
    for kind in ("linear", "mlp"):
        for value, ln_c in zip(r["initial_loss"][f"{kind}_large"], r["ln_c"]):
            assert value > 2 * ln_c
    assert r["final_val_loss_10_classes"]["large"] > r["final_val_loss_10_classes"]["small"]


def test_optimizers(lab_result):
    r = lab_result("optimizers")
    check_plots(r)
    d = r["ravine_distance"]
    for name in ("SGD+momentum", "AdaGrad", "RMSProp", "Adam"):
        assert d[name] < 0.7 * d["SGD"], (name, d)
    for name, loss in r["best_final_loss"].items():
        assert loss < 0.3 * math.log(3), (name, loss)
    assert r["final_loss_by_lr"]["SGD"][0.001] > 0.5  # plain SGD at a small rate crawls


def test_learning_rate_regimes_and_range_test(lab_result):
    r = lab_result("learning_rate")
    check_plots(r, 2)
    f = r["final_loss"]
    assert f["too small"] > 5 * f["good"]  # crawls
    assert f["too big"] >= r["initial_loss"]  # diverges (inf counts)
    assert f["big"] > 3 * f["good"] and r["rising_fraction"]["big"] > r["rising_fraction"]["good"]  # oscillates
    p = r["parabola_final_abs_w"]
    assert p["ε = 2.1/L (diverges)"] > 1 and p["ε = 1.8/L (oscillates)"] < 0.1 and p["ε = 0.1/L (crawls)"] > 0.05
    flips = r["parabola_sign_flips"]
    assert flips["ε = 1.8/L (oscillates)"] == 20 and flips["ε = 0.1/L (crawls)"] == 0
    # the range test finds the edge between the rates that train and the one that blows up
    assert r["range_test_diverged_at"] is not None
    assert r["rates"]["good"] < r["range_test_diverged_at"] < 2 * r["rates"]["too big"]
    assert r["rates"]["too small"] < r["range_test_suggested_lr"] < r["rates"]["big"]
    assert r["suggested_final_loss"] < f["too small"]


def test_batch_size_noise(lab_result):
    r = lab_result("batch_size")
    check_plots(r)
    noise = r["gradient_noise"]
    assert noise[8] > noise[32] > noise[128]
    assert r["noise_ratio_8_vs_128"] > 8
    assert r["loss_jitter"][8] > 2 * r["loss_jitter"][128]


def test_batchnorm_converges_faster_and_takes_larger_rates(lab_result):
    r = lab_result("batchnorm")
    check_plots(r)
    assert r["early_loss_bn"] < 0.7 * r["early_loss_plain"]
    assert r["largest_usable_lr_bn"] >= 10 * r["largest_usable_lr_plain"]
    assert 3.0 in r["diverged_plain"] and not r["diverged_bn"]
    assert r["default_init_acc_plain"] < 0.4 and r["default_init_acc_bn"] > 0.9


def test_regularisation_shrinks_the_gap_and_early_stopping_picks_the_best_epoch(lab_result):
    r = lab_result("regularisation")
    check_plots(r)
    assert r["baseline_train_acc"] >= 0.99  # first make it overfit
    for v in ("l2", "dropout", "augmentation"):
        assert r[f"{v}_loss_gap"] < 0.8 * r["baseline_loss_gap"], v
    assert r["augmentation_gap"] < 0.5 * r["baseline_gap"]
    assert r["early_stop_epoch"] < r["epochs"]
    assert r["early_stop_val_loss"] < 0.9 * r["final_val_loss"]


def test_random_search_beats_grid_search(lab_result):
    r = lab_result("search")
    check_plots(r)
    assert r["distinct_lrs_random"] == r["budget"] and r["distinct_lrs_grid"] == round(r["budget"] ** (1 / 3))
    assert r["random_wins"] >= 2, (r["grid_best"], r["random_best"])
    assert r["fine_mean"] > r["coarse_mean"]  # zooming in spends the trials where the good models are
    assert r["fine_best"] >= r["coarse_best"] - 0.02


def test_start_small(lab_result):
    r = lab_result("start_small")
    check_plots(r)
    assert r["softmax_tiny_acc"] == 1.0 and r["softmax_tiny_loss"] < 0.05
    for depth, acc in r["tiny_acc_by_depth"].items():
        assert acc == 1.0 and r["tiny_loss_by_depth"][depth] < 0.05, depth
    assert abs(r["two_class_first_loss"] - math.log(2)) < 0.05 * math.log(2)
    assert abs(r["ten_class_first_loss"] - math.log(10)) < 0.05 * math.log(10)
    assert r["two_class_val_acc"] > 0.8


def test_residual_zero_init_keeps_the_variance(lab_result):
    r = lab_result("residual_init")
    check_plots(r)
    g = r["mlp_std_growth"]
    assert g["skip, last layer zero"] == pytest.approx(1.0, abs=1e-6)
    assert g["skip, last layer He"] > 100
    rg = r["resnet20_std_growth"]
    assert rg["zero_init_residual=True"] == pytest.approx(1.0, abs=1e-6) and rg["zero_init_residual=False"] > 1.3
    assert r["accuracy"]["skip, last layer zero"] >= 0.9
    assert r["final_loss"]["skip, last layer He"] > 10 * r["final_loss"]["skip, last layer zero"]


def test_ensemble_beats_its_average_member(lab_result):
    r = lab_result("ensembles")
    check_plots(r)
    assert r["ensemble_acc"][-1] > r["mean_member_acc"]
    assert r["ensemble_nll"][-1] < float(np.mean(r["member_nll"]))
