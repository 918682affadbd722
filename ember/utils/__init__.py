"""``ember.utils.data``: where PyTorch code looks for datasets and the DataLoader (``torch.utils.data``);
``ember.utils.checkpoint``: activation checkpointing (``torch.utils.checkpoint``);
``ember.utils.tensorboard``: ``SummaryWriter`` (``torch.utils.tensorboard``), imported on first use since it
needs the optional ``tensorboard`` package."""
from ember.utils import checkpoint, data

__all__ = ["checkpoint", "data", "tensorboard"]


def __getattr__(name: str):
    # ``ember.utils.tensorboard`` without importing it first; importing it raises, naming the package to
    # install, when tensorboard is missing; ``import ember`` never pays for it.
    if name == "tensorboard":
        import importlib

        return importlib.import_module("ember.utils.tensorboard")
    raise AttributeError(f"module 'ember.utils' has no attribute {name!r}")
