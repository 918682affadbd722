"""torchvision.models' calling convention over ember's zoo: ``models.resnet18(weights=None, num_classes=10)``.

Every builder of :mod:`ember.models` is here under its own name and takes torchvision's
``weights`` and ``progress`` (and the older ``pretrained``) besides its own arguments
(``num_classes``, ``in_channels``, ``input_size``, ...). ember has no pretrained weights to
download, so any ``weights`` other than None (or ``pretrained=True``) is refused with an error
rather than silently giving an untrained network.
"""
from __future__ import annotations

import functools
from typing import Callable

import ember.models as _zoo  # importing the zoo registers every builder
from ember.models import registry as _registry
from ember.models.registry import list_models


# torchvision's defaults where they differ from the zoo's: its untrained GoogLeNet has the auxiliary classifiers
# (and returns GoogLeNetOutputs while training); ember's zoo leaves them out unless asked.
TORCHVISION_DEFAULTS = {"googlenet": {"aux_logits": True}}


def _no_pretrained(builder: Callable) -> Callable:
    name = builder.__name__
    defaults = TORCHVISION_DEFAULTS.get(name, {})

    @functools.wraps(builder)
    def build(*args, weights=None, progress: bool = True, pretrained: bool = False, **kwargs):
        if weights is not None or pretrained:
            given = f"weights={weights!r}" if weights is not None else "pretrained=True"
            raise ValueError(f"{name}({given}): ember has no pretrained weights to download; build with "
                             "weights=None and train it, or load a state_dict you saved with ember.save")
        return builder(*args, **{**defaults, **kwargs})

    return build


def get_model(name: str, *, weights=None, **kwargs):
    """torchvision's ``get_model``: build the model called ``name`` (case-insensitive)."""
    return _no_pretrained(_registry._builder(name))(weights=weights, **kwargs)


for _name in list_models():
    globals()[_name] = _no_pretrained(getattr(_zoo, _name))

__all__ = ["get_model", "list_models", *list_models()]
