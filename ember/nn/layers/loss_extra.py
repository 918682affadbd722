"""Loss modules over :mod:`ember.nn.functional.loss_extra`: they hold the options (PyTorch's signatures,
less the deprecated ``size_average``/``reduce``); a class weight is a buffer, so it follows ``state_dict()``."""
from __future__ import annotations

from ember.nn.functional import loss_extra as L
from ember.nn.layers.loss import _Loss, _WeightedLoss
from ember.tensor import Tensor

__all__ = ["MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
           "MultiLabelMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss"]


def _number(value, name: str, cls: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{cls}: {name} must be a number, got {value!r}")
    return float(value)


def _join(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


class MarginRankingLoss(_Loss):
    """max(0, −y·(x₁ − x₂) + margin) for y = ±1 saying which of x₁, x₂ should rank higher."""

    def __init__(self, margin: float = 0.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = _number(margin, "margin", "MarginRankingLoss")

    def forward(self, input1: Tensor, input2: Tensor, target) -> Tensor:
        return L.margin_ranking_loss(input1, input2, target, self.margin, self.reduction)

    def extra_repr(self) -> str:
        return _join(f"margin={self.margin}", super().extra_repr())


class HingeEmbeddingLoss(_Loss):
    """x where y = 1, max(0, margin − x) where y = −1 (x a distance between a pair)."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = _number(margin, "margin", "HingeEmbeddingLoss")

    def forward(self, input: Tensor, target) -> Tensor:
        return L.hinge_embedding_loss(input, target, self.margin, self.reduction)

    def extra_repr(self) -> str:
        return _join(f"margin={self.margin}", super().extra_repr())


class SoftMarginLoss(_Loss):
    """The two-class logistic loss log(1 + exp(−y·x)), y = ±1."""

    def forward(self, input: Tensor, target) -> Tensor:
        return L.soft_margin_loss(input, target, self.reduction)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One-versus-all logistic loss (1/C)·Σ_c w_c·(y_c·softplus(−x_c) + (1 − y_c)·softplus(x_c)), y_c ∈ {0, 1}
    per class."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(weight, reduction)

    def forward(self, input: Tensor, target) -> Tensor:
        return L.multilabel_soft_margin_loss(input, target, self.weight, self.reduction)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge Σ_{j ∈ J} Σ_{i ∉ J} max(0, 1 − (x[y_j] − x[i]))/C, the target listing the positive
    classes J and ended by −1."""

    def forward(self, input: Tensor, target) -> Tensor:
        return L.multilabel_margin_loss(input, target, self.reduction)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood: exp(x) − y·x (``log_input``) or x − y·log(x + eps); ``full`` adds
    Stirling's term y·log y − y + ½·log(2πy) for y > 1."""

    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8, reduction: str = "mean"):
        super().__init__(reduction)
        self.log_input, self.full = bool(log_input), bool(full)
        self.eps = _number(eps, "eps", "PoissonNLLLoss")

    def forward(self, log_input: Tensor, target) -> Tensor:
        return L.poisson_nll_loss(log_input, target, self.log_input, self.full, self.eps, self.reduction)

    def extra_repr(self) -> str:
        parts = [] if self.log_input else ["log_input=False"]
        parts += (["full=True"] if self.full else []) + ([f"eps={self.eps}"] if self.eps != 1e-8 else [])
        return _join(*parts, super().extra_repr())


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood ½·(log max(var, eps) + (x − y)²/max(var, eps)) (+ ½·log 2π with
    ``full``); ``forward(input, target, var)``, var shaped as :func:`ember.nn.functional.gaussian_nll_loss`
    allows."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean"):
        super().__init__(reduction)
        self.full = bool(full)
        self.eps = _number(eps, "eps", "GaussianNLLLoss")

    def forward(self, input: Tensor, target, var) -> Tensor:
        return L.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)

    def extra_repr(self) -> str:
        parts = (["full=True"] if self.full else []) + ([f"eps={self.eps}"] if self.eps != 1e-6 else [])
        return _join(*parts, super().extra_repr())
