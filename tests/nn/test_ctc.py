"""CTC loss: against a brute-force sum over alignments, against torch.nn.functional.ctc_loss (values and
gradients, every reduction, padded and concatenated targets, repeats, a non-zero blank, impossible alignments),
a float64 gradient check, and the argument errors."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.diagnose import gradcheck
from tests.helpers import assert_close

REDUCTIONS = ["none", "sum", "mean"]


def _log_softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _lp(t, n, c, seed=0, dtype=np.float32):
    return _log_softmax(np.random.default_rng(seed).standard_normal((t, n, c)) * 1.5).astype(dtype)


def _brute_nll(lp: np.ndarray, target, blank: int) -> float:
    """−log Σ over every frame labelling that collapses (merge repeats, drop blanks) to ``target``."""
    t, c = lp.shape
    total = 0.0
    for path in itertools.product(range(c), repeat=t):
        collapsed = [k for i, k in enumerate(path) if k != blank and (i == 0 or path[i - 1] != k)]
        if collapsed == list(target):
            total += np.exp(sum(lp[i, k] for i, k in enumerate(path)))
    return -np.log(total) if total > 0 else np.inf


def _concat(tg: np.ndarray, tl: np.ndarray) -> np.ndarray:
    return np.concatenate([row[:k] for row, k in zip(tg, tl)])


def _compare(torch, lp, tg, il, tl, blank=0, reduction="mean", zero_infinity=False, what=""):
    """Loss and gradient of the log-probabilities against torch's, nan where torch has nan."""
    a, b = ember.tensor(lp, requires_grad=True), torch.tensor(lp, requires_grad=True)
    la = F.ctc_loss(a, ember.tensor(tg), ember.tensor(il), ember.tensor(tl), blank, reduction, zero_infinity)
    lb = torch.nn.functional.ctc_loss(b, torch.tensor(tg), torch.tensor(il), torch.tensor(tl), blank, reduction,
                                      zero_infinity)
    assert_close(la, lb, what=f"{what} loss")
    up = np.random.default_rng(7).standard_normal(la.shape).astype(lp.dtype) + 1.0
    la.backward(ember.tensor(up) if la.ndim else None)
    lb.backward(torch.tensor(up) if lb.ndim else None)
    assert_close(a.grad, b.grad, what=f"{what} grad")  # assert_allclose treats nan == nan
    return la, a.grad


# lengths chosen so that some sequences use fewer frames than T and fewer labels than S; row 1 repeats one label,
# which needs a blank between every pair (9 frames for 5 labels)
TG = np.array([[1, 2, 2, 3, 0], [1, 1, 1, 1, 1], [2, 3, 4, 5, 1], [5, 0, 0, 0, 0]])
IL = np.array([12, 9, 5, 7])
TL = np.array([4, 5, 5, 1])


def test_matches_brute_force_over_alignments():
    lp = _lp(5, 3, 3, seed=1, dtype=np.float64)
    targets = [[1, 2], [1, 1], [2]]
    tg = np.array([[1, 2], [1, 1], [2, 0]])
    got = F.ctc_loss(ember.tensor(lp), ember.tensor(tg), [5, 5, 4], [2, 2, 1], reduction="none").numpy()
    want = [_brute_nll(lp[:5, 0], targets[0], 0), _brute_nll(lp[:5, 1], targets[1], 0),
            _brute_nll(lp[:4, 2], targets[2], 0)]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    got = F.ctc_loss(ember.tensor(lp), ember.tensor(np.array([[0, 1]])).reshape(1, 2).expand(3, 2), [5, 5, 5],
                     [2, 2, 2], blank=2, reduction="none").numpy()
    np.testing.assert_allclose(got, [_brute_nll(lp[:, i], [0, 1], 2) for i in range(3)], rtol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_parity_reductions_and_target_layouts(torch, reduction, layout):
    tg = TG if layout == "padded" else _concat(TG, TL)
    _compare(torch, _lp(12, 4, 6), tg, IL, TL, reduction=reduction, what=f"{reduction} {layout}")


@pytest.mark.parametrize("blank", [3, 6])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_parity_blank_not_zero(torch, blank, reduction):
    tg = np.where(TG >= blank, TG + 1, TG)  # keep labels off the blank; 0 becomes a real label
    tg[3, 0] = 0
    _compare(torch, _lp(12, 4, 7, seed=2), tg, IL, TL, blank=blank, reduction=reduction, what=f"blank={blank}")


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_parity_impossible_alignments(torch, zero_infinity, reduction):
    """Row 1 needs 9 frames (repeats) but has 8; row 2 has 5 labels in 4 frames; row 3 has no frames."""
    il = np.array([12, 8, 4, 0])
    tl = np.array([4, 5, 5, 0])
    la, grad = _compare(torch, _lp(12, 4, 6, seed=3), TG, il, tl, reduction=reduction, zero_infinity=zero_infinity,
                        what=f"zero_infinity={zero_infinity}")
    g = grad.numpy()
    if zero_infinity:
        assert np.isfinite(la.detach().numpy()).all() and np.isfinite(g).all()
        assert not g[:, 1:].any() and g[:, 0].any()
    else:
        assert np.isinf(la.detach().numpy()).any()
        assert np.isnan(g[:8, 1]).all() and not g[8:, 1].any() and np.isfinite(g[:, 0]).all()


def test_parity_through_log_softmax_and_layer(torch):
    """The usual use: logits → log_softmax → nn.CTCLoss, gradients w.r.t. the logits."""
    x = np.random.default_rng(4).standard_normal((15, 3, 5)).astype(np.float32)
    tg = np.array([[1, 2, 1, 3], [4, 4, 0, 0], [2, 0, 0, 0]])
    il, tl = [15, 11, 6], (4, 2, 1)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    le = nn.CTCLoss(blank=0)(F.log_softmax(xe, 2), ember.tensor(tg), il, tl)
    lt = torch.nn.CTCLoss(blank=0)(torch.log_softmax(xt, 2), torch.tensor(tg), il, tl)
    assert_close(le, lt, what="loss")
    le.backward()
    lt.backward()
    assert_close(xe.grad, xt.grad, what="logit grad")


def test_parity_unbatched(torch):
    lp = _lp(8, 1, 4, seed=5)[:, 0]
    for reduction in REDUCTIONS:
        a, b = ember.tensor(lp, requires_grad=True), torch.tensor(lp, requires_grad=True)
        la = F.ctc_loss(a, ember.tensor(np.array([1, 3, 3])), ember.tensor(8), ember.tensor(3), reduction=reduction)
        lb = torch.nn.functional.ctc_loss(b, torch.tensor([1, 3, 3]), torch.tensor(8), torch.tensor(3),
                                          reduction=reduction)
        assert la.shape == tuple(lb.shape) == ()
        assert_close(la, lb, what=reduction)
        la.backward()
        lb.backward()
        assert_close(a.grad, b.grad, what=f"{reduction} grad")


def test_parity_float64_long_sequence(torch):
    """A long input (underflow would show in a probability-space recursion) with many labels."""
    rng = np.random.default_rng(6)
    lp = _lp(200, 2, 20, seed=6, dtype=np.float64)
    tg = rng.integers(1, 20, (2, 60))
    _compare(torch, lp, tg, np.array([200, 150]), np.array([60, 45]), reduction="sum", what="long")


def test_gradcheck_through_log_softmax():
    """PyTorch's gradient adds exp(log_probs) (it assumes log_softmax came before), so the finite-difference
    check differentiates logits → log_softmax → ctc_loss."""
    x = ember.tensor(np.random.default_rng(8).standard_normal((6, 2, 4)), dtype=ember.float64, requires_grad=True)
    tg = ember.tensor(np.array([[1, 1, 2], [3, 0, 0]]))
    for reduction in REDUCTIONS:
        gradcheck(lambda v: F.ctc_loss(F.log_softmax(v, 2), tg, [6, 4], [3, 1], reduction=reduction), x)
    tg2 = ember.tensor(np.array([[1, 1, 3], [3, 0, 0]]))
    gradcheck(lambda v: F.ctc_loss(F.log_softmax(v, 2), tg2, [6, 4], [3, 1], blank=2, reduction="none"), x)


def test_gradient_is_partial_plus_softmax():
    """On raw log-probabilities the gradient is exp(lp) minus the occupancies; the occupancies of each frame
    sum to one, so each frame's gradient sums to zero."""
    lp = ember.tensor(_lp(7, 2, 5, seed=9, dtype=np.float64), requires_grad=True)
    F.ctc_loss(lp, ember.tensor(np.array([[1, 2, 2], [4, 0, 0]])), [7, 5], [3, 1], reduction="sum").backward()
    g = lp.grad.numpy()
    np.testing.assert_allclose(g[:, 0].sum(axis=-1), 0, atol=1e-12)
    np.testing.assert_allclose(g[:5, 1].sum(axis=-1), 0, atol=1e-12)
    assert not g[5:, 1].any()  # frames past input_lengths get nothing
    assert (g - np.exp(lp.detach().numpy()) <= 1e-12)[:5].all()  # −occupancy ≤ 0


def test_lengths_as_lists_tuples_and_tensors_agree():
    lp = ember.tensor(_lp(12, 4, 6))
    ref = F.ctc_loss(lp, ember.tensor(TG), ember.tensor(IL), ember.tensor(TL), reduction="none").numpy()
    for il, tl in ((IL.tolist(), TL.tolist()), (tuple(IL.tolist()), tuple(TL.tolist())), (IL, TL)):
        np.testing.assert_array_equal(F.ctc_loss(lp, TG, il, tl, reduction="none").numpy(), ref)
    np.testing.assert_array_equal(F.ctc_loss(lp, _concat(TG, TL), IL, TL, reduction="none").numpy(), ref)
    assert F.ctc_loss(lp, TG, IL, TL).dtype == ember.float32


def test_mean_divides_by_target_length_then_averages():
    lp = ember.tensor(_lp(12, 4, 6))
    tl = np.array([4, 5, 5, 0])
    per = F.ctc_loss(lp, TG, IL, tl, reduction="none").numpy()
    np.testing.assert_allclose(F.ctc_loss(lp, TG, IL, tl).item(), (per / np.maximum(tl, 1)).mean(), rtol=1e-6)
    np.testing.assert_allclose(F.ctc_loss(lp, TG, IL, tl, reduction="sum").item(), per.sum(), rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(blank=6), "blank must be a class index in \\[0, 6\\), got 6"),
    (dict(blank=-1), "blank must be"),
    (dict(il=[13, 9, 5, 7]), "input_lengths \\[13, 9, 5, 7\\] exceed the 12 frames"),
    (dict(il=[12, 9, 5]), "input_lengths must have one entry per sequence \\(batch size 4\\), got 3"),
    (dict(tl=[4, 5, 6, 1]), "target_lengths \\[4, 5, 6, 1\\] exceed the padded targets' length 5"),
    (dict(tl=[4, -1, 5, 1]), "target_lengths must be non-negative"),
    (dict(tg=np.array([[1, 0, 2, 3, 0]] * 4)), "target label 0 is invalid"),
    (dict(tg=np.array([[1, 6, 2, 3, 0]] * 4)), "target label 6 is invalid: labels must lie in \\[0, 6\\)"),
    (dict(tg=np.arange(1, 6)), "concatenated targets hold 5 labels but target_lengths \\[4, 5, 5, 1\\] add up to 15"),
    (dict(tg=TG[:3]), "one row per sequence \\(batch size 4\\)"),
    (dict(il=np.array([12.0, 9, 5, 7])), "input_lengths must hold integers"),
    (dict(reduction="batchmean"), "reduction must be one of"),
])
def test_errors_name_the_bad_value(kwargs, match):
    args = dict(tg=TG, il=IL, tl=TL, blank=0, reduction="mean")
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        F.ctc_loss(ember.tensor(_lp(12, 4, 6)), args["tg"], args["il"], args["tl"], args["blank"], args["reduction"])


def test_layer_options_and_errors():
    assert nn.CTCLoss().reduction == "mean"
    layer = nn.CTCLoss(blank=2, reduction="sum", zero_infinity=True)
    assert (layer.blank, layer.zero_infinity) == (2, True) and "blank=2" in repr(layer)
    with pytest.raises(ValueError, match="blank must be a non-negative class index, got -1"):
        nn.CTCLoss(blank=-1)
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.CTCLoss(reduction="avg")
    lp = ember.tensor(_lp(12, 4, 6))
    np.testing.assert_allclose(nn.CTCLoss(reduction="none")(lp, TG, IL, TL).numpy(),
                               F.ctc_loss(lp, TG, IL, TL, reduction="none").numpy())
