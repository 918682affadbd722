import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.data import DataLoader, TensorDataset
from ember.diagnose.lr_finder import lr_range_test


def test_range_test_finds_a_sensible_rate_and_restores_the_model(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 10)).astype(np.float32)
    y = (x[:, :3].sum(1) > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
    before = {k: v.array.copy() for k, v in model.state_dict().items()}
    opt = ember.optim.SGD(model.parameters(), lr=0.123)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=0)
    res = lr_range_test(model, opt, nn.CrossEntropyLoss(), loader, start_lr=1e-5, end_lr=100.0, num_steps=80)
    assert 1e-3 < res.best_lr < 100.0
    assert res.suggested_lr == pytest.approx(res.best_lr / 10)
    assert res.diverged_at is not None  # 100 is far too large for SGD here
    assert opt.param_groups[0]["lr"] == 0.123
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.array, before[k])
    res.plot(tmp_path / "lr.png")
    assert (tmp_path / "lr.png").stat().st_size > 1000


def test_bad_arguments():
    model = nn.Linear(2, 2)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="start_lr"):
        lr_range_test(model, opt, nn.CrossEntropyLoss(), [], start_lr=1.0, end_lr=0.1)


def test_smoothing_is_unbiased_from_the_first_step():
    ember.manual_seed(0)
    net = nn.Linear(4, 3)
    x, y = ember.randn(64, 4), ember.randint(0, 3, (64,))
    r = lr_range_test(net, ember.optim.SGD(net.parameters(), lr=1e-3), nn.CrossEntropyLoss(), [(x, y)],
                      start_lr=1e-6, end_lr=1e-5, num_steps=30)
    # the rate is far too small to change the loss: the smoothed curve must equal the raw one
    np.testing.assert_allclose(r.smoothed, r.losses, rtol=1e-4)
