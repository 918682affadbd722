"""Callbacks: small objects the Trainer calls at fixed points of the loop.

Hooks (all optional): ``on_fit_start(trainer)``, ``on_epoch_start(trainer, epoch)``,
``on_before_step(trainer, logs)`` (after backward, before the optimizer step — the NaN guard's place),
``on_batch_end(trainer, logs)``, ``on_epoch_end(trainer, logs)``, ``on_fit_end(trainer)`` and, when an
exception ends the fit instead, ``on_fit_abort(trainer)``.
A callback stops training with ``trainer.stop(reason)``. Callbacks that keep state across epochs
(early stopping's patience counter, the best score so far) implement ``state_dict`` /
``load_state_dict`` so that a resumed run behaves exactly like an uninterrupted one.

Callbacks run in order of ``priority`` (lower first, then the order given); ``ModelCheckpoint`` runs
last so that the state it saves includes every other callback's update of that step or epoch.
"""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import numpy as np

from ember.train.history import resolve_mode


class Callback:
    """Base class: override the hooks you need."""

    priority = 0

    def on_fit_start(self, trainer) -> None:
        pass

    def on_epoch_start(self, trainer, epoch: int) -> None:
        pass

    def on_before_step(self, trainer, logs: dict) -> None:
        pass

    def on_batch_end(self, trainer, logs: dict) -> None:
        pass

    def on_epoch_end(self, trainer, logs: dict) -> None:
        pass

    def on_fit_end(self, trainer) -> None:
        pass

    def on_fit_abort(self, trainer) -> None:
        """Called instead of ``on_fit_end`` when an exception (or Ctrl-C) ends the fit: release resources,
        save nothing."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    @property
    def key(self) -> str:
        """The name this callback's state is stored under in a checkpoint."""
        return type(self).__name__


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda trainer, logs: ...)``."""

    def __init__(self, **hooks):
        valid = {"on_fit_start", "on_epoch_start", "on_before_step", "on_batch_end", "on_epoch_end", "on_fit_end",
                 "on_fit_abort"}
        bad = set(hooks) - valid
        if bad:
            raise ValueError(f"unknown hook(s) {sorted(bad)}; valid hooks: {', '.join(sorted(valid))}")
        for name, fn in hooks.items():
            setattr(self, name, fn)


# --------------------------------------------------------------------------- monitoring helpers


class _Monitor:
    """Tracks the best value of an epoch metric, improving by at least ``min_delta``."""

    def __init__(self, monitor: str, mode: str, min_delta: float):
        self.monitor = monitor
        self.mode = resolve_mode(monitor, mode)
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def value(self, logs: dict, who: str):
        v = logs.get(self.monitor)
        if v is None:
            available = ", ".join(sorted(k for k, x in logs.items() if isinstance(x, (int, float))))
            raise KeyError(f"{who} monitors {self.monitor!r}, which this run does not log; "
                           f"available: {available} (val_* needs a validation set)")
        return float(v)

    def improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    With ``restore_best`` the model ends with the weights of its best epoch (kept in memory, and in
    checkpoints so that a resumed run restores the same ones).
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best: bool = True):
        if int(patience) < 1:
            raise ValueError(f"patience must be >= 1 epoch, got {patience}")
        self._m = _Monitor(monitor, mode, min_delta)
        self.patience = int(patience)
        self.restore_best = bool(restore_best)
        self.wait = 0
        self.best_epoch: int | None = None
        self.best_weights: dict | None = None
        self.stopped_epoch: int | None = None

    @property
    def monitor(self) -> str:
        return self._m.monitor

    @property
    def best(self) -> float:
        return self._m.best

    def on_epoch_end(self, trainer, logs: dict) -> None:
        value = self._m.value(logs, "EarlyStopping")
        if self._m.improved(value):
            self._m.best = value
            self.wait = 0
            self.best_epoch = int(logs["epoch"])
            if self.restore_best:
                self.best_weights = {k: v.array.copy() for k, v in trainer.model.state_dict().items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = int(logs["epoch"])
                trainer.stop(f"early stopping: {self.monitor} has not improved for {self.patience} epoch(s); "
                             f"best {self.best:.4f} at epoch {self.best_epoch}")

    def on_fit_end(self, trainer) -> None:
        if self.restore_best and self.best_weights is not None and not trainer.diverged:
            trainer.model.load_state_dict(self.best_weights)
            last = trainer.history.epochs[-1]["epoch"] if trainer.history.epochs else None
            if self.best_epoch != last:
                trainer.log(f"restored the weights of epoch {self.best_epoch} ({self.monitor} {self.best:.4f}), "
                            f"the best; the last epoch was {last}")

    def state_dict(self) -> dict:
        s = {"best": self._m.best, "wait": self.wait, "best_epoch": -1 if self.best_epoch is None else self.best_epoch}
        if self.best_weights is not None:
            s["best_weights"] = self.best_weights
        return s

    def load_state_dict(self, state: dict) -> None:
        self._m.best = float(state["best"])
        self.wait = int(state["wait"])
        self.best_epoch = None if int(state["best_epoch"]) < 0 else int(state["best_epoch"])
        bw = state.get("best_weights")
        self.best_weights = {k: np.array(v) for k, v in bw.items()} if bw is not None else None


class ModelCheckpoint(Callback):
    """Save the full training state every ``every_n_epochs`` epochs and/or ``every_n_steps`` steps,
    keeping the newest ``keep_last`` periodic checkpoints, and ``best`` whenever ``save_best_on``
    improves.

    Files: ``<dirpath>/step-<step>.ckpt`` (periodic) and ``<dirpath>/best.ckpt``. Every file is written
    through ``ember.save`` (atomic: a crash leaves the previous file intact). After a divergence
    (NaN/Inf) nothing more is written, so the last good checkpoint survives.
    """

    priority = 100

    def __init__(self, dirpath, every_n_epochs: int | None = 1, every_n_steps: int | None = None,
                 keep_last: int | None = 3, save_best_on: str | None = None, mode: str = "auto",
                 save_on_fit_end: bool = True):
        self.dirpath = Path(dirpath)
        if every_n_epochs is not None and int(every_n_epochs) < 1:
            raise ValueError(f"every_n_epochs must be >= 1 or None, got {every_n_epochs}")
        if every_n_steps is not None and int(every_n_steps) < 1:
            raise ValueError(f"every_n_steps must be >= 1 or None, got {every_n_steps}")
        if keep_last is not None and int(keep_last) < 1:
            raise ValueError(f"keep_last must be >= 1 or None (keep all), got {keep_last}")
        self.every_n_epochs = None if every_n_epochs is None else int(every_n_epochs)
        self.every_n_steps = None if every_n_steps is None else int(every_n_steps)
        self.keep_last = None if keep_last is None else int(keep_last)
        self._best = _Monitor(save_best_on, mode, 0.0) if save_best_on else None
        self.save_on_fit_end = save_on_fit_end
        self.last_path: Path | None = None
        self.best_path: Path | None = None

    @property
    def save_best_on(self) -> str | None:
        return self._best.monitor if self._best else None

    def _periodic(self) -> list[Path]:
        from ember.train.checkpoint import list_checkpoints

        return list_checkpoints(self.dirpath)

    def _save(self, trainer, replace: bool = False) -> None:
        from ember.train.checkpoint import checkpoint_name

        if trainer.diverged:
            return
        path = self.dirpath / checkpoint_name(trainer.global_step)
        if self.last_path == path and path.exists() and not replace:
            return
        trainer.save_checkpoint(path)
        self.last_path = path
        trainer.last_checkpoint = path
        if self.keep_last is not None:
            for old in self._periodic()[:-self.keep_last]:
                try:
                    old.unlink()
                except FileNotFoundError:
                    pass

    def on_batch_end(self, trainer, logs: dict) -> None:
        if self.every_n_steps and trainer.global_step % self.every_n_steps == 0:
            self._save(trainer)

    def on_epoch_end(self, trainer, logs: dict) -> None:
        if trainer.diverged:
            return
        if self._best is not None:
            value = self._best.value(logs, "ModelCheckpoint(save_best_on=...)")
            if self._best.improved(value):
                self._best.best = value
                self.best_path = self.dirpath / "best.ckpt"
                trainer.save_checkpoint(self.best_path)
        if self.every_n_epochs and (int(logs["epoch"])) % self.every_n_epochs == 0:
            # replaces a step checkpoint of the same step: this state also has the epoch's end
            self._save(trainer, replace=True)

    def on_fit_end(self, trainer) -> None:
        if self.save_on_fit_end and not trainer.diverged and trainer.global_step > 0:
            self._save(trainer)

    def state_dict(self) -> dict:
        return {"best": self._best.best if self._best else float("nan")}

    def load_state_dict(self, state: dict) -> None:
        if self._best is not None:
            self._best.best = float(state["best"])
        existing = self._periodic()
        self.last_path = existing[-1] if existing else None
        best = self.dirpath / "best.ckpt"
        self.best_path = best if best.exists() else None


class NaNGuard(Callback):
    """Stop as soon as the loss (or the gradient norm) is NaN or infinite, before the bad step is applied.

    The message names the step, epoch and batch; the weights stay as they were after the last good step,
    and ``ModelCheckpoint`` writes nothing further, so the last good checkpoint is kept.
    """

    priority = -50

    def __init__(self, check_grads: bool = True):
        self.check_grads = check_grads

    def on_before_step(self, trainer, logs: dict) -> None:
        loss = logs.get("loss")
        bad = None
        if loss is None or not math.isfinite(loss):
            bad = f"the loss is {loss}"
        elif self.check_grads:
            norm = logs.get("grad_norm")
            if norm is None:
                norm = trainer.grad_norm()
            if not math.isfinite(norm):
                bad = f"the gradient norm is {norm}"
        if bad:
            step = trainer.global_step + 1
            where = f"step {step} (epoch {trainer.epoch + 1}, batch {trainer.batch_in_epoch + 1} of " \
                    f"{trainer.steps_per_epoch})"
            last = trainer.last_checkpoint
            keep = f"the last good checkpoint is {last}" if last else "no checkpoint had been written yet"
            trainer.diverged = True
            trainer.skip_step = True
            trainer.stop(f"training diverged: {bad} at {where}; the step was not applied and {keep}. "
                         "Try a smaller learning rate, --grad-clip, or check the inputs for NaN.")


class CSVLogger(Callback):
    """One row per epoch in a CSV file (the columns are the union of all keys seen so far)."""

    def __init__(self, path):
        self.path = Path(path)

    def on_epoch_end(self, trainer, logs: dict) -> None:
        rows = trainer.history.epochs + ([] if trainer.history.epochs and trainer.history.epochs[-1] is logs
                                         else [logs])
        keys: dict[str, None] = {}
        for r in rows:
            keys.update(dict.fromkeys(r))
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(keys))
            w.writeheader()
            for r in rows:
                w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in keys})
        os.replace(tmp, self.path)


class JSONLinesLogger(Callback):
    """Every step and epoch record as one JSON object per line (``metrics.jsonl``).

    On a resumed fit the file is first rewritten from the trainer's history, which the checkpoint
    restored, so records of steps that were lost with the interrupted run disappear.
    """

    priority = 50

    def __init__(self, path, every_n_steps: int = 1):
        self.path = Path(path)
        self.every_n_steps = max(1, int(every_n_steps))
        self._f = None

    def on_fit_start(self, trainer) -> None:
        trainer.history.to_jsonl(self.path)
        self._f = open(self.path, "a")

    def _write(self, rec: dict) -> None:
        if self._f is None:
            self._f = open(self.path, "a")
        self._f.write(json.dumps(rec) + "\n")
        self._f.flush()

    def on_batch_end(self, trainer, logs: dict) -> None:
        if trainer.global_step % self.every_n_steps == 0:
            self._write({"kind": "step", **logs})

    def on_epoch_end(self, trainer, logs: dict) -> None:
        self._write({"kind": "epoch", **logs})

    def on_fit_end(self, trainer) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    on_fit_abort = on_fit_end


class StopAfterSteps(Callback):
    """Stop after ``max_steps`` optimisation steps in total (``ember train --max-steps``)."""

    def __init__(self, max_steps: int):
        if int(max_steps) < 1:
            raise ValueError(f"max_steps must be >= 1, got {max_steps}")
        self.max_steps = int(max_steps)

    def on_batch_end(self, trainer, logs: dict) -> None:
        if trainer.global_step >= self.max_steps:
            trainer.stop(f"reached max_steps={self.max_steps}")
