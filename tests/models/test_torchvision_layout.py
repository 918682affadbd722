"""DenseNet and GoogLeNet carry torchvision's module names: the state_dict keys are torchvision's, and a
PyTorch model built as torchvision builds it (its module layout transcribed below, small configurations)
computes the same outputs after loading ember's state_dict."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

import ember
import ember.models as zoo
from ember.vision import models as vision_models

BN = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def _densenet_keys(block_config, stem=True) -> list[str]:
    keys = ["features.conv0.weight"] + ([f"features.norm0.{k}" for k in BN] if stem else [])
    for b, n in enumerate(block_config, 1):
        for i in range(1, n + 1):
            p = f"features.denseblock{b}.denselayer{i}."
            keys += [f"{p}norm1.{k}" for k in BN] + [p + "conv1.weight"] + [f"{p}norm2.{k}" for k in BN]
            keys += [p + "conv2.weight"]
        if b < len(block_config):
            p = f"features.transition{b}."
            keys += [f"{p}norm.{k}" for k in BN] + [p + "conv.weight"]
    return keys + [f"features.norm5.{k}" for k in BN] + ["classifier.weight", "classifier.bias"]


def _googlenet_keys(aux: bool) -> list[str]:
    def basic(p):
        return [p + "conv.weight"] + [f"{p}bn.{k}" for k in BN]

    keys = basic("conv1.") + basic("conv2.") + basic("conv3.")
    for name in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"):
        p = f"inception{name}."
        keys += basic(p + "branch1.") + basic(p + "branch2.0.") + basic(p + "branch2.1.")
        keys += basic(p + "branch3.0.") + basic(p + "branch3.1.") + basic(p + "branch4.1.")
    if aux:
        for a in ("aux1.", "aux2."):
            keys += basic(a + "conv.") + [a + "fc1.weight", a + "fc1.bias", a + "fc2.weight", a + "fc2.bias"]
    return keys + ["fc.weight", "fc.bias"]


def test_densenet_state_dict_keys_are_torchvisions():
    assert list(zoo.densenet121().state_dict()) == _densenet_keys((6, 12, 24, 16))
    assert list(zoo.densenet169().state_dict()) == _densenet_keys((6, 12, 32, 32))
    small = zoo.densenet121(num_classes=10, input_size=32)  # the small-input stem is one 3×3 conv
    assert list(small.state_dict()) == _densenet_keys((6, 12, 24, 16), stem=False)


def test_googlenet_state_dict_keys_are_torchvisions():
    assert list(zoo.googlenet().state_dict()) == _googlenet_keys(aux=False)
    assert list(zoo.googlenet(aux_logits=True).state_dict()) == _googlenet_keys(aux=True)


def test_googlenet_with_auxiliary_heads_returns_torchvisions_outputs_while_training():
    model = zoo.googlenet(num_classes=5, input_size=32, aux_logits=True)
    out = model(ember.randn(2, 3, 32, 32))
    assert type(out).__name__ == "GoogLeNetOutputs" and out._fields == ("logits", "aux_logits2", "aux_logits1")
    assert [t.shape for t in out] == [(2, 5)] * 3
    loss = ember.nn.functional.cross_entropy(out.logits, ember.tensor([0, 1]))
    loss = loss + 0.3 * ember.nn.functional.cross_entropy(out.aux_logits1, ember.tensor([0, 1]))
    loss.backward()
    assert model.aux1.fc2.weight.grad is not None and model.aux2.fc2.weight.grad is None
    model.eval()
    assert model(ember.randn(2, 3, 32, 32)).shape == (2, 5)


def test_vision_googlenet_has_the_auxiliary_heads_by_default_as_torchvisions():
    assert vision_models.googlenet(weights=None, num_classes=3, input_size=32).aux_logits
    assert not vision_models.googlenet(num_classes=3, input_size=32, aux_logits=False).aux_logits
    assert not zoo.googlenet(num_classes=3, input_size=32).aux_logits  # the zoo's own default


# ----------------------------------------------------------------------------- parity with torchvision's layout


def _torch_densenet(torch, growth, block_config, init, num_classes):
    nn, F = torch.nn, torch.nn.functional

    class DenseLayer(nn.Sequential):
        def __init__(self, c, growth, bn_size=4):
            super().__init__()
            self.add_module("norm1", nn.BatchNorm2d(c))
            self.add_module("relu1", nn.ReLU())
            self.add_module("conv1", nn.Conv2d(c, bn_size * growth, 1, bias=False))
            self.add_module("norm2", nn.BatchNorm2d(bn_size * growth))
            self.add_module("relu2", nn.ReLU())
            self.add_module("conv2", nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False))

        def forward(self, x):
            return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))

    class DenseBlock(nn.Module):
        def __init__(self, n, c, growth):
            super().__init__()
            for i in range(n):
                self.add_module(f"denselayer{i + 1}", DenseLayer(c + i * growth, growth))

        def forward(self, x):
            for layer in self.children():
                x = torch.cat([x, layer(x)], 1)
            return x

    class Transition(nn.Sequential):
        def __init__(self, c, out):
            super().__init__()
            self.add_module("norm", nn.BatchNorm2d(c))
            self.add_module("relu", nn.ReLU())
            self.add_module("conv", nn.Conv2d(c, out, 1, bias=False))
            self.add_module("pool", nn.AvgPool2d(2, 2))

    class DenseNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(OrderedDict([
                ("conv0", nn.Conv2d(3, init, 7, 2, 3, bias=False)), ("norm0", nn.BatchNorm2d(init)),
                ("relu0", nn.ReLU()), ("pool0", nn.MaxPool2d(3, 2, 1))]))
            c = init
            for i, n in enumerate(block_config):
                self.features.add_module(f"denseblock{i + 1}", DenseBlock(n, c, growth))
                c += n * growth
                if i != len(block_config) - 1:
                    self.features.add_module(f"transition{i + 1}", Transition(c, c // 2))
                    c //= 2
            self.features.add_module("norm5", nn.BatchNorm2d(c))
            self.classifier = nn.Linear(c, num_classes)

        def forward(self, x):
            out = F.adaptive_avg_pool2d(F.relu(self.features(x)), (1, 1))
            return self.classifier(torch.flatten(out, 1))

    return DenseNet()


def _torch_googlenet(torch, num_classes):
    nn, F = torch.nn, torch.nn.functional

    class BasicConv2d(nn.Module):
        def __init__(self, cin, cout, **kw):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
            self.bn = nn.BatchNorm2d(cout, eps=0.001)

        def forward(self, x):
            return F.relu(self.bn(self.conv(x)))

    class Inception(nn.Module):
        def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
            super().__init__()
            self.branch1 = BasicConv2d(cin, c1, kernel_size=1)
            self.branch2 = nn.Sequential(BasicConv2d(cin, c3r, kernel_size=1),
                                         BasicConv2d(c3r, c3, kernel_size=3, padding=1))
            self.branch3 = nn.Sequential(BasicConv2d(cin, c5r, kernel_size=1),
                                         BasicConv2d(c5r, c5, kernel_size=3, padding=1))
            self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                         BasicConv2d(cin, pp, kernel_size=1))

        def forward(self, x):
            return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)

    class InceptionAux(nn.Module):
        def __init__(self, cin):
            super().__init__()
            self.conv = BasicConv2d(cin, 128, kernel_size=1)
            self.fc1, self.fc2 = nn.Linear(2048, 1024), nn.Linear(1024, num_classes)

        def forward(self, x):
            x = torch.flatten(self.conv(F.adaptive_avg_pool2d(x, (4, 4))), 1)
            return self.fc2(F.relu(self.fc1(x)))  # dropout 0 in this comparison

    class GoogLeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.conv2 = BasicConv2d(64, 64, kernel_size=1)
            self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
            self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
            self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
            self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
            self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
            self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
            self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
            self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
            self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
            self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
            self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
            self.aux1, self.aux2 = InceptionAux(512), InceptionAux(528)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(1024, num_classes)

        def forward(self, x):
            x = self.maxpool2(self.conv3(self.conv2(self.maxpool1(self.conv1(x)))))
            x = self.inception4a(self.maxpool3(self.inception3b(self.inception3a(x))))
            aux1 = self.aux1(x)
            x = self.inception4d(self.inception4c(self.inception4b(x)))
            aux2 = self.aux2(x)
            x = self.inception5b(self.inception5a(self.maxpool4(self.inception4e(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1)), aux2, aux1

    return GoogLeNet()


def _load_into_torch(torch, ember_model, torch_model):
    state = {k: torch.from_numpy(np.array(v.array)) for k, v in ember_model.state_dict().items()}
    torch_model.load_state_dict(state)  # strict: every key and shape must match


def test_densenet_computes_what_torchvisions_layout_computes(torch):
    model = zoo.DenseNet(growth_rate=4, block_config=(2, 3), num_init_features=8, num_classes=5, input_size=72)
    reference = _torch_densenet(torch, 4, (2, 3), 8, 5)
    _load_into_torch(torch, model, reference)
    x = np.random.default_rng(0).standard_normal((2, 3, 72, 72)).astype(np.float32)
    for train in (True, False):
        model.train(train)
        reference.train(train)
        out = model(ember.tensor(x)).array
        np.testing.assert_allclose(out, reference(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_googlenet_computes_what_torchvisions_layout_computes(torch):
    model = zoo.googlenet(num_classes=5, input_size=96, aux_logits=True, dropout=0.0, dropout_aux=0.0)
    reference = _torch_googlenet(torch, 5)
    _load_into_torch(torch, model, reference)
    x = np.random.default_rng(0).standard_normal((2, 3, 96, 96)).astype(np.float32)
    ours = model(ember.tensor(x))
    theirs = reference(torch.from_numpy(x))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.array, b.detach().numpy(), rtol=1e-3, atol=1e-5)


def test_googlenet_transform_input_renormalises_imagenet_inputs_to_minus_one_one():
    plain = zoo.googlenet(num_classes=3, input_size=32).eval()
    moved = zoo.googlenet(num_classes=3, input_size=32, transform_input=True).eval()
    moved.load_state_dict(plain.state_dict())
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    pixels = np.random.default_rng(0).random((2, 3, 32, 32))  # in [0, 1]
    normalised = ((pixels - mean[:, None, None]) / std[:, None, None]).astype(np.float32)
    expected = plain(ember.tensor(((pixels - 0.5) / 0.5).astype(np.float32))).array
    np.testing.assert_allclose(moved(ember.tensor(normalised)).array, expected, rtol=1e-4, atol=1e-5)
