"""Transfer learning helpers and ensembles, in-process."""
import io

import numpy as np
import pytest

import ember
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.train import (
    Ensemble, Member, ProgressBar, Trainer, UnfreezeBackbone, freeze, head_name, load_pretrained, param_groups,
    replace_head, unfreeze,
)


def net(classes=4, d=6):
    return nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, classes))


def test_load_pretrained_reports_loaded_skipped_and_new_head():
    src = net(classes=4)
    dst = net(classes=3)
    rep = load_pretrained(dst, src.state_dict())
    assert head_name(dst) == "4"
    assert rep.loaded == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert rep.skipped_shape == ["4.weight: checkpoint (4, 8) vs model (3, 8)", "4.bias: checkpoint (4,) vs model (3,)"]
    np.testing.assert_array_equal(dst[0].weight.array, src[0].weight.array)
    same = net(classes=4)
    rep = load_pretrained(same, src.state_dict(), new_head=True)
    assert rep.skipped_excluded == ["4.weight", "4.bias"] and "re-initialised (new head)" in str(rep)
    assert not np.array_equal(same[4].weight.array, src[4].weight.array)
    wider = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4), nn.Linear(4, 2))
    rep = load_pretrained(wider, src.state_dict())
    assert rep.missing == ["5.weight", "5.bias"] and "not in the checkpoint" in str(rep)


def test_freeze_unfreeze_groups_and_replace_head():
    m = net()
    n = freeze(m, "backbone")
    assert n == 6 * 16 + 16 + 16 * 8 + 8
    assert [p.requires_grad for p in m.parameters()] == [False] * 4 + [True] * 2
    assert unfreeze(m, "0") == 6 * 16 + 16
    assert [p.requires_grad for p in m.parameters()] == [True, True, False, False, True, True]
    with pytest.raises(ValueError, match="no parameters under 'nope'"):
        freeze(m, "nope")
    groups = param_groups(m, lr=0.1, head_lr=1.0)
    assert [g["lr"] for g in groups] == [0.1, 1.0] and len(groups[1]["params"]) == 2
    new = replace_head(m, 7)
    assert m[4] is new and m(ember.randn(2, 6)).shape == (2, 7)


def test_frozen_backbone_stays_put_until_unfrozen():
    ember.manual_seed(0)
    rng = np.random.default_rng(0)
    ds = TensorDataset(rng.normal(size=(64, 6)).astype(np.float32), rng.integers(0, 4, 64))
    m = net()
    freeze(m, "backbone")
    before = m[0].weight.array.copy()
    head_before = m[4].weight.array.copy()
    opt = ember.optim.SGD(param_groups(m, lr=0.1), momentum=0.9)
    tr = Trainer(m, opt, nn.CrossEntropyLoss(), callbacks=[UnfreezeBackbone(at_epoch=1)], progress="quiet")
    tr.fit(DataLoader(ds, 16, shuffle=True, seed=0), epochs=1)
    np.testing.assert_array_equal(m[0].weight.array, before)  # epoch 1: head only
    assert not np.array_equal(m[4].weight.array, head_before)
    tr.fit(DataLoader(ds, 16, shuffle=True, seed=0), epochs=2)
    assert not np.array_equal(m[0].weight.array, before)  # epoch 2: everything
    assert "unfroze the backbone" in tr.messages[-1] or any("unfroze" in x for x in tr.messages)


def test_ensemble_averages_member_probabilities():
    ember.manual_seed(1)
    a, b = net(), net()
    x = np.random.default_rng(0).normal(size=(10, 6)).astype(np.float32)
    pa = Member(a, "a").predict_proba(x)
    pb = Member(b, "b").predict_proba(x)
    ens = Ensemble([a, b])
    np.testing.assert_allclose(ens.predict_proba(x), (pa + pb) / 2, rtol=1e-6)
    w = Ensemble([a, b], weights=[3, 1])
    np.testing.assert_allclose(w.predict_proba(x), 0.75 * pa + 0.25 * pb, rtol=1e-6)
    labels = pa.argmax(1)
    rep = Ensemble([a, a, b]).evaluate(x, labels)
    assert rep["members"][0]["accuracy"] == 1.0 and rep["best_member_accuracy"] == 1.0
    assert rep["gain_over_best_member"] == rep["ensemble_accuracy"] - 1.0
    with pytest.raises(ValueError, match="non-negative"):
        Ensemble([a, b], weights=[1, -1])
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])


def test_progress_plain_lines_and_rich_rendering():
    rng = np.random.default_rng(0)
    ds = TensorDataset(rng.normal(size=(64, 6)).astype(np.float32), rng.integers(0, 4, 64))
    for mode in ("plain", "rich"):
        out = io.StringIO()
        m = net()
        tr = Trainer(m, ember.optim.Adam(m.parameters(), lr=1e-2), nn.CrossEntropyLoss(),
                     progress=ProgressBar(mode, stream=out, plain_interval=0.0))
        tr.fit(DataLoader(ds, 16, shuffle=True, seed=0), DataLoader(ds, 32), epochs=2)
        text = out.getvalue()
        assert "epoch 2/2" in text and "val_acc" in text and "img/s" in text, (mode, text)
        if mode == "plain":
            assert "\x1b[" not in text  # no terminal control codes in logs
            assert "step 4/4" in text and "eta" in text
    quiet = io.StringIO()
    m = net()
    Trainer(m, ember.optim.Adam(m.parameters()), nn.CrossEntropyLoss(), progress=ProgressBar("quiet", stream=quiet)
            ).fit(DataLoader(ds, 16), epochs=1)
    assert quiet.getvalue() == ""
