import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.diagnose.probes import LayerProbe, Stats


def test_stats_of_known_arrays():
    s = Stats.of(np.array([[0.0, 1.0], [0.0, 3.0]]))
    assert s.mean == 1.0 and s.min == 0.0 and s.max == 3.0 and s.zero_frac == 0.5
    assert s.constant_unit_frac == 0.5  # the first unit is 0 for both samples
    assert Stats.of(np.array([0.999, -0.995, 0.1, 0.0]), "tanh").saturated_frac == 0.5


def test_probe_records_every_leaf_layer_and_its_gradient(tmp_path):
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 3))
    x = ember.randn(32, 8)
    with LayerProbe(model) as probe:
        model(x).sum().backward()
    rec = probe.last()
    assert set(rec) == {"0", "1", "2"}
    act, grad = rec["1"]
    out = np.tanh(model[0](x).array)
    assert act.std == pytest.approx(float(out.std()), rel=1e-5)
    assert grad is not None and grad.std > 0
    assert "layer" in probe.report()
    probe.plot(tmp_path / "probe.png")
    assert (tmp_path / "probe.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # hooks are removed on exit
    n = len(probe.records["0"].output)
    model(x)
    assert len(probe.records["0"].output) == n


def test_vanishing_gradients_through_deep_sigmoids_are_flagged():
    layers = []
    for _ in range(10):
        layers += [nn.Linear(16, 16), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(16, 1))
    with ember.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                m.weight.array *= 0.1
    with LayerProbe(model) as probe:
        model(ember.randn(8, 16)).sum().backward()
    first = probe.last()["0"][1].std
    last = probe.last()["18"][1].std
    assert first < last * 1e-3  # each sigmoid multiplies the gradient by at most 1/4
