"""Exact resume in-process: a run interrupted by a crash and resumed from its last checkpoint ends with the
same parameters, bit for bit, as one that was never interrupted — with dropout, batch norm, augmentation,
mixup, a one-cycle schedule and Adam all in play."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.data import DataLoader, TensorDataset, parse_augment
from ember.train import LambdaCallback, ModelCheckpoint, Trainer, latest_checkpoint, load_checkpoint

from tests.train.conftest import synthetic_images

EPOCHS = 3


class Crash(RuntimeError):
    pass


def build(ckdir, crash_at=None):
    ember.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(4),
        nn.Flatten(1), nn.Dropout(0.3), nn.Linear(4 * 7 * 7, 10),
    )
    x, y = synthetic_images(96, seed=3)
    ds = TensorDataset(x[:, None], y.astype(np.int64))
    loader = DataLoader(ds, batch_size=16, shuffle=True, seed=7,
                        transform=parse_augment("flip,crop,mixup:alpha=0.4", num_classes=10))
    opt = ember.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=EPOCHS * len(loader))
    cbs = [ModelCheckpoint(ckdir, every_n_epochs=1, every_n_steps=4, keep_last=2)]
    if crash_at is not None:
        def crash(trainer, logs):
            if trainer.global_step == crash_at:
                raise Crash(f"simulated crash after step {crash_at}")
        cb = LambdaCallback(on_batch_end=crash)
        cb.priority = 200  # after the checkpoint of the same step, like a kill between steps
        cbs.append(cb)
    tr = Trainer(model, opt, nn.CrossEntropyLoss(label_smoothing=0.1), scheduler=sched, callbacks=cbs,
                 grad_clip=5.0, progress="quiet")
    val = DataLoader(ds, batch_size=48)
    return tr, loader, val


def final(tr):
    return {k: v.array.copy() for k, v in tr.model.state_dict().items()}


# 6 steps per epoch; checkpoints every 4 steps and at every epoch's end. Crashing after step 11 resumes
# mid-epoch from step 8; after step 12 from a checkpoint with the epoch's batches done but not its end
# (validation, epoch-wise callbacks); after step 13 from the end-of-epoch checkpoint of step 12.
@pytest.mark.parametrize("crash_at,resume_step,epoch_done", [(11, 8, False), (12, 12, False), (13, 12, True)])
def test_resume_after_crash_is_bit_identical(tmp_path, crash_at, resume_step, epoch_done):
    ref, loader, val = build(tmp_path / "ref")
    ref.fit(loader, val, epochs=EPOCHS)
    want = final(ref)

    tr, loader, val = build(tmp_path / "run", crash_at=crash_at)
    with pytest.raises(Crash):
        tr.fit(loader, val, epochs=EPOCHS)
    ckpt = latest_checkpoint(tmp_path / "run")
    assert ckpt is not None and ckpt.name == f"step-{resume_step:08d}.ckpt"
    assert bool(load_checkpoint(ckpt)["trainer"]["epoch_done"]) is epoch_done

    # a fresh process would rebuild everything (consuming the global RNG differently) and then resume
    ember.manual_seed(123)
    tr2, loader2, val2 = build(tmp_path / "run")
    ember.manual_seed(456)
    tr2.fit(loader2, val2, epochs=EPOCHS, resume_from=ckpt)
    got = final(tr2)
    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    assert tr2.global_step == ref.global_step == EPOCHS * 6
    # the history continues seamlessly, identical to the uninterrupted one
    assert [s["loss"] for s in tr2.history.steps] == [s["loss"] for s in ref.history.steps]
    assert [e["val_loss"] for e in tr2.history.epochs] == [e["val_loss"] for e in ref.history.epochs]


def test_same_seed_same_result(tmp_path):
    a, la, va = build(tmp_path / "a")
    a.fit(la, va, epochs=1)
    b, lb, vb = build(tmp_path / "b")
    b.fit(lb, vb, epochs=1)
    for k, v in final(a).items():
        np.testing.assert_array_equal(v, final(b)[k])
