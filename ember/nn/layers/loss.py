"""Loss modules (NOTES §3): thin wrappers over :mod:`ember.nn.functional.loss` that hold the options.
Class weights are buffers, so they follow ``state_dict()`` like PyTorch's."""
from __future__ import annotations

import numpy as np

from ember.nn.functional import loss as L
from ember.nn.functional.ctc import ctc_loss
from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
           "BCEWithLogitsLoss", "KLDivLoss", "MultiMarginLoss", "HingeLoss", "TripletMarginLoss",
           "CosineEmbeddingLoss", "CTCLoss"]


class _Loss(Module):
    _reductions = ("mean", "sum", "none")

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in self._reductions:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {list(self._reductions)}, "
                             f"got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        if weight is not None:
            weight = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight, dtype=np.float32))
            if weight.ndim != 1:
                raise ValueError(f"{type(self).__name__}: weight must be a 1-D tensor (one per class), "
                                 f"got shape {weight.shape}")
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy from logits (log-softmax + NLL fused); targets are class indices or class
    probabilities of the input's shape. See :func:`ember.nn.functional.cross_entropy`."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__(weight, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
        self.ignore_index, self.label_smoothing = int(ignore_index), float(label_smoothing)

    def forward(self, input: Tensor, target) -> Tensor:
        return L.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)

    def extra_repr(self) -> str:
        parts = [super().extra_repr()] + ([f"label_smoothing={self.label_smoothing}"] if self.label_smoothing else [])
        return ", ".join(p for p in parts if p)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (pair with LogSoftmax)."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(weight, reduction)
        self.ignore_index = int(ignore_index)

    def forward(self, input: Tensor, target) -> Tensor:
        return L.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Mean squared error (x − y)²."""

    def forward(self, input: Tensor, target) -> Tensor:
        return L.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |x − y|."""

    def forward(self, input: Tensor, target) -> Tensor:
        return L.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """0.5·d²/β for |d| < β, |d| − 0.5·β otherwise."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        if beta < 0:
            raise ValueError(f"SmoothL1Loss: beta must be non-negative, got {beta}")
        self.beta = float(beta)

    def forward(self, input: Tensor, target) -> Tensor:
        return L.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """0.5·d² for |d| ≤ δ, δ·(|d| − 0.5·δ) otherwise."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        if delta <= 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = float(delta)

    def forward(self, input: Tensor, target) -> Tensor:
        return L.huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross entropy of probabilities (after a sigmoid); prefer BCEWithLogitsLoss."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(None, reduction)
        self.register_buffer("weight", None if weight is None else
                             (weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight, np.float32))))

    def forward(self, input: Tensor, target) -> Tensor:
        return L.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross entropy in one stable expression; ``pos_weight`` up-weights positives."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)

        def buf(v):
            return None if v is None else (v if isinstance(v, Tensor) else Tensor(np.asarray(v, np.float32)))

        self.register_buffer("weight", buf(weight))
        self.register_buffer("pos_weight", buf(pos_weight))

    def forward(self, input: Tensor, target) -> Tensor:
        return L.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class KLDivLoss(_Loss):
    """KL(p ‖ q) from log q (``input``) and p (``target``, or log p with ``log_target=True``);
    use ``reduction='batchmean'`` for the mathematically correct per-sample KL."""

    _reductions = ("mean", "sum", "none", "batchmean")

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = bool(log_target)

    def forward(self, input: Tensor, target) -> Tensor:
        return L.kl_div(input, target, self.reduction, self.log_target)


class MultiMarginLoss(_WeightedLoss):
    """The multi-class SVM loss (1/C)·Σ_{i≠y} max(0, margin − x_y + x_i)^p."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"):
        super().__init__(weight, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p!r}")
        self.p, self.margin = p, float(margin)

    def forward(self, input: Tensor, target) -> Tensor:
        return L.multi_margin_loss(input, target, self.p, self.margin, self.weight, self.reduction)

    def extra_repr(self) -> str:
        return ", ".join(x for x in (f"p={self.p}, margin={self.margin}", super().extra_repr()) if x)


class HingeLoss(MultiMarginLoss):
    """The multi-class SVM (hinge) loss with margin 1: ``MultiMarginLoss(p=1, margin=1)``."""

    def __init__(self, margin: float = 1.0, weight=None, reduction: str = "mean"):
        super().__init__(1, margin, weight, reduction)


class TripletMarginLoss(_Loss):
    """max(d(a, p) − d(a, n) + margin, 0) on (anchor, positive, negative) embeddings, d the p-distance."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False,
                 reduction: str = "mean"):
        super().__init__(reduction)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or margin < 0:
            raise ValueError(f"TripletMarginLoss: margin must be a non-negative number, got {margin!r}")
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
            raise ValueError(f"TripletMarginLoss: p must be a positive number, got {p!r}")
        self.margin, self.p, self.eps, self.swap = float(margin), float(p), float(eps), bool(swap)

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return L.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                     self.reduction)


class CosineEmbeddingLoss(_Loss):
    """1 − cos(x1, x2) for pairs labelled 1, max(0, cos(x1, x2) − margin) for pairs labelled −1."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not -1.0 <= margin <= 1.0:
            raise ValueError(f"CosineEmbeddingLoss: margin must be a number in [-1, 1], got {margin!r}")
        self.margin = float(margin)

    def forward(self, input1: Tensor, input2: Tensor, target) -> Tensor:
        return L.cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)


class CTCLoss(_Loss):
    """Connectionist temporal classification: −log p(target | frames) summed over every alignment of the
    target to the frames, for unsegmented sequence labelling. ``forward(log_probs, targets, input_lengths,
    target_lengths)``; see :func:`ember.nn.functional.ctc_loss` for the shapes. ``zero_infinity`` zeroes the
    losses (and gradients) of targets too long for their frames instead of returning inf."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False):
        super().__init__(reduction)
        if isinstance(blank, bool) or not isinstance(blank, int) or blank < 0:
            raise ValueError(f"CTCLoss: blank must be a non-negative class index, got {blank!r}")
        self.blank, self.zero_infinity = blank, bool(zero_infinity)

    def forward(self, log_probs: Tensor, targets, input_lengths, target_lengths) -> Tensor:
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction,
                        self.zero_infinity)

    def extra_repr(self) -> str:
        parts = [f"blank={self.blank}"] if self.blank else []
        parts += [super().extra_repr()] + (["zero_infinity=True"] if self.zero_infinity else [])
        return ", ".join(p for p in parts if p)
