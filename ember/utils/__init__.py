"""``ember.utils.data``: where PyTorch code looks for datasets and the DataLoader (``torch.utils.data``);
``ember.utils.checkpoint``: activation checkpointing (``torch.utils.checkpoint``)."""
from ember.utils import checkpoint, data

__all__ = ["checkpoint", "data"]
