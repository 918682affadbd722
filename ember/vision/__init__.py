"""ember.vision: torchvision's layout over ember — ``from ember.vision import datasets, transforms, models``.

Code written for torchvision runs with the imports changed::

    import ember
    import ember.nn as nn
    from ember.data import DataLoader
    from ember.vision import datasets, models, transforms

    ember.manual_seed(0)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    train = datasets.FashionMNIST(root="data", train=True, download=True, transform=transform)
    loader = DataLoader(train, batch_size=128, shuffle=True)
    model = models.resnet18(weights=None, num_classes=10, in_channels=1, input_size=28)
    optimizer = ember.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for images, labels in loader:  # images: float32 (128, 1, 28, 28) in [-1, 1], labels int64
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()

What differs from torchvision, and why:

* datasets hand out float32 (C, H, W) arrays in [0, 1] rather than PIL images (the loader can
  then batch them without a per-sample conversion); ``ToTensor`` lets them through, and every
  transform also takes PIL images, HWC uint8 arrays and Tensors;
* ``download`` defaults to True and looks in local copies first (see :mod:`ember.data.sources`);
* random transforms also take whole NCHW batches (drawing per image), so they can be the
  DataLoader's batch ``transform=`` (faster than per sample, and reproducible per batch);
* models take ``in_channels`` and ``input_size`` (small inputs use each family's small-input
  stem), and ``weights`` must be None: ember downloads no pretrained weights.
"""
from ember.vision import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
