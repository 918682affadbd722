"""ember.nn.functional: stateless layer functions (PyTorch's names). One module per family."""
from ember.nn.functional.activation import *  # noqa: F401,F403
from ember.nn.functional.attention import *  # noqa: F401,F403
from ember.nn.functional.conv import *  # noqa: F401,F403
from ember.nn.functional.distance import *  # noqa: F401,F403
from ember.nn.functional.dropout import *  # noqa: F401,F403
from ember.nn.functional.linear import *  # noqa: F401,F403
from ember.nn.functional.normalization import *  # noqa: F401,F403
from ember.nn.functional.padding import *  # noqa: F401,F403
from ember.nn.functional.loss import *  # noqa: F401,F403
from ember.nn.functional.penalty import *  # noqa: F401,F403
from ember.nn.functional.sparse import *  # noqa: F401,F403
from ember.nn.functional.upsampling import *  # noqa: F401,F403
from ember.nn.functional.vision import *  # noqa: F401,F403
from ember.nn.functional.fold import *  # noqa: F401,F403
from ember.nn.functional.gumbel import *  # noqa: F401,F403
from ember.nn.functional.bilinear import *  # noqa: F401,F403
from ember.nn.functional.ctc import *  # noqa: F401,F403
