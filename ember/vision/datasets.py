"""torchvision.datasets' names for ember's datasets: ``datasets.FashionMNIST(root, train=True, ...)``.

Samples are float32 (C, H, W) arrays in [0, 1] (what torchvision's ``ToTensor`` would make of
its PIL images), so ``transforms.ToTensor()`` first in a pipeline only turns them into Tensors.
"""
from ember.data.cifar import CIFAR10
from ember.data.folder import ImageFolder
from ember.data.mnist import MNIST, FashionMNIST

__all__ = ["CIFAR10", "FashionMNIST", "ImageFolder", "MNIST"]
