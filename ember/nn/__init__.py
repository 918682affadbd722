"""ember.nn: modules, layers, initialisation and losses (PyTorch's names)."""
from ember.nn.module import Module, Parameter  # noqa: F401
from ember.nn.containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential  # noqa: F401
from ember.nn import functional, init  # noqa: F401
from ember.nn.layers import *  # noqa: F401,F403
from ember.nn import utils  # noqa: F401,E402  (clip_grad_norm_, parameters_to_vector, ...)
