"""ember.vision: torchvision's layout, end to end on a small generated Fashion-MNIST directory."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data import DataLoader
from ember.vision import datasets, models, transforms
from tests.data.conftest import make_mnist_dir


def test_fashion_mnist_pipeline_through_the_loader(tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_DATA", str(tmp_path / "cache"))
    written = make_mnist_dir(tmp_path / "data" / "FashionMNIST" / "raw", n_train=40)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train = datasets.FashionMNIST(root=tmp_path / "data", train=True, download=False, transform=transform)
    images, labels = next(iter(DataLoader(train, batch_size=16, shuffle=False)))
    assert images.shape == (16, 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (16,) and labels.dtype == np.int64
    assert images.array.min() >= -1.0 and images.array.max() <= 1.0 and images.array.min() < -0.9
    np.testing.assert_allclose(images.array[:, 0], written["train"][0][:16] / 255.0 * 2 - 1, atol=1e-6)
    np.testing.assert_array_equal(labels.array, written["train"][1][:16])


def test_namespaces_hold_torchvisions_names():
    for name in ("MNIST", "FashionMNIST", "CIFAR10", "ImageFolder"):
        assert hasattr(datasets, name)
    for name in ("Compose", "ToTensor", "Normalize", "Resize", "CenterCrop", "RandomCrop", "RandomErasing",
                 "RandomHorizontalFlip", "ColorJitter", "Grayscale", "GaussianBlur", "InterpolationMode"):
        assert hasattr(transforms, name)
    x = np.random.default_rng(0).random((3, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(transforms.functional.hflip(x), x[..., ::-1])


def test_models_take_weights_none_and_refuse_pretrained():
    ember.manual_seed(0)
    net = models.lenet5(weights=None, num_classes=10)
    assert net(ember.randn(2, 1, 32, 32)).shape == (2, 10)
    assert type(models.resnet18(weights=None, num_classes=3)).__name__ == "ResNet"
    with pytest.raises(ValueError, match="resnet18.*no pretrained weights"):
        models.resnet18(weights="IMAGENET1K_V1")
    with pytest.raises(ValueError, match="pretrained=True"):
        models.vgg16(pretrained=True)
    assert type(models.get_model("mobilenet_v2", num_classes=4)).__name__ == "MobileNetV2"
