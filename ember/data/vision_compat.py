"""What MNIST, FashionMNIST and CIFAR10 share to take torchvision's constructor forms.

torchvision picks the split with ``train=True/False`` and transforms labels with
``target_transform``; ember picks it with ``split="train"/"test"``. Both forms are accepted
(and a bool where ``split`` goes positionally, which is torchvision's ``MNIST(root, True)``).
"""
from __future__ import annotations

from typing import Callable


def resolve_split(split, train) -> str:
    """The split name from ember's ``split`` and/or torchvision's ``train``; an error when they disagree."""
    if isinstance(split, bool):  # torchvision's second positional argument is train
        if train is not None and train != split:
            raise ValueError(f"train is given twice with different values: {split!r} and {train!r}")
        split, train = None, split
    if train is not None:
        if not isinstance(train, bool):
            raise TypeError(f"train must be True or False, got {train!r}")
        wanted = "train" if train else "test"
        if split is not None and split != wanted:
            raise ValueError(f"split={split!r} and train={train} disagree; give one of them")
        return wanted
    return "train" if split is None else split


def check_target_transform(target_transform) -> Callable | None:
    if target_transform is not None and not callable(target_transform):
        raise TypeError(f"target_transform must be callable, got {type(target_transform).__name__}")
    return target_transform


class TargetTransformMixin:
    """``target_transform`` applied to each label; the loader then reads samples one by one."""

    target_transform: Callable | None = None

    def __getitem__(self, index):
        image, label = super().__getitem__(index)
        return image, (label if self.target_transform is None else self.target_transform(label))

    def has_arrays(self) -> bool:
        """False with a target_transform, so the loader does not batch the raw label arrays past it."""
        return self.target_transform is None
