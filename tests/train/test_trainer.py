"""The Trainer on small synthetic problems: learning, modes, schedules, clipping, callbacks, checkpoints."""
import json
import math

import numpy as np
import pytest

import ember
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.train import (
    CSVLogger, EarlyStopping, JSONLinesLogger, LambdaCallback, ModelCheckpoint, StopAfterSteps, Trainer,
    list_checkpoints, load_checkpoint,
)


def blobs(n=256, d=10, k=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.normal(size=(d, k))
    return TensorDataset(x, (x @ w).argmax(1).astype(np.int64))


class ModeProbe(nn.Module):
    """Records whether it was called in training mode."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, x):
        self.seen.append(self.training)
        return x


def mlp(d=10, k=4, dropout=0.0):
    layers = [nn.Linear(d, 32), nn.BatchNorm1d(32), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(32, k))


def params(model):
    return {k: v.array.copy() for k, v in model.state_dict().items()}


def test_fit_learns_and_switches_train_eval_modes():
    ds = blobs()
    probe = ModeProbe()
    model = nn.Sequential(probe, mlp())
    tr = Trainer(model, ember.optim.Adam(model.parameters(), lr=1e-2), nn.CrossEntropyLoss(), progress="quiet")
    hist = tr.fit(DataLoader(ds, 32, shuffle=True, seed=0), DataLoader(ds, 64), epochs=4)
    assert len(hist.steps) == 4 * 8 and len(hist.epochs) == 4
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert hist["val_accuracy"][-1] > 0.85
    # 8 training calls per epoch in train mode, then 4 validation calls in eval mode
    assert probe.seen[:8] == [True] * 8 and probe.seen[8:12] == [False] * 4
    assert model.training  # evaluate restores the mode it found
    res = tr.evaluate(DataLoader(ds, 64), confusion=True)
    assert res["confusion_matrix"].sum() == len(ds)
    assert res["accuracy"] == pytest.approx(np.trace(res["confusion_matrix"]) / len(ds))
    assert res["per_class"]["recall"].shape == (4,) and res["per_class"]["support"].sum() == len(ds)
    probs = tr.predict(ds.tensors[0])
    assert probs.shape == (256, 4) and np.allclose(probs.sum(1), 1)
    assert np.mean(probs.argmax(1) == ds.tensors[1]) == pytest.approx(res["accuracy"])


def test_per_step_and_per_epoch_scheduling():
    ds = blobs(128)
    model = mlp()
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=2 * 4)
    tr = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=sched, progress="quiet")
    assert tr.scheduler_interval == "step"
    h = tr.fit(DataLoader(ds, 32, shuffle=True, seed=0), epochs=2)
    lrs = h.step_series("lr")[1]
    assert len(set(lrs)) == 8  # a new rate every step
    assert lrs[0] == pytest.approx(0.1 / 25)

    model = mlp()
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    tr = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=sched, progress="quiet")
    h = tr.fit(DataLoader(ds, 32, shuffle=True, seed=0), epochs=3)
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.025])  # the rate each epoch trained with


def test_reduce_lr_on_plateau_receives_the_validation_metric():
    ds = blobs(128)
    model = mlp()
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=0)
    seen = []
    # overwrite the validation loss with a script: it improves once, then stalls
    script = iter([1.0, 0.5, 0.6, 0.7])

    tr = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=sched, scheduler_monitor="val_loss", progress="quiet")
    real_evaluate = tr.evaluate

    def evaluate(loader, **kw):
        out = real_evaluate(loader, **kw)
        out["loss"] = next(script)
        seen.append(out["loss"])
        return out

    tr.evaluate = evaluate
    h = tr.fit(DataLoader(ds, 32, shuffle=True, seed=0), DataLoader(ds, 64), epochs=4)
    assert seen == [1.0, 0.5, 0.6, 0.7]
    # epochs 1-2 improve, 3 and 4 do not: halved after epoch 3 and again after epoch 4
    assert h["lr"] == pytest.approx([0.1, 0.1, 0.1, 0.05])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.025)


def test_gradient_clipping_bounds_the_applied_gradient_norm():
    ds = blobs(64)
    model = mlp()
    norms = []
    tr = Trainer(model, ember.optim.SGD(model.parameters(), lr=0.5), nn.CrossEntropyLoss(), grad_clip=0.01,
                 callbacks=[LambdaCallback(on_before_step=lambda t, logs: norms.append((logs["grad_norm"],
                                                                                       t.grad_norm())))],
                 progress="quiet")
    tr.fit(DataLoader(ds, 16, shuffle=True, seed=0), epochs=1)
    assert all(before > 0.01 for before, _ in norms)  # the raw norm is logged ...
    assert all(after == pytest.approx(0.01, rel=1e-3) for _, after in norms)  # ... the clipped one is applied
    assert "grad_norm" in tr.history.steps[0]


def test_nan_guard_stops_before_the_bad_step_and_keeps_the_last_checkpoint(tmp_path):
    ds = blobs(64)
    model = mlp()
    ce = nn.CrossEntropyLoss()
    calls = {"n": 0}

    def loss_fn(out, y):
        calls["n"] += 1
        loss = ce(out, y)
        return loss * float("nan") if calls["n"] == 5 else loss

    snap = {}
    ck = ModelCheckpoint(tmp_path, every_n_epochs=None, every_n_steps=2, keep_last=None)
    tr = Trainer(model, ember.optim.Adam(model.parameters(), lr=1e-2), loss_fn, progress="quiet",
                 callbacks=[ck, LambdaCallback(on_batch_end=lambda t, logs: snap.update(params(t.model)))])
    tr.fit(DataLoader(ds, 16, shuffle=True, seed=0), epochs=3)
    assert tr.diverged and tr.global_step == 4
    assert "at step 5 (epoch 2, batch 1 of 4)" in tr.stop_reason
    assert "step-00000004.ckpt" in tr.stop_reason
    for k, p in model.named_parameters():  # the NaN step was not applied (BN statistics did see its forward)
        np.testing.assert_array_equal(p.array, snap[k])
        assert np.isfinite(p.array).all()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000002.ckpt", "step-00000004.ckpt"]
    assert tr.history.epochs[-1]["epoch"] == 1  # no record for the diverged epoch


def test_early_stopping_restores_the_best_epoch():
    ds = blobs(128)
    model = mlp()
    script = iter([1.0, 0.4, 0.5, 0.6, 0.3])
    weights = {}

    def scripted(trainer, logs):
        logs["val_loss"] = next(script)
        weights[logs["epoch"]] = params(trainer.model)

    scr = LambdaCallback(on_epoch_end=scripted)
    scr.priority = -10  # before EarlyStopping
    es = EarlyStopping("val_loss", patience=2, restore_best=True)
    tr = Trainer(model, ember.optim.Adam(model.parameters(), lr=1e-2), nn.CrossEntropyLoss(),
                 callbacks=[scr, es], progress="quiet")
    h = tr.fit(DataLoader(ds, 32, shuffle=True, seed=0), epochs=10)
    assert len(h.epochs) == 4 and "early stopping" in tr.stop_reason
    assert es.best_epoch == 2
    for k, v in params(model).items():
        np.testing.assert_array_equal(v, weights[2][k])


def test_checkpoint_rotation_best_and_loggers(tmp_path):
    ds = blobs(128)
    model = mlp()
    ck = ModelCheckpoint(tmp_path / "ck", every_n_epochs=1, keep_last=2, save_best_on="val_accuracy")
    tr = Trainer(model, ember.optim.Adam(model.parameters(), lr=1e-2), nn.CrossEntropyLoss(), progress="quiet",
                 callbacks=[ck, CSVLogger(tmp_path / "m.csv"), JSONLinesLogger(tmp_path / "m.jsonl"),
                            StopAfterSteps(12)])
    tr.fit(DataLoader(ds, 32, shuffle=True, seed=0), DataLoader(ds, 64), epochs=5)
    assert tr.global_step == 12 and "max_steps=12" in tr.stop_reason
    assert [p.name for p in list_checkpoints(tmp_path / "ck")] == ["step-00000008.ckpt", "step-00000012.ckpt"]
    best = load_checkpoint(tmp_path / "ck" / "best.ckpt")
    best_epoch = max(tr.history.epochs, key=lambda e: e["val_accuracy"])
    assert best["trainer"]["global_step"] == best_epoch["step"]
    rows = (tmp_path / "m.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step,loss,accuracy,lr") and len(rows) == 1 + 3
    recs = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert sum(r["kind"] == "step" for r in recs) == 12 and sum(r["kind"] == "epoch" for r in recs) == 3
    assert all(math.isfinite(r["loss"]) for r in recs)


def test_epochs_count_from_the_start_of_the_run():
    ds = blobs(64)
    model = mlp()
    tr = Trainer(model, ember.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(), progress="quiet")
    loader = DataLoader(ds, 32, shuffle=True, seed=0)
    tr.fit(loader, epochs=2)
    tr.fit(loader, epochs=2)  # nothing left to do
    assert tr.global_step == 4 and "nothing to train" in tr.messages[-1]
    tr.fit(loader, epochs=3)  # one more epoch
    assert tr.global_step == 6 and [e["epoch"] for e in tr.history.epochs] == [1, 2, 3]
