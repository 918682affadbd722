import numpy as np

import ember
import ember.nn as nn
from ember.diagnose.doctor import FAIL, OK, WARN, doctor


def _data(n=64, d=20, classes=4, scale=1.0):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = ((x[:, 0] + x[:, 1] > 0).astype(np.int64) + 2 * (x[:, 2] > 0)) % classes
    return ember.tensor(x * scale), ember.tensor(y)


def _status(report, check):
    return [f.status for f in report.findings if f.check == check]


def test_a_healthy_mlp_passes_every_check():
    x, y = _data()
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))
    rep = doctor(model, x, y)
    assert rep.ok, str(rep)
    assert all(f.status == OK for f in rep.findings), str(rep)


def test_a_broken_network_is_diagnosed():
    x, y = _data(scale=10.0)  # unnormalised inputs
    model = nn.Sequential(nn.Linear(20, 32), nn.Sigmoid(), nn.Linear(32, 4), nn.Softmax(dim=1))
    with ember.no_grad():
        for p in model.parameters():
            p.array *= 30  # saturating initialisation
    rep = doctor(model, x, y, overfit_steps=30)
    assert _status(rep, "inputs") == [WARN]
    assert _status(rep, "final layer") == [WARN]
    assert WARN in _status(rep, "layers")
    assert any("saturated" in f.message for f in rep.findings)
    assert _status(rep, "overfit small batch") == [FAIL]
    assert not rep.ok


def test_gradient_check_catches_a_wrong_backward():
    class WrongSquare(ember.Function):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, g):
            return (g * self.a,)  # should be 2·a·g

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(20, 4)

        def forward(self, x):
            return WrongSquare.apply(self.fc(x))

    x, y = _data()
    rep = doctor(Model(), x, y, overfit_steps=5)
    assert _status(rep, "gradient check") == [FAIL]


def test_dead_relus_are_reported():
    x, y = _data()
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 4))
    with ember.no_grad():
        model[0].bias.array[...] = -100.0  # every unit always negative: dead
    rep = doctor(model, x, y, overfit_steps=5)
    assert any("dead" in f.message for f in rep.findings), str(rep)
