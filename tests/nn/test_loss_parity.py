"""Losses against torch.nn's: values and gradients (of the input, and of soft targets) within float32
tolerance, for every reduction and option."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import assert_close
from tests.nn.util import randn


def _run(loss_e, loss_t, torch, x, target, target_grad=False, what=""):
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    if isinstance(target, np.ndarray) and target.dtype.kind == "f":
        te, tt = ember.tensor(target, requires_grad=target_grad), torch.tensor(target, requires_grad=target_grad)
    else:
        te, tt = ember.tensor(target), torch.tensor(target)
    le, lt = loss_e(xe, te), loss_t(xt, tt)
    assert_close(le, lt, what=f"{what} loss")
    up = randn(*le.shape, seed=5) if le.ndim else np.float32(1.0)
    le.backward(ember.tensor(up) if le.ndim else None)
    lt.backward(torch.tensor(up) if lt.ndim else None)
    assert_close(xe.grad, xt.grad, what=f"{what} input grad")
    if target_grad:
        assert_close(te.grad, tt.grad, what=f"{what} target grad")


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("opts", [{}, dict(label_smoothing=0.1), dict(weight=True), dict(ignore_index=2),
                                  dict(weight=True, ignore_index=1, label_smoothing=0.2)],
                         ids=lambda o: ",".join(o) or "plain")
def test_cross_entropy_class_indices(torch, reduction, opts):
    w = np.array([0.5, 1.0, 2.0, 1.5, 0.7], np.float32)
    kw = dict(opts)
    if kw.pop("weight", False):
        e_kw, t_kw = dict(kw, weight=ember.tensor(w)), dict(kw, weight=torch.tensor(w))
    else:
        e_kw, t_kw = kw, kw
    x = randn(8, 5) * 2
    y = np.array([0, 1, 2, 3, 4, 2, 1, 0])
    _run(nn.CrossEntropyLoss(reduction=reduction, **e_kw), torch.nn.CrossEntropyLoss(reduction=reduction, **t_kw),
         torch, x, y, what=f"{reduction} {opts}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_spatial(torch, reduction):
    """(N, C, H, W) logits with (N, H, W) targets: per-pixel classification."""
    y = np.random.default_rng(0).integers(0, 4, (2, 3, 5))
    y[0, 0, 0] = -100
    _run(nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.05),
         torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.05), torch, randn(2, 4, 3, 5), y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probability_targets(torch, reduction, smoothing, weighted):
    """Soft labels (mixup): target of the logits' shape; gradients w.r.t. the targets too."""
    t = np.random.default_rng(3).dirichlet(np.ones(4), size=6).astype(np.float32)
    w = np.array([1.0, 2.0, 0.5, 1.0], np.float32)
    ekw = dict(weight=ember.tensor(w)) if weighted else {}
    tkw = dict(weight=torch.tensor(w)) if weighted else {}
    _run(nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing, **ekw),
         torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing, **tkw), torch,
         randn(6, 4), t, target_grad=True)


def test_cross_entropy_unbatched(torch):
    _run(lambda x, y: F.cross_entropy(x, y), torch.nn.functional.cross_entropy, torch, randn(5), np.array(3))


def test_cross_entropy_float64_stays_float64_and_large_logits_are_stable(torch):
    x = np.array([[1000.0, -1000.0, 0.0], [50.0, 51.0, 49.0]], np.float64)
    _run(nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss(), torch, x, np.array([1, 0]))
    assert F.cross_entropy(ember.tensor(x), ember.tensor([1, 0])).dtype == np.float64


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(torch, reduction):
    w = np.array([0.3, 1.0, 2.0], np.float32)
    logp = torch.log_softmax(torch.tensor(randn(7, 3)), 1).numpy()
    y = np.array([0, 1, 2, 2, -100, 1, 0])
    _run(nn.NLLLoss(weight=ember.tensor(w), reduction=reduction),
         torch.nn.NLLLoss(weight=torch.tensor(w), reduction=reduction), torch, logp, y)
    _run(nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction), torch,
         randn(2, 3, 4), np.array([[0, 1, 2, 1], [2, 2, 0, 1]]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {}),
                                     ("SmoothL1Loss", dict(beta=0.5)), ("SmoothL1Loss", dict(beta=0.0)),
                                     ("HuberLoss", dict(delta=0.7))], ids=str)
def test_regression_losses(torch, reduction, name, kw):
    _run(getattr(nn, name)(reduction=reduction, **kw), getattr(torch.nn, name)(reduction=reduction, **kw), torch,
         randn(4, 6), randn(4, 6, seed=1), target_grad=True, what=name)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce(torch, reduction):
    p = 1 / (1 + np.exp(-randn(5, 3) * 2))
    t = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    w = np.array([1.0, 0.5, 2.0], np.float32)
    _run(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), torch, p, t, target_grad=True)
    _run(nn.BCELoss(weight=ember.tensor(w), reduction=reduction),
         torch.nn.BCELoss(weight=torch.tensor(w), reduction=reduction), torch, p, t)


def test_bce_at_exact_zero_and_one_is_finite(torch):
    p = np.array([0.0, 1.0, 0.5, 1.0], np.float32)
    t = np.array([1.0, 0.0, 1.0, 1.0], np.float32)
    _run(nn.BCELoss(), torch.nn.BCELoss(), torch, p, t)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("weight", [False, True])
def test_bce_with_logits(torch, reduction, pos_weight, weight):
    x = randn(6, 3) * 10  # large scores: the stable form matters
    t = (np.random.default_rng(1).random((6, 3)) > 0.5).astype(np.float32)
    pw, w = np.array([3.0, 0.5, 1.0], np.float32), np.array([0.2, 1.0, 2.0], np.float32)
    ekw, tkw = {}, {}
    if pos_weight:
        ekw["pos_weight"], tkw["pos_weight"] = ember.tensor(pw), torch.tensor(pw)
    if weight:
        ekw["weight"], tkw["weight"] = ember.tensor(w), torch.tensor(w)
    _run(nn.BCEWithLogitsLoss(reduction=reduction, **ekw), torch.nn.BCEWithLogitsLoss(reduction=reduction, **tkw),
         torch, x, t, target_grad=True)


def test_bce_with_logits_extreme_scores_finite():
    x = ember.tensor([[1e4, -1e4]], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, ember.tensor([[0.0, 1.0]]))
    loss.backward()
    assert np.isfinite(loss.item()) and loss.item() == pytest.approx(1e4, rel=1e-6)
    assert np.all(np.isfinite(x.grad.array))


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(torch, reduction, log_target):
    logq = torch.log_softmax(torch.tensor(randn(4, 5)), 1).numpy()
    p = np.random.default_rng(2).dirichlet(np.ones(5), size=4).astype(np.float32)
    p[0, 1] = 0.0  # a zero-probability class contributes 0
    t = np.log(p + 1e-12).astype(np.float32) if log_target else p
    _run(nn.KLDivLoss(reduction=reduction, log_target=log_target),
         torch.nn.KLDivLoss(reduction=reduction, log_target=log_target), torch, logq, t)


def test_cross_entropy_equals_kl_plus_entropy():
    """NOTES §3: H(p, q) = KL(p‖q) + H(p); with one-hot p, H(p) = 0 and CE = KL."""
    x = ember.tensor(randn(5, 4))
    p = np.random.default_rng(0).dirichlet(np.ones(4), size=5).astype(np.float32)
    ce = F.cross_entropy(x, ember.tensor(p), reduction="sum").item()
    kl = F.kl_div(F.log_softmax(x, 1), ember.tensor(p), reduction="sum").item()
    entropy = float(-(p * np.log(p)).sum())
    assert ce == pytest.approx(kl + entropy, rel=1e-5)
    onehot = np.eye(4, dtype=np.float32)[[0, 3, 1, 2, 2]]
    ce1 = F.cross_entropy(x, ember.tensor(onehot), reduction="sum").item()
    kl1 = F.kl_div(F.log_softmax(x, 1), ember.tensor(onehot), reduction="sum").item()
    assert ce1 == pytest.approx(kl1, rel=1e-5)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kw", [{}, dict(p=2), dict(margin=0.5), dict(weight=True)], ids=str)
def test_multi_margin(torch, reduction, kw):
    w = np.array([1.0, 2.0, 0.5, 1.5], np.float32)
    kw = dict(kw)
    ekw, tkw = dict(kw), dict(kw)
    if kw.get("weight"):
        ekw["weight"], tkw["weight"] = ember.tensor(w), torch.tensor(w)
    _run(nn.MultiMarginLoss(reduction=reduction, **ekw), torch.nn.MultiMarginLoss(reduction=reduction, **tkw),
         torch, randn(6, 4), np.array([0, 1, 2, 3, 1, 0]))


def test_hinge_is_multi_margin_with_margin_one(torch):
    _run(nn.HingeLoss(), torch.nn.MultiMarginLoss(margin=1.0), torch, randn(6, 4), np.array([0, 1, 2, 3, 1, 0]))


def test_uniform_logits_start_at_ln_c():
    """NOTES §3: a correctly initialised C-class softmax starts near ln C."""
    for c in (2, 10, 100):
        loss = F.cross_entropy(ember.zeros(16, c), ember.tensor(np.arange(16) % c))
        assert loss.item() == pytest.approx(np.log(c), rel=1e-6)
