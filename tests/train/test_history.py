import json

from ember.train.history import History, resolve_mode


def test_history_series_best_and_jsonl_round_trip(tmp_path):
    h = History()
    for step in range(1, 7):
        h.log_step({"step": step, "epoch": (step - 1) // 3 + 1, "loss": 1.0 / step})
        if step % 3 == 0:
            h.log_epoch({"epoch": step // 3, "step": step, "loss": 0.5 / step, "val_accuracy": 0.5 + step / 100,
                         "val_loss": float("nan") if step == 6 else 0.3})
    assert h["val_accuracy"] == [0.53, 0.56]
    assert h["val_loss"] == [0.3, None]  # NaN is stored as null, JSON-safe
    assert h.best("val_accuracy")["epoch"] == 2
    assert h.best("val_loss")["epoch"] == 1
    assert h.step_series("loss")[0] == [1, 2, 3, 4, 5, 6]
    path = tmp_path / "m.jsonl"
    h.to_jsonl(path)
    kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
    assert kinds == ["step"] * 3 + ["epoch"] + ["step"] * 3 + ["epoch"]
    back = History.from_jsonl(path)
    assert back.steps == h.steps and back.epochs == h.epochs


def test_truncate_and_partial_last_line(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text('{"kind": "step", "step": 1, "loss": 2.0}\n{"kind": "epoch", "epoch": 1, "step": 1}\n{"kind": "st')
    h = History.from_jsonl(path)
    assert len(h.steps) == 1 and len(h.epochs) == 1
    h.log_step({"step": 2})
    h.truncate(step=1, epoch=0)
    assert [s["step"] for s in h.steps] == [1] and h.epochs == []


def test_resolve_mode():
    assert resolve_mode("val_loss") == "min"
    assert resolve_mode("val_accuracy") == "max"
    assert resolve_mode("val_accuracy", "min") == "min"
