"""PyTorch's ``torch.utils.data`` names, so ``from ember.utils.data import DataLoader, TensorDataset`` works.

The implementations live in :mod:`ember.data` (which also holds ember's datasets, augmentation and
preprocessing); this module only re-exports the generic pieces.
"""
from ember.data.collate import default_collate, default_convert  # noqa: F401
from ember.data.dataset import (  # noqa: F401
    ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset, random_split,
)
from ember.data.loader import DataLoader  # noqa: F401
from ember.data.sampler import (  # noqa: F401
    BatchSampler, DistributedSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
    WeightedRandomSampler,
)
from ember.data.worker import WorkerInfo, get_worker_info  # noqa: F401

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
    "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset",
    "SubsetRandomSampler",
    "TensorDataset", "WeightedRandomSampler",
    "WorkerInfo", "default_collate", "default_convert", "get_worker_info", "random_split",
]
