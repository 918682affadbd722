"""ember.nn.utils: gradient clipping, flattening parameters into one vector, weight and spectral normalisation,
and parametrizations (PyTorch's names; ``parametrize`` and ``parametrizations`` are submodules, as there)."""
from ember.nn.utils.clip_grad import (  # noqa: F401
    clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm,
)
from ember.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from ember.nn.utils.weight_norm import remove_weight_norm, weight_norm  # noqa: F401
from ember.nn.utils.spectral_norm import remove_spectral_norm, spectral_norm  # noqa: F401
from ember.nn.utils import parametrize, parametrizations  # noqa: F401,E402
from ember.nn.utils import rnn  # noqa: F401,E402  (pack_padded_sequence, pad_sequence, ...)

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
           "parameters_to_vector", "vector_to_parameters", "weight_norm", "remove_weight_norm", "spectral_norm",
           "remove_spectral_norm", "parametrize", "parametrizations", "rnn"]
