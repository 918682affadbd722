"""``ember.distributions``: PyTorch's ``torch.distributions`` for the distributions training code uses most.

``Normal``, ``Uniform`` (reparameterised ``rsample``), ``Bernoulli``, ``Categorical`` (``sample`` only:
discrete draws carry no gradient), each with ``log_prob``, ``entropy``, ``mean``, ``variance``/``stddev``,
``batch_shape``/``event_shape`` and PyTorch's argument validation; ``kl_divergence`` for Normal–Normal,
Bernoulli–Bernoulli, Categorical–Categorical and Uniform–Uniform, extensible with ``register_kl``.
Everything is composed of ember tensor ops, so autograd differentiates it.
"""
from ember.distributions.bernoulli import Bernoulli
from ember.distributions.categorical import Categorical
from ember.distributions.distribution import Distribution
from ember.distributions.kl import kl_divergence, register_kl
from ember.distributions.normal import Normal
from ember.distributions.uniform import Uniform

__all__ = ["Bernoulli", "Categorical", "Distribution", "Normal", "Uniform", "kl_divergence", "register_kl"]
