"""``ember.utils.data``: where PyTorch code looks for datasets and the DataLoader (``torch.utils.data``)."""
from ember.utils import data

__all__ = ["data"]
