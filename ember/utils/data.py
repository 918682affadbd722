"""PyTorch's ``torch.utils.data`` names, so ``from ember.utils.data import DataLoader, TensorDataset`` works.

The implementations live in :mod:`ember.data` (which also holds ember's datasets, augmentation and
preprocessing); this module only re-exports the generic pieces.
"""
from ember.data.dataset import Dataset, Subset, TensorDataset, random_split  # noqa: F401
from ember.data.loader import DataLoader  # noqa: F401

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "random_split"]
