"""The benchmark workloads, built identically in ember and in PyTorch.

Each workload is described once, as a list of layer specs; ``build(system, name)``
turns it into a model of either framework with the same weights (drawn from one
NumPy generator in parameter order) and the same input batch, and returns a
``step()`` closure: a training step (forward + backward + SGD update), or an
inference forward for W4.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# ----------------------------------------------------------------------------- specs


def mlp_spec():
    return [("linear", 784, 512), ("relu",), ("linear", 512, 512), ("relu",), ("linear", 512, 10)]


def lenet_spec():
    return [
        ("conv", 1, 6, 5, 1, 2), ("relu",), ("maxpool", 2),
        ("conv", 6, 16, 5, 1, 0), ("relu",), ("maxpool", 2),
        ("flatten",), ("linear", 16 * 5 * 5, 120), ("relu",), ("linear", 120, 84), ("relu",), ("linear", 84, 10),
    ]


@dataclass
class Workload:
    name: str
    title: str
    input_shape: tuple  # per sample
    batch: int
    train: bool
    spec: Callable | None  # None → ResNet-20 (built by its own function)


WORKLOADS = {
    "W1": Workload("W1", "MLP 784-512-512-10, batch 128, train step", (784,), 128, True, mlp_spec),
    "W2": Workload("W2", "LeNet-5 on 1x28x28, batch 128, train step", (1, 28, 28), 128, True, lenet_spec),
    "W3": Workload("W3", "ResNet-20 (CIFAR, BN) on 3x32x32, batch 64, train step", (3, 32, 32), 64, True, None),
    "W4": Workload("W4", "LeNet-5 inference, batch 1024", (1, 28, 28), 1024, False, lenet_spec),
}


# ----------------------------------------------------------------------------- FLOP counting


def _conv_out(h, k, s, p):
    return (h + 2 * p - k) // s + 1


def forward_flops(w: Workload) -> float:
    """Multiply-adds ×2 of the conv and linear layers for one forward pass of the batch."""
    macs = 0
    if w.spec is None:
        return 2.0 * w.batch * resnet20_macs()
    shape = w.input_shape
    for layer in w.spec():
        kind = layer[0]
        if kind == "linear":
            macs += layer[1] * layer[2]
            shape = (layer[2],)
        elif kind == "conv":
            _, cin, cout, k, s, p = layer
            h = _conv_out(shape[1], k, s, p)
            macs += cout * h * h * cin * k * k
            shape = (cout, h, h)
        elif kind == "maxpool":
            shape = (shape[0], shape[1] // layer[1], shape[2] // layer[1])
        elif kind == "flatten":
            shape = (int(np.prod(shape)),)
    return 2.0 * w.batch * macs


def resnet20_macs() -> int:
    macs = 16 * 32 * 32 * 3 * 9
    cin, h = 16, 32
    for stage, cout in enumerate((16, 32, 64)):
        for b in range(3):
            stride = 2 if (stage > 0 and b == 0) else 1
            h_out = h // stride
            macs += cout * h_out * h_out * cin * 9 + cout * h_out * h_out * cout * 9
            if stride != 1 or cin != cout:
                macs += cout * h_out * h_out * cin
            cin, h = cout, h_out
    return macs + 64 * 10


def step_flops(w: Workload) -> float:
    """Training ≈ 3× forward (forward, input gradient, weight gradient)."""
    f = forward_flops(w)
    return 3 * f if w.train else f


# ----------------------------------------------------------------------------- builders


def _build_seq(nn, spec):
    layers = []
    for layer in spec:
        kind = layer[0]
        if kind == "linear":
            layers.append(nn.Linear(layer[1], layer[2]))
        elif kind == "conv":
            _, cin, cout, k, s, p = layer
            layers.append(nn.Conv2d(cin, cout, k, stride=s, padding=p))
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind == "maxpool":
            layers.append(nn.MaxPool2d(layer[1]))
        elif kind == "flatten":
            layers.append(nn.Flatten())
    return nn.Sequential(*layers)


def _resnet20(nn, F):
    """He et al.'s CIFAR ResNet-20 with 1×1-conv (option B) shortcuts where the shape changes."""

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class ResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(16)
            blocks, cin = [], 16
            for stage, cout in enumerate((16, 32, 64)):
                for b in range(3):
                    blocks.append(Block(cin, cout, 2 if (stage > 0 and b == 0) else 1))
                    cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = F.relu(self.bn(self.conv(x)))
            x = self.blocks(x)
            return self.fc(self.pool(x).flatten(1))

    return ResNet20()


def _same_weights(params, rng):
    """Assign every parameter from one generator, in order (so both frameworks hold equal weights)."""
    out = []
    for shape in params:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        out.append((rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32))
    return out


def _step_fn(lib, model, x, y, train: bool):
    """The timed closure, written once for both frameworks (``lib`` is ember or torch)."""
    params = list(model.parameters())
    opt = lib.optim.SGD(params, lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()
    if not train:
        model.eval()

        def infer():
            with lib.no_grad():
                return model(x)

        return infer

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def build(system: str, name: str, zoo: bool = False):
    """Return (step_fn, n_params) for ``system`` in {'ember', 'torch'}: same weights, same batch."""
    w = WORKLOADS[name]
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal((w.batch,) + w.input_shape).astype(np.float32)
    y_np = rng.integers(0, 10, w.batch)
    if system == "torch":
        import torch as lib
    else:
        import ember as lib
    nn, F = lib.nn, lib.nn.functional
    lib.manual_seed(0)
    if w.spec is not None:
        model = _build_seq(nn, w.spec())
    elif zoo and system == "ember":
        from ember import models

        model = models.get("resnet20", num_classes=10, in_channels=3)
    else:
        model = _resnet20(nn, F)
    params = list(model.parameters())
    with lib.no_grad():
        for p, v in zip(params, _same_weights([tuple(p.shape) for p in params], rng)):
            p.copy_(lib.from_numpy(v))
    x, y = lib.from_numpy(x_np), lib.from_numpy(y_np)
    return _step_fn(lib, model, x, y, w.train), sum(int(np.prod(p.shape)) for p in params)


def engine_overhead_us(n_ops: int = 1000, repeats: int = 5) -> float:
    """µs per op for a chain of n small ops, forward + backward (graph building and Python dispatch)."""
    import time

    import ember

    best = float("inf")
    for _ in range(repeats):
        x = ember.randn(4, 4, requires_grad=True)
        t0 = time.perf_counter()
        y = x
        for i in range(n_ops):
            y = y * 1.0001 if i % 2 else y + 0.001
        y.sum().backward()
        best = min(best, time.perf_counter() - t0)
    return best / n_ops * 1e6
