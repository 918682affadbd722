"""The ranking, embedding, soft-margin, multi-label and likelihood losses: parity with torch.nn (values and
gradients, every reduction, float32 tolerance), float64 finite-difference checks, and the argument errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.diagnose.gradcheck import gradcheck
from tests.helpers import assert_close
from tests.nn.util import randn

REDUCTIONS = ["mean", "sum", "none"]


def _parity(torch, e_loss, t_loss, arrays, grads=(0,), what=""):
    """Call both losses on the same arrays (those at ``grads`` require grad), compare the values, backpropagate
    one fixed upstream gradient and compare the gradients of every input that requires grad."""
    es = [ember.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    ts = [torch.tensor(a, requires_grad=i in grads) for i, a in enumerate(arrays)]
    le, lt = e_loss(*es), t_loss(*ts)
    assert_close(le, lt, what=f"{what} loss")
    up = randn(*le.shape, seed=5) if le.ndim else np.float32(1.0)
    le.backward(ember.tensor(up) if le.ndim else None)
    lt.backward(torch.tensor(up) if lt.ndim else None)
    for i in grads:
        assert es[i].grad is not None, f"{what}: no gradient reached input {i}"
        assert_close(es[i].grad, ts[i].grad, what=f"{what} grad of input {i}")
    return le


def _f64(a, requires_grad=True):
    return ember.tensor(np.asarray(a, np.float64), requires_grad=requires_grad)


def _signs(*shape, seed=1):
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


# ----------------------------------------------------------------------------- margin ranking


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.5])
def test_margin_ranking_parity(torch, reduction, margin):
    arrays = [randn(7), randn(7, seed=1), _signs(7)]
    _parity(torch, nn.MarginRankingLoss(margin, reduction), torch.nn.MarginRankingLoss(margin, reduction=reduction),
            arrays, grads=(0, 1), what=f"margin_ranking {reduction} {margin}")
    _parity(torch, lambda a, b, y: F.margin_ranking_loss(a, b, y, margin=margin, reduction=reduction),
            lambda a, b, y: torch.nn.functional.margin_ranking_loss(a, b, y, margin=margin, reduction=reduction),
            [randn(3, 4), randn(3, 4, seed=2), _signs(3, 4)], grads=(0, 1), what="2-D")


def test_margin_ranking_values_and_errors():
    x1, x2 = ember.tensor([3.0, 0.0]), ember.tensor([1.0, 0.5])
    y = ember.tensor([1.0, 1.0])
    # max(0, -(3-1) + 1) = 0 and max(0, -(0-0.5) + 1) = 1.5
    assert_close(F.margin_ranking_loss(x1, x2, y, margin=1.0, reduction="none"), [0.0, 1.5])
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.margin_ranking_loss(x1, x2, ember.tensor([[1.0, 1.0]]))
    with pytest.raises(ValueError, match="reduction"):
        F.margin_ranking_loss(x1, x2, y, reduction="avg")


def test_margin_ranking_gradcheck():
    gradcheck(lambda a, b: F.margin_ranking_loss(a, b, ember.tensor(_signs(3, 4).astype(np.float64)), 0.3),
              _f64(randn(3, 4)), _f64(randn(3, 4, seed=1)))


# ----------------------------------------------------------------------------- hinge embedding


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 2.0])
def test_hinge_embedding_parity(torch, reduction, margin):
    x = np.abs(randn(5, 4)) * 1.5
    _parity(torch, nn.HingeEmbeddingLoss(margin, reduction),
            torch.nn.HingeEmbeddingLoss(margin, reduction=reduction), [x, _signs(5, 4)],
            what=f"hinge_embedding {reduction} {margin}")


def test_hinge_embedding_odd_targets_match_torch(torch):
    """A target that is neither 1 nor -1 gets both terms, as in PyTorch."""
    x, y = np.array([0.2, 0.5, 3.0], np.float32), np.array([0.0, 1.0, -1.0], np.float32)
    le = _parity(torch, lambda a, t: F.hinge_embedding_loss(a, t, reduction="none"),
                 lambda a, t: torch.nn.functional.hinge_embedding_loss(a, t, reduction="none"), [x, y])
    assert_close(le, [0.2 + 0.8, 0.5, 0.0])


def test_hinge_embedding_gradcheck():
    gradcheck(lambda x: F.hinge_embedding_loss(x, ember.tensor(_signs(4, 3).astype(np.float64)), 1.5),
              _f64(randn(4, 3)))


# ----------------------------------------------------------------------------- soft margins


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_parity(torch, reduction):
    _parity(torch, nn.SoftMarginLoss(reduction=reduction), torch.nn.SoftMarginLoss(reduction=reduction),
            [randn(6, 3) * 3, _signs(6, 3)], what=f"soft_margin {reduction}")


def test_soft_margin_large_margins_stay_finite():
    x = ember.tensor([200.0, -200.0], requires_grad=True)
    loss = F.soft_margin_loss(x, ember.tensor([-1.0, 1.0]), reduction="none")
    assert_close(loss, [200.0, 200.0])
    loss.sum().backward()
    assert_close(x.grad, [1.0, -1.0])


def test_soft_margin_gradcheck():
    gradcheck(lambda x: F.soft_margin_loss(x, ember.tensor(_signs(3, 5).astype(np.float64))), _f64(randn(3, 5)))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(5, 4), (4,)], ids=["batched", "unbatched"])
def test_multilabel_soft_margin_parity(torch, reduction, weighted, shape):
    w = np.array([0.5, 2.0, 1.0, 0.1], np.float32)
    y = (np.random.default_rng(2).random(shape) < 0.4).astype(np.float32)
    e = nn.MultiLabelSoftMarginLoss(ember.tensor(w) if weighted else None, reduction)
    t = torch.nn.MultiLabelSoftMarginLoss(torch.tensor(w) if weighted else None, reduction=reduction)
    _parity(torch, e, t, [randn(*shape) * 2, y], what=f"multilabel_soft_margin {reduction} {weighted} {shape}")


def test_multilabel_soft_margin_soft_targets_parity(torch):
    """Targets in (0, 1) and their gradients (the loss is linear in them)."""
    y = np.random.default_rng(4).random((3, 5)).astype(np.float32)
    _parity(torch, F.multilabel_soft_margin_loss, torch.nn.functional.multilabel_soft_margin_loss,
            [randn(3, 5), y], grads=(0, 1))


def test_multilabel_soft_margin_weight_is_a_buffer():
    m = nn.MultiLabelSoftMarginLoss([1.0, 2.0, 3.0])
    assert list(m.state_dict()) == ["weight"] and m.weight.shape == (3,)
    with pytest.raises(ValueError, match="1-D"):
        nn.MultiLabelSoftMarginLoss([[1.0, 2.0]])


def test_multilabel_soft_margin_gradcheck():
    y = ember.tensor((np.random.default_rng(2).random((3, 4)) < 0.5).astype(np.float64))
    w = ember.tensor(np.array([0.5, 1.0, 2.0, 1.5]))
    gradcheck(lambda x: F.multilabel_soft_margin_loss(x, y, weight=w, reduction="sum"), _f64(randn(3, 4)))


# ----------------------------------------------------------------------------- multi-label margin


MULTILABEL_TARGETS = np.array([[3, 0, -1, 1, 2], [1, -1, 0, 0, 0], [0, 1, 2, 3, 4], [-1, 2, 2, 2, 2],
                               [4, 4, -1, 0, 0]])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_parity(torch, reduction):
    """Rows with two targets, one, every class, none (a leading -1) and a repeated index."""
    _parity(torch, nn.MultiLabelMarginLoss(reduction=reduction), torch.nn.MultiLabelMarginLoss(reduction=reduction),
            [randn(5, 5), MULTILABEL_TARGETS], what=f"multilabel_margin {reduction}")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_unbatched_parity(torch, reduction):
    le = _parity(torch, lambda x, y: F.multilabel_margin_loss(x, y, reduction=reduction),
                 lambda x, y: torch.nn.functional.multilabel_margin_loss(x, y, reduction=reduction),
                 [randn(4), np.array([2, 0, -1, 3])])
    assert le.ndim == 0


def test_multilabel_margin_hand_value():
    # targets {0}, classes 1, 2 negative: (max(0, 1 - (1 - 0.5)) + max(0, 1 - (1 - 2))) / 3 = (0.5 + 2) / 3
    loss = F.multilabel_margin_loss(ember.tensor([[1.0, 0.5, 2.0]]), ember.tensor([[0, -1, 1]]), reduction="none")
    assert_close(loss, [2.5 / 3])


def test_multilabel_margin_errors():
    x = ember.tensor(randn(2, 3))
    with pytest.raises(IndexError, match="0..2"):
        F.multilabel_margin_loss(x, ember.tensor([[0, 3, -1], [0, -1, 0]]))
    with pytest.raises(IndexError):
        F.multilabel_margin_loss(x, ember.tensor([[0, -2, -1], [0, -1, 0]]))
    with pytest.raises(ValueError, match="shape"):
        F.multilabel_margin_loss(x, ember.tensor([0, 1, -1]))
    with pytest.raises(TypeError, match="integer"):
        F.multilabel_margin_loss(x, ember.tensor([[0.0, 1.0, -1.0], [0.0, -1.0, 0.0]]))


def test_multilabel_margin_gradcheck():
    gradcheck(lambda x: F.multilabel_margin_loss(x, ember.tensor(MULTILABEL_TARGETS)), _f64(randn(5, 5)))


# ----------------------------------------------------------------------------- Poisson NLL


def _counts(*shape, seed=3):
    y = np.random.default_rng(seed).poisson(2.0, shape).astype(np.float32)
    y.flat[:3] = [0.0, 1.0, 6.0]  # both sides of Stirling's mask (y <= 1) included
    return y


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_parity(torch, reduction, log_input, full):
    x = randn(4, 5) * 0.5 if log_input else np.abs(randn(4, 5)) + 0.1
    _parity(torch, nn.PoissonNLLLoss(log_input, full, reduction=reduction),
            torch.nn.PoissonNLLLoss(log_input, full, reduction=reduction), [x, _counts(4, 5)],
            what=f"poisson {reduction} log_input={log_input} full={full}")


def test_poisson_nll_eps_and_target_grad(torch):
    x = np.array([0.0, 0.5, 2.0], np.float32)  # a zero rate: log(0 + eps)
    _parity(torch, lambda a, y: F.poisson_nll_loss(a, y, log_input=False, full=True, eps=1e-3),
            lambda a, y: torch.nn.functional.poisson_nll_loss(a, y, log_input=False, full=True, eps=1e-3),
            [x, np.array([1.0, 3.0, 2.5], np.float32)], grads=(0, 1))


def test_poisson_nll_full_hand_value():
    y = 4.0
    stirling = y * math.log(y) - y + 0.5 * math.log(2 * math.pi * y)
    loss = F.poisson_nll_loss(ember.tensor([0.0, 0.0]), ember.tensor([y, 1.0]), full=True, reduction="none")
    assert_close(loss, [1.0 + stirling, 1.0])


@pytest.mark.parametrize("log_input", [True, False])
def test_poisson_nll_gradcheck(log_input):
    x = randn(3, 4) * 0.5 if log_input else np.abs(randn(3, 4)) + 0.2
    y = ember.tensor(_counts(3, 4).astype(np.float64))
    gradcheck(lambda a: F.poisson_nll_loss(a, y, log_input=log_input, full=True), _f64(x))


# ----------------------------------------------------------------------------- Gaussian NLL


VAR_SHAPES = [(4, 3), (4,), (4, 1), (1, 3)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", VAR_SHAPES, ids=str)
@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_parity(torch, reduction, var_shape, full):
    var = np.abs(randn(*var_shape, seed=7)) + 0.2
    _parity(torch, lambda x, y, v: nn.GaussianNLLLoss(full=full, reduction=reduction)(x, y, v),
            lambda x, y, v: torch.nn.GaussianNLLLoss(full=full, reduction=reduction)(x, y, v),
            [randn(4, 3), randn(4, 3, seed=1), var], grads=(0, 1, 2), what=f"gaussian {reduction} {var_shape}")


def test_gaussian_nll_clamped_variance_keeps_its_gradient(torch):
    """var below eps is used as eps, but its gradient passes as if unclamped (PyTorch's no-grad clamp)."""
    var = np.array([[0.01, 0.5, 0.02], [1.0, 0.05, 2.0]], np.float32)
    _parity(torch, lambda x, y, v: F.gaussian_nll_loss(x, y, v, eps=0.1, reduction="sum"),
            lambda x, y, v: torch.nn.functional.gaussian_nll_loss(x, y, v, eps=0.1, reduction="sum"),
            [randn(2, 3), randn(2, 3, seed=1), var], grads=(0, 2))


def test_gaussian_nll_scalar_var_and_broadcast_target(torch):
    _parity(torch, lambda x, y: F.gaussian_nll_loss(x, y, 0.7, full=True),
            lambda x, y: torch.nn.functional.gaussian_nll_loss(x, y, 0.7, full=True),
            [randn(4, 3), randn(4, 1, seed=1)], grads=(0, 1))


@pytest.mark.parametrize("var_shape", [(2,), (4, 2), (1, 1), (4, 3, 1), (3,)], ids=str)
def test_gaussian_nll_var_of_wrong_size(torch, var_shape):
    x = randn(4, 3)
    var = np.ones(var_shape, np.float32)
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(ember.tensor(x), ember.tensor(x), ember.tensor(var))
    with pytest.raises(ValueError):  # torch refuses the same shapes
        torch.nn.functional.gaussian_nll_loss(torch.tensor(x), torch.tensor(x), torch.tensor(var))


def test_gaussian_nll_errors():
    x = ember.tensor(randn(2, 3))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -1.0)
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, ember.tensor([[1.0, -0.1, 1.0], [1.0, 1.0, 1.0]]))
    with pytest.raises(ValueError, match="broadcast"):
        F.gaussian_nll_loss(x, ember.tensor(randn(3, 3)), 1.0)
    with pytest.raises(ValueError, match="reduction"):
        nn.GaussianNLLLoss(reduction="batchmean")


def test_gaussian_nll_gradcheck():
    var = _f64(np.abs(randn(4, 1, seed=7)) + 0.3)
    gradcheck(lambda x, y, v: F.gaussian_nll_loss(x, y, v, full=True), _f64(randn(4, 3)), _f64(randn(4, 3, seed=1)),
              var)


# ----------------------------------------------------------------------------- the modules


@pytest.mark.parametrize("make", [lambda r: nn.MarginRankingLoss(reduction=r), lambda r: nn.HingeEmbeddingLoss(
    reduction=r), lambda r: nn.SoftMarginLoss(r), lambda r: nn.MultiLabelSoftMarginLoss(reduction=r),
    lambda r: nn.MultiLabelMarginLoss(r), lambda r: nn.PoissonNLLLoss(reduction=r),
    lambda r: nn.GaussianNLLLoss(reduction=r)], ids=lambda f: "")
def test_modules_validate_reduction(make):
    assert make("sum").reduction == "sum"
    with pytest.raises(ValueError, match="reduction must be one of"):
        make("elementwise_mean")


def test_module_reprs():
    assert repr(nn.MarginRankingLoss(0.5)) == "MarginRankingLoss(margin=0.5)"
    assert repr(nn.HingeEmbeddingLoss(reduction="sum")) == "HingeEmbeddingLoss(margin=1.0, reduction='sum')"
    assert repr(nn.SoftMarginLoss()) == "SoftMarginLoss()"
    assert repr(nn.PoissonNLLLoss(log_input=False, full=True)) == "PoissonNLLLoss(log_input=False, full=True)"
    assert repr(nn.GaussianNLLLoss(full=True, eps=1e-3)) == "GaussianNLLLoss(full=True, eps=0.001)"
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)  # keyword-only, as in PyTorch
    with pytest.raises(TypeError, match="margin"):
        nn.MarginRankingLoss("1")


def test_functional_reduction_errors():
    x = ember.tensor(randn(2, 3))
    y = ember.tensor(_signs(2, 3))
    for call in (lambda: F.hinge_embedding_loss(x, y, reduction="x"), lambda: F.soft_margin_loss(x, y, "x"),
                 lambda: F.multilabel_soft_margin_loss(x, y, reduction="x"),
                 lambda: F.poisson_nll_loss(x, y, reduction="x")):
        with pytest.raises(ValueError, match="reduction"):
            call()
    with pytest.raises(ValueError, match="shape"):
        F.soft_margin_loss(x, ember.tensor(_signs(3, 2)))
