"""Connectionist temporal classification (Graves et al. 2006): the negative log-likelihood of a label
sequence summed over every frame-level alignment, by the forward-backward recursions in log space.

The target l (length L) is extended with blanks, l' = (b, l₁, b, l₂, …, b, l_L, b) of length 2L + 1. An
alignment is a path through (t, s) that each frame moves 0 or 1 step along l', or 2 when that skips a blank
between two different labels. With y[t, c] the log-probabilities:

    α[0, 0] = y[0, b],  α[0, 1] = y[0, l'₁]
    α[t, s] = logsumexp(α[t−1, s], α[t−1, s−1], α[t−1, s−2] if l'ₛ ≠ b and l'ₛ ≠ l'ₛ₋₂) + y[t, l'ₛ]
    β[T−1, 2L] = y[T−1, b],  β[T−1, 2L−1] = y[T−1, l_L]
    β[t, s] = logsumexp(β[t+1, s], β[t+1, s+1], β[t+1, s+2] if l'ₛ ≠ b and l'ₛ ≠ l'ₛ₊₂) + y[t, l'ₛ]
    nll = −logsumexp(α[T−1, 2L], α[T−1, 2L−1])

Both recursions are vectorised over the batch and the extended sequence; only time is a Python loop (each
step depends on the previous one). Sequences of different lengths share the arrays: positions past 2L + 1
hold −∞, and β starts at each sequence's own last frame.
"""
from __future__ import annotations

import numpy as np

from ember.tensor import Function

_NEG_INF = -np.inf


def _lse3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """log(eᵃ + eᵇ + eᶜ) elementwise, −∞ where all three are −∞ (no nan from −∞ − −∞)."""
    m = np.maximum(np.maximum(a, b), c)
    m = np.where(m == _NEG_INF, 0.0, m)
    with np.errstate(divide="ignore"):
        return m + np.log(np.exp(a - m) + np.exp(b - m) + np.exp(c - m))


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """a moved k places along the last axis, −∞ filling in: k > 0 gives a[..., s − k], k < 0 a[..., s + |k|]."""
    out = np.full_like(a, _NEG_INF)
    if k > 0:
        out[..., k:] = a[..., :-k]
    else:
        out[..., :k] = a[..., -k:]
    return out


def extended_labels(targets: np.ndarray, target_lengths: np.ndarray, blank: int) -> tuple:
    """(ext, valid, skip), each (N, 2·L_max + 1): l' (blank in the padding), which positions exist for each
    sequence, and where the α recursion may also come from s − 2 (a label differing from the one before)."""
    n = target_lengths.size
    lmax = int(target_lengths.max()) if n else 0
    s = 2 * lmax + 1
    ext = np.full((n, s), blank, dtype=np.int64)
    if lmax:
        ext[:, 1::2] = np.where(np.arange(lmax) < target_lengths[:, None], targets[:, :lmax], blank)
    pos = np.arange(s)
    valid = pos < 2 * target_lengths[:, None] + 1
    skip = np.zeros((n, s), dtype=bool)
    skip[:, 2:] = (pos[2:] % 2 == 1) & (ext[:, 2:] != ext[:, :-2])
    return ext, valid, skip & valid


class CTCLoss(Function):
    """Per-sequence CTC negative log-likelihood −log p(l | x) of (T, N, C) log-probabilities ``lp``.

    ``targets`` (N, S) holds each label sequence in its first ``target_lengths[n]`` entries; sequence n reads
    frames [0, input_lengths[n]). Forward runs α (see the module docstring) and keeps it for backward.

    Backward, as PyTorch computes it: with γ[t, c] = Σ_{s: l'ₛ = c} exp(α[t, s] + β[t, s] − y[t, c] + nll), the
    posterior probability that frame t emits c,

        d loss / d y[t, n, c] = g_n · (exp(y[t, n, c]) − γ[t, n, c])   for t < input_lengths[n], else 0.

    −γ alone is the partial derivative; the exp(y) term is what makes this the gradient of the logits when
    ``lp = log_softmax(logits)``: summed over c it is 1 − 1 = 0, so log_softmax's backward passes it unchanged.
    (So a finite-difference check agrees through log_softmax, not on raw log-probabilities.) An impossible
    alignment (nll = ∞) gets nan gradients, or zeros with ``zero_infinity`` (which also sets its loss to 0).
    """

    def forward(self, lp, targets=None, input_lengths=None, target_lengths=None, blank=0, zero_infinity=False):
        t_max, n, _ = lp.shape
        ext, valid, skip = extended_labels(targets, target_lengths, blank)
        y = np.asarray(lp, dtype=np.float64)
        ye = self._gather(y, ext, valid)  # (T, N, S): y[t, n, l'ₛ], −∞ past the sequence
        alpha = np.full(ye.shape, _NEG_INF)
        if t_max:
            alpha[0, :, :2] = ye[0, :, :2]
        for t in range(1, t_max):
            prev = alpha[t - 1]
            alpha[t] = _lse3(prev, _shift(prev, 1), np.where(skip, _shift(prev, 2), _NEG_INF)) + ye[t]
        rows = np.arange(n)
        last = np.maximum(input_lengths - 1, 0)
        end = alpha[last, rows, 2 * target_lengths] if t_max else np.full(n, _NEG_INF)
        before = alpha[last, rows, np.maximum(2 * target_lengths - 1, 0)] if t_max else end
        before = np.where(target_lengths > 0, before, _NEG_INF)
        with np.errstate(divide="ignore"):
            m = np.maximum(end, before)
            m = np.where(m == _NEG_INF, 0.0, m)
            nll = -(m + np.log(np.exp(end - m) + np.exp(before - m)))
        # no frames: the empty target has probability 1, any other 0
        nll = np.where(input_lengths == 0, np.where(target_lengths == 0, 0.0, np.inf), nll)
        self.infinite = np.isinf(nll)
        if zero_infinity:
            nll = np.where(self.infinite, 0.0, nll)
        if self.needs_input_grad[0]:
            self.lp, self.alpha, self.nll = lp, alpha, nll
            self.ext, self.valid, self.skip = ext, valid, skip
            self.input_lengths, self.target_lengths, self.zero_infinity = input_lengths, target_lengths, zero_infinity
        return nll.astype(lp.dtype)

    @staticmethod
    def _gather(y: np.ndarray, ext: np.ndarray, valid: np.ndarray) -> np.ndarray:
        ye = np.take_along_axis(y, np.broadcast_to(ext, (y.shape[0],) + ext.shape), axis=2)
        return np.where(valid, ye, _NEG_INF)

    def backward(self, g):
        y = np.asarray(self.lp, dtype=np.float64)
        t_max, n, c = y.shape
        ext, skip, alpha = self.ext, self.skip, self.alpha
        ye = self._gather(y, ext, self.valid)
        il, tl = self.input_lengths, self.target_lengths
        last = (il - 1)[:, None]  # each sequence's last frame; β starts there
        pos = np.arange(ext.shape[1])
        finals = (pos == 2 * tl[:, None]) | ((pos == 2 * tl[:, None] - 1) & (tl[:, None] > 0))
        skip_back = np.zeros_like(skip)  # s → s + 2 allowed: the α skip flag of s + 2
        skip_back[:, :-2] = skip[:, 2:]
        beta = np.full(ye.shape, _NEG_INF)
        nxt = np.full(ye.shape[1:], _NEG_INF)
        for t in range(t_max - 1, -1, -1):
            rec = _lse3(nxt, _shift(nxt, -1), np.where(skip_back, _shift(nxt, -2), _NEG_INF)) + ye[t]
            start = np.where(finals, ye[t], _NEG_INF)
            beta[t] = nxt = np.where(t == last, start, np.where(t < last, rec, _NEG_INF))
        with np.errstate(invalid="ignore", over="ignore"):
            log_occ = np.where(ye == _NEG_INF, _NEG_INF, alpha + beta - ye) + self.nll[:, None]
            occ = np.exp(log_occ)  # γ per (t, n, s), in [0, 1]
        flat = ((np.arange(t_max)[:, None, None] * n + np.arange(n)[:, None]) * c + ext).ravel()
        gamma = np.bincount(flat, weights=occ.ravel(), minlength=t_max * n * c).reshape(t_max, n, c)
        frames = np.arange(t_max)[:, None] < il  # (T, N): frames each sequence reads
        grad = np.where(frames[..., None], np.exp(y) - gamma, 0.0)
        bad = self.infinite
        if bad.any():
            grad[:, bad] = 0.0 if self.zero_infinity else np.where(frames[:, bad, None], np.nan, 0.0)
        return ((grad * g[None, :, None]).astype(self.lp.dtype),)
