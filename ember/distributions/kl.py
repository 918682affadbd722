"""KL(p ‖ q) = E_p[log p − log q] in closed form for pairs of distributions, PyTorch's registry and all.

Each formula is written with ember tensor ops, so the divergence is differentiable in both distributions'
parameters (a VAE's KL term, a policy's trust region) with no gradient code of its own.
"""
from __future__ import annotations

from typing import Callable

from ember.distributions.bernoulli import Bernoulli
from ember.distributions.categorical import Categorical
from ember.distributions.distribution import Distribution
from ember.distributions.normal import Normal
from ember.distributions.uniform import Uniform
from ember.nn.functional import softplus
from ember.ops import api as _ops
from ember.tensor import Tensor

__all__ = ["kl_divergence", "register_kl"]

_KL: dict[tuple[type, type], Callable] = {}


def register_kl(type_p: type, type_q: type) -> Callable[[Callable], Callable]:
    """Decorator: ``@register_kl(MyP, MyQ) def kl(p, q): ...`` makes ``kl_divergence`` use it for that pair
    (and for subclasses, unless a more specific pair is registered)."""
    for t in (type_p, type_q):
        if not (isinstance(t, type) and issubclass(t, Distribution)):
            raise TypeError(f"register_kl expects subclasses of Distribution, got {t!r}")

    def decorator(fn: Callable) -> Callable:
        _KL[type_p, type_q] = fn
        return fn

    return decorator


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p ‖ q), one value per element of the batch shape."""
    mro_p, mro_q = type(p).__mro__, type(q).__mro__
    matches = [(mro_p.index(tp) + mro_q.index(tq), fn) for (tp, tq), fn in _KL.items()
               if isinstance(p, tp) and isinstance(q, tq)]
    if not matches:
        raise NotImplementedError(f"No KL(p || q) is implemented for p = {type(p).__name__}, q = "
                                  f"{type(q).__name__}; the pairs known are "
                                  + ", ".join(f"({a.__name__}, {b.__name__})" for a, b in _KL))
    return min(matches, key=lambda m: m[0])[1](p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    """½(r + ((μp − μq)/σq)² − 1 − log r), r = (σp/σq)²."""
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - _ops.log(var_ratio))


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    """p·log(p/q) + (1 − p)·log((1 − p)/(1 − q)) through softplus of the logits (log p = −softplus(−logit)),
    with the limits written out: 0·log 0 = 0, and +inf where q gives zero mass to what p can draw."""
    pp, qp = p.probs.array, q.probs.array
    t1 = p.probs * (softplus(-q.logits) - softplus(-p.logits))
    t1 = _ops.where(pp == 0, 0.0, _ops.where(qp == 0, float("inf"), t1))
    t2 = (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    t2 = _ops.where(pp == 1, 0.0, _ops.where(qp == 1, float("inf"), t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    """Σ_k p_k (log p_k − log q_k), with 0·log 0 = 0 and +inf where q_k = 0 < p_k."""
    t = p.probs * (p.logits - q.logits)
    pp, qp = p.probs.array, q.probs.array
    t = _ops.where(pp == 0, 0.0, _ops.where(qp == 0, float("inf"), t))
    return t.sum(-1)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p: Uniform, q: Uniform) -> Tensor:
    """log((q.high − q.low)/(p.high − p.low)) when q's interval holds p's, else +inf."""
    result = _ops.log((q.high - q.low) / (p.high - p.low))
    outside = (q.low.array > p.low.array) | (q.high.array < p.high.array)
    return _ops.where(outside, float("inf"), result)
