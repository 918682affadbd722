"""ember.nn.functional: stateless layer functions (PyTorch's names). One module per family."""
from ember.nn.functional.activation import *  # noqa: F401,F403
from ember.nn.functional.conv import *  # noqa: F401,F403
