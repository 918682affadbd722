"""Mixup (Zhang et al. 2018) and the soft-target cross entropy it trains with.

Mixup blends pairs of training examples and their one-hot labels::

    lam ~ Beta(alpha, alpha)        (one weight per sample)
    x'  = lam * x_i + (1 - lam) * x_j
    y'  = lam * onehot(y_i) + (1 - lam) * onehot(y_j)       (j = a random permutation of the batch)

so each mixed label is a probability vector (its weights lam and 1 - lam sum to one). The loss
is then the cross entropy against a distribution, ``H(p, q) = -sum_c p_c log q_c`` with
``q = softmax(logits)``, built here from ember ops so it backpropagates.
"""
from __future__ import annotations

import numpy as np

import ember.random as erandom
from ember.ops import api as ops
from ember.tensor import Tensor


def one_hot(labels, num_classes: int) -> np.ndarray:
    """Integer labels (N,) -> float32 one-hot (N, num_classes)."""
    labels = np.asarray(labels.array if isinstance(labels, Tensor) else labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot needs integer labels, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}, got range {labels.min()}..{labels.max()}")
    out = np.zeros((labels.shape[0], num_classes), dtype=np.float32)
    out[np.arange(labels.shape[0]), labels] = 1.0
    return out


class Mixup:
    """Batch transform that mixes images and labels; returns ``(x', y')`` with soft labels (N, C).

    ``alpha``: the Beta(alpha, alpha) concentration (0.2 is the paper's ImageNet value; larger
    mixes more). ``num_classes``: needed to one-hot integer labels. Random draws come from the
    ``rng`` passed in (the loader gives each batch its own), else ``generator``, else ember's
    global generator.
    """

    mixes_labels = True

    def __init__(self, alpha: float = 0.2, num_classes: int | None = None, generator=None):
        if not alpha > 0:
            raise ValueError(f"mixup alpha must be > 0, got {alpha}")
        self.alpha = float(alpha)
        self.num_classes = num_classes
        self.generator = generator

    def sample(self, x, y, rng=None):
        """Mix a batch: ``(x', y', lam, perm)`` so that ``x' = lam x + (1 - lam) x[perm]``."""
        rng = rng or self.generator or erandom.generator()
        xa = np.asarray(x.array if isinstance(x, Tensor) else x)
        ya = np.asarray(y.array if isinstance(y, Tensor) else y)
        if ya.ndim == 1:
            if self.num_classes is None:
                raise ValueError("Mixup needs num_classes to one-hot integer labels")
            ya = one_hot(ya, self.num_classes)
        elif ya.ndim != 2:
            raise ValueError(f"labels must be integers (N,) or probabilities (N, C), got shape {ya.shape}")
        n = xa.shape[0]
        if ya.shape[0] != n:
            raise ValueError(f"{n} images but {ya.shape[0]} labels")
        lam = rng.beta(self.alpha, self.alpha, size=n).astype(np.float32)
        perm = rng.permutation(n)
        shape = (n,) + (1,) * (xa.ndim - 1)
        lx = lam.reshape(shape)
        xm = (lx * xa + (1 - lx) * xa[perm]).astype(np.float32)
        ym = (lam[:, None] * ya + (1 - lam[:, None]) * ya[perm]).astype(np.float32)
        return xm, ym, lam, perm

    def __call__(self, x, y=None, rng=None):
        if y is None:
            raise ValueError("Mixup mixes labels too: call it as mixup(images, labels)")
        xm, ym, _, _ = self.sample(x, y, rng)
        if isinstance(x, Tensor):
            return Tensor._wrap(xm), Tensor._wrap(ym)
        return xm, ym

    def __repr__(self) -> str:
        return f"Mixup(alpha={self.alpha}, num_classes={self.num_classes})"


def soft_target_cross_entropy(logits: Tensor, target, reduction: str = "mean") -> Tensor:
    """Cross entropy against target distributions: ``-sum_c p_c log softmax(z)_c``, averaged over the batch.

    ``target`` is (N, C) probabilities (ndarray or Tensor; mixup's labels), or integer labels
    (N,), which are one-hot encoded (then this equals the ordinary cross entropy). Differentiable
    in ``logits`` (built from ``log_softmax``, ``mul``, ``sum``).
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"unknown reduction {reduction!r}; valid: mean, sum, none")
    if not isinstance(logits, Tensor):
        logits = Tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, C), got shape {logits.shape}")
    t = target.array if isinstance(target, Tensor) else np.asarray(target)
    if t.ndim == 1 and t.dtype.kind in "iu":
        t = one_hot(t, logits.shape[1])
    if t.shape != logits.shape:
        raise ValueError(f"target shape {t.shape} does not match logits {logits.shape}")
    probs = Tensor._wrap(t.astype(logits.dtype, copy=False))
    per_sample = ops.neg(ops.sum(ops.mul(probs, ops.log_softmax(logits, dim=1)), dim=1))
    if reduction == "none":
        return per_sample
    return ops.mean(per_sample) if reduction == "mean" else ops.sum(per_sample)
