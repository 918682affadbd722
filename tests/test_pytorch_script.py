"""A classic PyTorch training script runs on ember with only its imports changed.

The body below is written the way PyTorch tutorials and user code write it (device boilerplate,
torchvision-style datasets and transforms, ``.data`` idioms, in-place init, clipping, a schedule,
``torch.max(outputs.data, 1)``, save/load of a state_dict). The imports alias ember's modules to
PyTorch's names; nothing else is adapted.
"""
from pathlib import Path

import numpy as np
import pytest

from ember.data.idx import write_idx


def _learnable_fashion_dir(directory: Path, n_train: int = 320, n_test: int = 100) -> None:
    """A Fashion-MNIST-layout directory whose class is visible: class c lights rows 2c..2c+3."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(y):
            x[i, 2 * c + 3: 2 * c + 7, 4:24] = 220
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", y)


def test_a_pytorch_training_script_runs_unchanged(tmp_path):
    import ember as torch
    import ember.nn as nn
    import ember.nn.functional as F
    import ember.optim as optim
    from ember.utils.data import DataLoader
    from ember.vision import datasets, transforms

    root = tmp_path / "data"
    _learnable_fashion_dir(root)

    # ---------------------------------------------------------------- the script, as PyTorch users write it
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])
    trainset = datasets.FashionMNIST(root=root, train=True, download=False, transform=transform)
    testset = datasets.FashionMNIST(root=root, train=False, download=False, transform=transform)
    trainloader = DataLoader(trainset, batch_size=32, shuffle=True, num_workers=0, pin_memory=True)
    testloader = DataLoader(testset, batch_size=50, shuffle=False)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.dropout = nn.Dropout(0.25)
            self.fc1 = nn.Linear(8 * 14 * 14, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
            x = torch.flatten(x, 1)
            return self.fc1(self.dropout(x))

    def weights_init(m):
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.Linear):
            m.weight.data.normal_(0.0, 0.01)
            m.bias.data.zero_()

    net = Net().to(device)
    net.apply(weights_init)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    for epoch in range(4):
        net.train()
        running_loss = 0.0
        for i, data in enumerate(trainloader, 0):
            inputs, labels = data[0].to(device), data[1].to(device)
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=5.0)
            optimizer.step()
            running_loss += loss.item()
        scheduler.step()

    net.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in testloader:
            outputs = net(images.to(device))
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

    path = tmp_path / "net.pth"
    torch.save(net.state_dict(), path)
    net2 = Net()
    net2.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    net2.eval()
    with torch.no_grad():
        same = torch.equal(net2(images), net(images))
    # ---------------------------------------------------------------- what it must have achieved

    assert total == 100 and correct / total > 0.8, f"test accuracy {correct}/{total}"
    assert same
    assert scheduler.get_last_lr() == [pytest.approx(0.0125)]
