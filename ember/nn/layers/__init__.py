"""Layers, one module per family (the folder is the table of contents)."""
from ember.nn.layers.activation import *  # noqa: F401,F403
from ember.nn.layers.attention import *  # noqa: F401,F403
from ember.nn.layers.conv import *  # noqa: F401,F403
from ember.nn.layers.distance import *  # noqa: F401,F403
from ember.nn.layers.dropout import *  # noqa: F401,F403
from ember.nn.layers.flatten import *  # noqa: F401,F403
from ember.nn.layers.linear import *  # noqa: F401,F403
from ember.nn.layers.loss import *  # noqa: F401,F403
from ember.nn.layers.normalization import *  # noqa: F401,F403
from ember.nn.layers.padding import *  # noqa: F401,F403
from ember.nn.layers.pooling import *  # noqa: F401,F403
from ember.nn.layers.sparse import *  # noqa: F401,F403
from ember.nn.layers.upsampling import *  # noqa: F401,F403
from ember.nn.layers.transformer import *  # noqa: F401,F403
from ember.nn.layers.fold import *  # noqa: F401,F403
from ember.nn.layers.bilinear import *  # noqa: F401,F403
from ember.nn.layers.rnn import *  # noqa: F401,F403
from ember.nn.layers.loss_extra import *  # noqa: F401,F403
from ember.nn.layers.lazy import *  # noqa: F401,F403
from ember.nn.layers import (activation, attention, bilinear, conv, distance, dropout, flatten, fold, linear, loss,
                             lazy, loss_extra,
                             normalization, padding, pooling, rnn, sparse, transformer, upsampling)

__all__ = (activation.__all__ + attention.__all__ + bilinear.__all__ + conv.__all__ + distance.__all__
           + dropout.__all__ + flatten.__all__ + fold.__all__ + linear.__all__ + loss.__all__
           + lazy.__all__ + loss_extra.__all__ + normalization.__all__
           + padding.__all__ + pooling.__all__ + rnn.__all__ + sparse.__all__ + transformer.__all__
           + upsampling.__all__)
