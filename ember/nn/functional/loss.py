"""Loss functions (NOTES §3), PyTorch's names, arguments and reductions.

Cross entropy ``H(p, q) = −Σ_c p_c log q_c`` between the target distribution p and the model's
softmax q; with a one-hot p it is ``−log q_y``, which equals ``KL(p‖q)`` because H(p) = 0. Use it,
not MSE, for classification: a correctly initialised C-class classifier starts near ``ln C``.
``cross_entropy`` and ``nll_loss`` are fused Functions (one forward, closed-form backward
``softmax − target``); the others are differentiable ember expressions.

``reduction``: ``'mean'`` (the default; weighted mean when class weights are given), ``'sum'`` or
``'none'`` (one loss per element).
"""
from __future__ import annotations

import numpy as np

from ember.ops import api as E
from ember.ops.activation import Softplus
from ember.tensor import Function, Tensor

__all__ = ["cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "multi_margin_loss", "hinge_loss",
           "triplet_margin_loss", "cosine_embedding_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, fn: str, extra: tuple = ()) -> str:
    if reduction not in _REDUCTIONS + extra:
        raise ValueError(f"{fn}: reduction must be one of {list(_REDUCTIONS + extra)}, got {reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _arr(t):
    return t.array if isinstance(t, Tensor) else (None if t is None else np.asarray(t))


def _tensor_like(value, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    return Tensor._wrap(np.asarray(value, dtype=like.dtype))


# ----------------------------------------------------------------------------- cross entropy / NLL


def _classes_last(a: np.ndarray) -> np.ndarray:
    """(N, C, d1, …) → (N·d1·…, C): the class axis 1 moved last and the rest flattened."""
    if a.ndim == 2:
        return a
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _classes_back(a2: np.ndarray, shape: tuple) -> np.ndarray:
    """Inverse of :func:`_classes_last` for an (M, C) array and the original (N, C, d1, …) shape."""
    if len(shape) == 2:
        return a2
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return np.moveaxis(a2.reshape(moved), -1, 1)


def _check_targets(y: np.ndarray, c: int, ignore_index: int, fn: str) -> np.ndarray:
    if y.dtype.kind not in "iu":
        raise TypeError(f"{fn}: class-index targets must be integers, got dtype {y.dtype}; pass "
                        f"class probabilities with the same shape as the input instead")
    valid = y != ignore_index
    bad = valid & ((y < 0) | (y >= c))
    if bad.any():
        raise IndexError(f"{fn}: target {int(y[bad][0])} is out of bounds for {c} classes "
                         f"(valid: 0..{c - 1}, or ignore_index={ignore_index})")
    return valid


def _log_softmax_rows(x2: np.ndarray) -> np.ndarray:
    shifted = x2 - x2.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class CrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood over class axis 1 of an (N, C, …) input.

    Each element n has a target weighting T[n, ·] over classes, and loss_n = −Σ_c T[n, c]·log softmax(x_n)_c:
      class index y (smoothing ε, class weights w):  T[n, c] = (1 − ε)·w_y·[c = y] + ε·w_c/C  (0 if ignored);
      class probabilities t:                          T[n, c] = w_c·((1 − ε)·t_c + ε/C).
    Backward: dx_n = g_n·(softmax(x_n)·Σ_c T[n, c] − T[n, ·])  — "softmax − onehot" in the plain case.
    'mean' divides by Σ_n w_{y_n} over non-ignored elements (index targets) or by the element count
    (probability targets), as PyTorch does.
    """

    def forward(self, x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        shape = x.shape
        c = shape[1]
        x2 = _classes_last(x)
        logp = _log_softmax_rows(x2)
        eps = label_smoothing
        self.soft = target.dtype.kind == "f"
        self.shape, self.reduction, self.weight, self.eps, self.logp = shape, reduction, weight, eps, logp
        w = weight
        if self.soft:
            t2 = _classes_last(target)
            tw = t2 * (1 - eps) + eps / c if eps else t2
            if w is not None:
                tw = tw * w
            self.tw = tw
            loss = -(tw * logp).sum(axis=1)
            denom = loss.shape[0]
        else:
            y = target.reshape(-1)
            valid = _check_targets(y, c, ignore_index, "cross_entropy")
            ys = np.where(valid, y, 0)
            rows = np.arange(y.size)
            wy = (w[ys] if w is not None else np.ones(y.size, x.dtype)) * valid
            loss = -(1 - eps) * wy * logp[rows, ys]
            if eps:
                smooth = -(logp * w).sum(axis=1) if w is not None else -logp.sum(axis=1)
                loss = loss + (eps / c) * smooth * valid
            self.ys, self.wy, self.valid = ys, wy, valid
            denom = wy.sum()
        loss = loss.astype(x.dtype, copy=False)
        self.denom = denom
        if reduction == "none":
            return loss.reshape((shape[0],) + tuple(shape[2:]))
        total = loss.sum()
        if reduction == "sum":
            return np.asarray(total, dtype=x.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: nan, as PyTorch
            return np.asarray(total / denom, dtype=x.dtype)

    def backward(self, g):
        logp, c = self.logp, self.shape[1]
        m = logp.shape[0]
        if self.reduction == "none":
            gn = g.reshape(m)
        elif self.reduction == "sum":
            gn = np.full(m, g, dtype=logp.dtype)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                gn = np.full(m, g / self.denom, dtype=logp.dtype)
        p = np.exp(logp)
        gx = gt = None
        if self.soft:
            tw = self.tw
            if self.needs_input_grad[0]:
                gx = (p * tw.sum(axis=1, keepdims=True) - tw) * gn[:, None]
            if self.needs_input_grad[1]:
                scale = -(1 - self.eps) * logp * gn[:, None]
                gt = _classes_back(scale * self.weight if self.weight is not None else scale, self.shape)
        elif self.needs_input_grad[0]:
            eps, w = self.eps, self.weight
            rows = np.arange(m)
            hard = (1 - eps) * self.wy  # weight on the target class
            total = hard + ((eps / c) * (w.sum() if w is not None else c)) * self.valid
            gx = p * (total * gn)[:, None]
            gx[rows, self.ys] -= hard * gn
            if eps:
                gx -= (eps / c) * (w if w is not None else 1.0) * (self.valid * gn)[:, None]
        if gx is not None:
            gx = _classes_back(gx.astype(logp.dtype, copy=False), self.shape)
        return gx, gt, None


def _batchify(input: Tensor, target, fn: str):
    """PyTorch accepts an unbatched (C,) input with a scalar class target: add the batch axis."""
    if input.ndim == 1:
        input = E.unsqueeze(input, 0)
        target = E.unsqueeze(target, 0) if isinstance(target, Tensor) else np.asarray(target).reshape(
            (1,) + np.shape(target))
    if input.ndim < 2:
        raise ValueError(f"{fn} expects an input of shape (N, C) or (N, C, d1, ...), got {input.shape}")
    return input, target


def cross_entropy(input: Tensor, target, weight: Tensor | None = None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between softmax(input) over axis 1 and the target, from raw scores (logits).

    ``target`` is either class indices (integers, shape (N,) or (N, d1, …)) or class probabilities
    (floats, the same shape as ``input``: soft labels such as mixup's). ``weight`` (C,) rescales each
    class; elements whose target is ``ignore_index`` contribute nothing; ``label_smoothing`` ε mixes the
    target with the uniform distribution: (1 − ε)·target + ε/C.
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    unbatched = input.ndim == 1
    input, target = _batchify(input, target, "cross_entropy")
    t = target if isinstance(target, Tensor) else Tensor._wrap(np.asarray(target))
    c = input.shape[1]
    if t.dtype.kind == "f":
        if t.shape != input.shape:
            raise ValueError(f"cross_entropy: probability targets must have the input's shape {input.shape}, "
                             f"got {t.shape}")
        if t.dtype != input.dtype:
            t = t.type(input.dtype)
    else:
        want = (input.shape[0],) + input.shape[2:]
        if t.shape != want:
            raise ValueError(f"cross_entropy: class-index target of shape {t.shape} does not match input of shape "
                             f"{input.shape}; expected {want}")
    w = _arr(weight)
    if w is not None:
        if w.shape != (c,):
            raise ValueError(f"cross_entropy: weight must have shape ({c},) for {c} classes, got {w.shape}")
        w = w.astype(input.dtype, copy=False)
    out = CrossEntropy.apply(input, t, weight=w, ignore_index=ignore_index, reduction=reduction,
                             label_smoothing=float(label_smoothing))
    if unbatched and reduction == "none":
        out = E.squeeze(out, 0)
    return out


class NLL(Function):
    """Negative log-likelihood of given log-probabilities: loss_n = −w_{y_n}·logp[n, y_n].
    Backward: −g_n·w_{y_n} at the target class, 0 elsewhere."""

    def forward(self, logp, target, weight=None, ignore_index=-100, reduction="mean"):
        shape, c = logp.shape, logp.shape[1]
        l2 = _classes_last(logp)
        y = target.reshape(-1)
        valid = _check_targets(y, c, ignore_index, "nll_loss")
        ys = np.where(valid, y, 0)
        wy = ((weight[ys] if weight is not None else np.ones(y.size, logp.dtype)) * valid).astype(logp.dtype)
        loss = -wy * l2[np.arange(y.size), ys]
        self.shape, self.ys, self.wy, self.reduction, self.denom = shape, ys, wy, reduction, wy.sum()
        if reduction == "none":
            return loss.reshape((shape[0],) + tuple(shape[2:]))
        if reduction == "sum":
            return np.asarray(loss.sum(), dtype=logp.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(loss.sum() / self.denom, dtype=logp.dtype)

    def backward(self, g):
        m = self.ys.size
        if self.reduction == "none":
            gn = g.reshape(m)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                gn = np.full(m, g if self.reduction == "sum" else g / self.denom, dtype=g.dtype)
        gl = np.zeros((m, self.shape[1]), dtype=g.dtype)
        gl[np.arange(m), self.ys] = -self.wy * gn
        return _classes_back(gl, self.shape), None


def nll_loss(input: Tensor, target, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood, ``input`` being log-probabilities (e.g. ``log_softmax`` output) over axis 1.
    ``nll_loss(log_softmax(x, 1), y)`` equals ``cross_entropy(x, y)``."""
    _check_reduction(reduction, "nll_loss")
    unbatched = input.ndim == 1
    input, target = _batchify(input, target, "nll_loss")
    t = _arr(target)
    want = (input.shape[0],) + input.shape[2:]
    if t.shape != want:
        raise ValueError(f"nll_loss: target of shape {t.shape} does not match input of shape {input.shape}; "
                         f"expected {want}")
    w = _arr(weight)
    if w is not None and w.shape != (input.shape[1],):
        raise ValueError(f"nll_loss: weight must have shape ({input.shape[1]},), got {w.shape}")
    out = NLL.apply(input, t, weight=None if w is None else w.astype(input.dtype), ignore_index=ignore_index,
                    reduction=reduction)
    return E.squeeze(out, 0) if unbatched and reduction == "none" else out


# ----------------------------------------------------------------------------- regression


def _pair(input: Tensor, target, fn: str) -> Tensor:
    target = _tensor_like(target, input)
    if target.shape != input.shape:
        raise ValueError(f"{fn}: target shape {target.shape} differs from input shape {input.shape}; "
                         f"broadcasting a loss is almost always a bug, reshape one of them")
    return target


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """(x − y)² per element (regression: no activation on the last layer)."""
    _check_reduction(reduction, "mse_loss")
    d = input - _pair(input, target, "mse_loss")
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """|x − y| per element."""
    _check_reduction(reduction, "l1_loss")
    return _reduce(E.abs(input - _pair(input, target, "l1_loss")), reduction)


def smooth_l1_loss(input: Tensor, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5·d²/β where |d| < β, |d| − 0.5·β elsewhere (d = x − y): quadratic near 0, linear for outliers."""
    _check_reduction(reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    d = input - _pair(input, target, "smooth_l1_loss")
    ad = E.abs(d)
    if beta == 0:
        return _reduce(ad, reduction)
    return _reduce(E.where(ad.array < beta, (0.5 / beta) * d * d, ad - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5·d² where |d| ≤ δ, δ·(|d| − 0.5·δ) elsewhere (= δ·smooth_l1 with β = δ)."""
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    d = input - _pair(input, target, "huber_loss")
    ad = E.abs(d)
    return _reduce(E.where(ad.array <= delta, 0.5 * d * d, delta * (ad - 0.5 * delta)), reduction)


# ----------------------------------------------------------------------------- binary


class BinaryCrossEntropy(Function):
    """−w·(t·log p + (1 − t)·log(1 − p)) with each log clamped at −100 (so p = 0 or 1 stays finite).
    Backward: dp = w·(p − t)/max(p(1 − p), 1e-12);  dt = −w·(log p − log(1 − p))."""

    def forward(self, p, t, w=None):
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(p), -100)
            l1p = np.maximum(np.log1p(-p), -100)
        loss = -(t * lp + (1 - t) * l1p)
        if w is not None:
            loss = loss * w
        self.p, self.t, self.w, self.lp, self.l1p = p, t, w, lp, l1p
        return loss.astype(p.dtype, copy=False)

    def backward(self, g):
        p, t, w = self.p, self.t, self.w
        gw = g if w is None else g * w
        gp = gw * (p - t) / np.maximum(p * (1 - p), 1e-12) if self.needs_input_grad[0] else None
        gt = -gw * (self.lp - self.l1p) if self.needs_input_grad[1] else None
        return gp, gt, None


def binary_cross_entropy(input: Tensor, target, weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """Binary cross entropy of probabilities ``input`` ∈ [0, 1] (a sigmoid output) against targets in [0, 1].
    Prefer :func:`binary_cross_entropy_with_logits` on raw scores: it is numerically stable."""
    _check_reduction(reduction, "binary_cross_entropy")
    target = _pair(input, target, "binary_cross_entropy")
    x = input.array
    if x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError("binary_cross_entropy: all elements of input should be between 0 and 1 "
                         "(apply sigmoid first, or use binary_cross_entropy_with_logits)")
    w = None if weight is None else _arr(weight).astype(input.dtype, copy=False)
    if w is not None:
        np.broadcast_shapes(w.shape, input.shape)
    return _reduce(BinaryCrossEntropy.apply(input, target, w), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, weight: Tensor | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """BCE on raw scores x, computed stably (no log of a sigmoid that underflowed):

        ℓ = (1 − t)·x + (1 + (pw − 1)·t)·softplus(−x),   softplus(z) = log(1 + eᶻ)

    which equals −[pw·t·log σ(x) + (1 − t)·log(1 − σ(x))]; ``pos_weight`` pw (per class, broadcast
    along the last axis) up-weights positives, ``weight`` rescales each element.
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    t = _pair(input, target, "binary_cross_entropy_with_logits")
    sp = Softplus.apply(E.neg(input), beta=1.0, threshold=20.0)
    if pos_weight is not None:
        pw = _tensor_like(pos_weight, input)
        loss = (1 - t) * input + (1 + (pw - 1) * t) * sp
    else:
        loss = (1 - t) * input + sp
    if weight is not None:
        loss = loss * _tensor_like(weight, input)
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------- distributions


def kl_div(input: Tensor, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL(target ‖ q) with ``input`` = log q (log-probabilities) and ``target`` probabilities p
    (or log p with ``log_target=True``): pointwise p·(log p − log q), 0 where p = 0.

    ``reduction='batchmean'`` (sum / batch size) is the true KL per sample; 'mean' averages over every
    element, as PyTorch does.
    """
    _check_reduction(reduction, "kl_div", ("batchmean",))
    t = _pair(input, target, "kl_div")
    if log_target:
        point = E.exp(t) * (t - input)
    else:
        pos = t.array > 0
        safe = E.where(pos, t, 1.0)  # log(1) = 0 where p = 0, and no log(0) is ever taken
        point = t * (E.log(safe) - input)
    if reduction == "batchmean":
        return point.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(point, reduction)


# ----------------------------------------------------------------------------- margins


def multi_margin_loss(input: Tensor, target, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      reduction: str = "mean") -> Tensor:
    """The multi-class SVM (hinge) loss: loss_n = (1/C)·Σ_{i ≠ y} w_y·max(0, margin − x_y + x_i)^p, p ∈ {1, 2}."""
    _check_reduction(reduction, "multi_margin_loss")
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got {p}")
    unbatched = input.ndim == 1
    if unbatched:
        input = E.unsqueeze(input, 0)
    if input.ndim != 2:
        raise ValueError(f"multi_margin_loss expects an input of shape (N, C) or (C,), got {input.shape}")
    n, c = input.shape
    y = _arr(target).reshape(-1)
    if y.shape != (n,):
        raise ValueError(f"multi_margin_loss: target of shape {np.shape(_arr(target))} does not match input "
                         f"of shape {input.shape}")
    if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() >= c)):
        raise IndexError(f"multi_margin_loss: targets must be integer class indices in 0..{c - 1}")
    rows = np.arange(n)
    xy = input[rows, y].reshape(n, 1)
    h = E.clamp(margin - xy + input, min=0.0)
    if p == 2:
        h = h * h
    not_target = np.ones((n, c), dtype=input.dtype)
    not_target[rows, y] = 0
    h = h * Tensor._wrap(not_target)
    if weight is not None:
        w = _arr(weight).astype(input.dtype)
        h = h * Tensor._wrap(w[y].reshape(n, 1))
    loss = h.sum(dim=1) / c
    if unbatched and reduction == "none":
        loss = E.squeeze(loss, 0)
    return _reduce(loss, reduction)


def hinge_loss(input: Tensor, target, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """The multi-class SVM loss with margin 1 (``multi_margin_loss`` with p = 1)."""
    return multi_margin_loss(input, target, p=1, margin=margin, reduction=reduction)


# ----------------------------------------------------------------------------- embeddings (metric learning)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(d(a, p) − d(a, n) + margin, 0) with d the pairwise p-distance (Schroff et al. 2015, FaceNet):
    pull the positive closer to the anchor than the negative by at least ``margin``. ``swap`` uses
    min(d(a, n), d(p, n)), the harder of the two negatives' distances (Balntas et al. 2016)."""
    from ember.nn.functional.distance import pairwise_distance

    _check_reduction(reduction, "triplet_margin_loss")
    shapes = [tuple(t.shape) for t in (anchor, positive, negative)]
    if len({len(s) for s in shapes}) != 1 or len(shapes[0]) not in (1, 2):
        raise RuntimeError(f"triplet_margin_loss: anchor, positive and negative must all be 1-D (D,) or 2-D "
                           f"(N, D) tensors, got shapes {shapes[0]}, {shapes[1]} and {shapes[2]}")
    if margin < 0:
        raise ValueError(f"triplet_margin_loss: margin must be non-negative, got {margin}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = E.where(d_swap.array < d_neg.array, d_swap, d_neg)
    return _reduce(E.clamp(margin + d_pos - d_neg, min=0.0), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target, margin: float = 0.0,
                          reduction: str = "mean") -> Tensor:
    """1 − cos(x1, x2) where target = 1 (similar pairs), max(0, cos(x1, x2) − margin) where target = −1,
    with PyTorch's cos = Σ x1·x2 / √((Σ x1² + 1e-12)(Σ x2² + 1e-12)) along the feature axis."""
    _check_reduction(reduction, "cosine_embedding_loss")
    if input1.shape != input2.shape or input1.ndim not in (1, 2):
        raise RuntimeError(f"cosine_embedding_loss: input1 and input2 must have the same 1-D (D,) or 2-D (N, D) "
                           f"shape, got {tuple(input1.shape)} and {tuple(input2.shape)}")
    y = _arr(target)
    want = input1.shape[:1] if input1.ndim == 2 else ()
    if tuple(y.shape) != tuple(want):
        raise RuntimeError(f"cosine_embedding_loss: target of shape {tuple(y.shape)} does not match inputs of shape "
                           f"{tuple(input1.shape)} (expected {tuple(want)})")
    dim = input1.ndim - 1
    eps = 1e-12
    dot = (input1 * input2).sum(dim=dim)
    m1 = (input1 * input1).sum(dim=dim) + eps
    m2 = (input2 * input2).sum(dim=dim) + eps
    cos = dot / E.sqrt(m1 * m2)
    zero = Tensor._wrap(np.zeros(cos.shape, cos.dtype))
    loss = E.where(y == 1, 1 - cos, zero) + E.where(y == -1, E.clamp(cos - margin, min=0.0), zero)
    return _reduce(loss, reduction)
