"""The Trainer: the PyTorch training loop, written once, with metrics, callbacks, checkpoints and resume.

    trainer = Trainer(model, ember.optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss(),
                      scheduler=sched, callbacks=[EarlyStopping("val_loss", patience=3)], grad_clip=1.0)
    history = trainer.fit(train_loader, val_loader, epochs=5)
    trainer.evaluate(test_loader)        # {"loss": ..., "accuracy": ..., "top5_accuracy": ...}
    probs = trainer.predict(test_loader) # (N, classes) probabilities

One optimisation step is: ``model.train()`` (once per epoch), forward, loss, ``zero_grad``, backward,
optional gradient clipping, the NaN/Inf guard, ``optimizer.step()``, then the scheduler when it steps per
batch. After each epoch: validation in ``eval()`` mode under ``no_grad``, the scheduler when it steps per
epoch (``ReduceLROnPlateau`` gets the monitored validation metric), then callbacks — checkpointing last.

Resume is exact: a checkpoint holds the model, optimizer, scheduler, global RNG, data-loader position,
the epoch's running sums and every callback's state, so ``fit(..., resume_from=path)`` ends with the
same parameters, bit for bit, as a run that was never interrupted.
"""
from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path

import numpy as np

from ember.tensor import Tensor, no_grad
from ember.train import checkpoint as ckpt
from ember.train.callbacks import Callback, NaNGuard
from ember.train.history import History
from ember.train.metrics import Mean, Metric, TopKAccuracy, make_metrics
from ember.train.progress import ProgressBar

_PER_STEP_SCHEDULERS = {"OneCycleLR", "CyclicLR"}


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _split_batch(batch):
    if isinstance(batch, (tuple, list)):
        if len(batch) < 2:
            return _as_tensor(batch[0]), None
        return _as_tensor(batch[0]), _as_tensor(batch[1])
    return _as_tensor(batch), None


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class TrainingStopped(RuntimeError):
    """Raised by :meth:`Trainer.fit` with ``raise_on_divergence`` when the NaN guard stopped the run."""


class Trainer:
    """Fit, evaluate and predict with one model.

    Parameters
    ----------
    model, optimizer: an ``ember.nn.Module`` and an ``ember.optim`` optimizer over its parameters.
    loss_fn: called as ``loss_fn(outputs, targets)``; default ``nn.CrossEntropyLoss()`` (integer or
        probability targets).
    scheduler: an ``ember.optim.lr_scheduler`` scheduler, stepped per batch or per epoch.
    scheduler_interval: "step", "epoch" or "auto" (per step for OneCycleLR/CyclicLR, else per epoch).
    scheduler_monitor: the epoch metric ``ReduceLROnPlateau.step(value)`` receives (default val_loss).
    metrics: names ("accuracy", "top5_accuracy") or ``Metric`` objects, computed on training batches
        and validation sets.
    callbacks: ``Callback`` objects (EarlyStopping, ModelCheckpoint, CSVLogger, ...).
    grad_clip: clip the global gradient norm to this value (``clip_grad_norm_``).
    progress: "auto", "rich", "plain", "quiet", or a ProgressBar.
    nan_guard: stop with a clear message at the first NaN/Inf loss or gradient (default on).
    """

    def __init__(self, model, optimizer, loss_fn=None, scheduler=None, metrics=("accuracy",), callbacks=(),
                 grad_clip: float | None = None, scheduler_interval: str = "auto",
                 scheduler_monitor: str = "val_loss", progress="auto", nan_guard: bool = True):
        if loss_fn is None:
            from ember import nn

            loss_fn = nn.CrossEntropyLoss()
        if grad_clip is not None and not (float(grad_clip) > 0):
            raise ValueError(f"grad_clip must be a positive number (the maximum gradient norm), got {grad_clip!r}")
        if scheduler_interval not in ("auto", "step", "epoch"):
            raise ValueError(f"scheduler_interval must be 'auto', 'step' or 'epoch', got {scheduler_interval!r}")
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        if scheduler_interval == "auto":
            scheduler_interval = "step" if type(scheduler).__name__ in _PER_STEP_SCHEDULERS else "epoch"
        self.scheduler_interval = scheduler_interval
        self.scheduler_monitor = scheduler_monitor
        self.metrics: list[Metric] = make_metrics(metrics)
        self.grad_clip = None if grad_clip is None else float(grad_clip)
        cbs = list(callbacks)
        if nan_guard and not any(isinstance(c, NaNGuard) for c in cbs):
            cbs.append(NaNGuard())
        if isinstance(progress, ProgressBar):
            self.progress = progress
        else:
            self.progress = ProgressBar("quiet" if progress in (False, None) else progress)
        cbs.append(self.progress)
        seen: dict[str, int] = {}
        for c in cbs:  # two callbacks of one class keep their state apart (numbered in the order given)
            n = seen.get(c.key, 0)
            seen[c.key] = n + 1
            if n:
                c.key_override = f"{c.key}_{n + 1}"
        self.callbacks: list[Callback] = sorted(cbs, key=lambda c: c.priority)
        self.history = History()
        self.messages: list[str] = []
        # loop state
        self.epoch = 0               # index of the current epoch (0-based)
        self.batch_in_epoch = 0      # batches done in the current epoch
        self.global_step = 0         # optimisation steps done in total
        self.epochs = 0
        self.steps_per_epoch = 0
        self.total_steps = 0
        self.batch_size_hint = None
        self.stop_training = False
        self.stop_reason: str | None = None
        self.diverged = False
        self.skip_step = False
        self.last_checkpoint: Path | None = None
        self.train_loader = None
        self.checkpoint_meta: dict = {}
        self._reset_epoch_accumulators()

    # ------------------------------------------------------------------ small helpers
    def log(self, message: str) -> None:
        """A message for the person watching (shown unless quiet; kept in ``trainer.messages``)."""
        self.messages.append(message)
        self.progress.print(message)

    def stop(self, reason: str) -> None:
        """Ask the loop to stop after the current step; the first reason is kept (a divergence wins)."""
        if self.stop_reason is None or (self.diverged and not self.stop_reason.startswith("training diverged")):
            self.stop_reason = reason
        self.stop_training = True

    @property
    def lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def grad_norm(self) -> float:
        """The global L2 norm of all gradients (inf/nan if any gradient is)."""
        total = 0.0
        for group in self.optimizer.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    g = p.grad.array if isinstance(p.grad, Tensor) else p.grad
                    total += float(np.dot(g.ravel(), g.ravel())) if g.dtype.kind == "f" else float((g ** 2).sum())
        return math.sqrt(total) if math.isfinite(total) else total

    def _call(self, hook: str, *args, reverse: bool = False) -> None:
        for cb in (reversed(self.callbacks) if reverse else self.callbacks):
            getattr(cb, hook)(self, *args)

    def _cb_key(self, cb: Callback) -> str:
        return getattr(cb, "key_override", cb.key)

    def _reset_epoch_accumulators(self) -> None:
        self._loss_mean = Mean("loss")
        for m in self.metrics:
            m.reset()
        self._epoch_time = 0.0
        self._epoch_images = 0

    # ------------------------------------------------------------------ fit
    def fit(self, train_loader, val_loader=None, epochs: int = 1, resume_from=None) -> History:
        """Train for ``epochs`` epochs (counting from the start of the run, so a resumed fit finishes the
        same schedule). Returns the History; ``trainer.stop_reason`` says why it stopped early, if it did."""
        if int(epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        self.epochs = int(epochs)
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.steps_per_epoch = len(train_loader)
        if self.steps_per_epoch == 0:
            raise ValueError("the training loader yields no batches (empty dataset, or drop_last with "
                             "fewer samples than one batch)")
        self.total_steps = self.epochs * self.steps_per_epoch
        self.batch_size_hint = getattr(train_loader, "batch_size", None)
        self.stop_training, self.stop_reason, self.diverged = False, None, False
        if resume_from is not None:
            self.load_checkpoint(resume_from)
            self.log(f"resumed from {resume_from}: epoch {self.epoch + 1}, batch {self.batch_in_epoch}, "
                     f"step {self.global_step}")
        if self.epoch >= self.epochs:
            self.log(f"nothing to train: {self.epoch} epoch(s) are done and epochs={self.epochs} counts from the "
                     "start of the run; pass a larger epochs to train more")
            return self.history
        self._call("on_fit_start")
        try:
            while self.epoch < self.epochs and not self.stop_training:
                self._run_epoch(train_loader, val_loader)
        except BaseException:
            # a crash or Ctrl-C mid-step leaves no consistent state to save: close files and the
            # progress display, keep the last periodic checkpoint as it is
            self._call("on_fit_abort", reverse=True)
            raise
        self._call("on_fit_end", reverse=True)
        if self.stop_reason:
            self.log(f"stopped: {self.stop_reason}")
        return self.history

    def _run_epoch(self, train_loader, val_loader) -> None:
        if self.batch_in_epoch == 0:
            self._reset_epoch_accumulators()
        self._call("on_epoch_start", self.epoch)
        self.model.train()
        t_last = time.perf_counter()
        ips_ema = None
        # a checkpoint taken after the epoch's last batch resumes here with nothing left to train
        batches = train_loader if self.batch_in_epoch < self.steps_per_epoch else ()
        for batch in batches:
            x, y = _split_batch(batch)
            if y is None:
                raise ValueError("the training loader must yield (inputs, targets) batches")
            outputs, loss_value, grad_norm = self._forward_backward(x, y)
            logs = {"loss": loss_value, "grad_norm": grad_norm}
            self.skip_step = False
            self._call("on_before_step", logs)
            if self.skip_step:
                break
            lr = self.lr
            self.optimizer.step()
            if self.scheduler is not None and self.scheduler_interval == "step":
                self.scheduler.step()
            self.global_step += 1
            self.batch_in_epoch += 1
            n = x.shape[0]
            self._loss_mean.update(loss_value, n)
            for m in self.metrics:
                m.update(outputs, y)
            now = time.perf_counter()
            dt, t_last = now - t_last, now
            self._epoch_time += dt
            self._epoch_images += n
            ips = n / dt if dt > 0 else float("nan")
            ips_ema = ips if ips_ema is None else 0.9 * ips_ema + 0.1 * ips
            rec = {"step": self.global_step, "epoch": self.epoch + 1, "batch": self.batch_in_epoch,
                   "loss": loss_value, "lr": lr, "images_per_s": ips_ema,
                   "running_loss": self._loss_mean.compute()}
            for m in self.metrics:
                rec[f"running_{m.name}"] = m.compute()
            if grad_norm is not None:
                rec["grad_norm"] = grad_norm
            rec = self.history.log_step(rec)
            self._call("on_batch_end", rec)
            if self.stop_training:
                break
        if self.diverged or self.batch_in_epoch < self.steps_per_epoch:
            # diverged, or stopped mid-epoch (max_steps, a callback): the epoch is not complete, so no
            # validation, epoch-wise scheduling or epoch record; a checkpoint taken now resumes mid-epoch
            return
        self._end_epoch(val_loader)

    def _forward_backward(self, x: Tensor, y: Tensor):
        self.optimizer.zero_grad()
        out = self.model(x)
        loss = self.loss_fn(out, y)
        loss.backward()
        loss_value = float(loss.item())
        grad_norm = None
        if self.grad_clip is not None:
            from ember.nn.utils import clip_grad_norm_

            params = [p for g in self.optimizer.param_groups for p in g["params"]]
            grad_norm = float(clip_grad_norm_(params, self.grad_clip))
        outputs = out.array
        return outputs, loss_value, grad_norm

    def _end_epoch(self, val_loader) -> None:
        rec = {"epoch": self.epoch + 1, "step": self.global_step, "loss": self._loss_mean.compute()}
        for m in self.metrics:
            rec[m.name] = m.compute()
        rec["lr"] = self.lr
        rec["time"] = self._epoch_time
        rec["images_per_s"] = self._epoch_images / self._epoch_time if self._epoch_time > 0 else None
        if val_loader is not None:
            t0 = time.perf_counter()
            val = self.evaluate(val_loader)
            rec.update({f"val_{k}": v for k, v in val.items() if not isinstance(v, np.ndarray)})
            rec["val_time"] = time.perf_counter() - t0
        if self.scheduler is not None and self.scheduler_interval == "epoch":
            if type(self.scheduler).__name__ == "ReduceLROnPlateau":
                key = self.scheduler_monitor if rec.get(self.scheduler_monitor) is not None else "loss"
                if key != self.scheduler_monitor and self.epoch == 0:
                    self.log(f"ReduceLROnPlateau: no {self.scheduler_monitor} (no validation set); monitoring "
                             "the training loss instead")
                self.scheduler.step(rec[key])
            else:
                self.scheduler.step()
        rec = self.history.log_epoch(rec)
        self._epoch_done = True
        try:
            self._call("on_epoch_end", rec)
        finally:
            self._epoch_done = False
        self.epoch += 1
        self.batch_in_epoch = 0

    # ------------------------------------------------------------------ evaluate / predict
    def evaluate(self, loader, confusion: bool = False, num_classes: int | None = None) -> dict:
        """Loss and metrics over ``loader`` in eval mode without gradients. With ``confusion`` the
        result also holds ``confusion_matrix`` (an array) and ``per_class`` precision/recall/F1/support."""
        from ember.train.metrics import ConfusionMatrix

        was_training = self.model.training
        self.model.eval()
        loss = Mean("loss")
        metrics = [copy.deepcopy(m) for m in self.metrics]  # fresh accumulators, same settings
        for m in metrics:
            m.reset()
        if not any(isinstance(m, TopKAccuracy) and m.k == 5 for m in metrics):
            metrics.append(TopKAccuracy(5))
        cm = None
        try:
            with no_grad():
                for batch in loader:
                    x, y = _split_batch(batch)
                    if y is None:
                        raise ValueError("evaluate needs (inputs, targets) batches")
                    out = self.model(x)
                    loss.update(float(self.loss_fn(out, y).item()), x.shape[0])
                    for m in metrics:
                        if isinstance(m, TopKAccuracy) and m.k >= out.shape[1]:
                            continue
                        m.update(out.array, y)
                    if confusion:
                        if cm is None:
                            cm = ConfusionMatrix(num_classes or out.shape[1])
                        cm.update(out.array, y)
        finally:
            self.model.train(was_training)
        res = {"loss": loss.compute()}
        for m in metrics:
            if not (isinstance(m, TopKAccuracy) and m._count == 0):
                res[m.name] = m.compute()
        if cm is not None:
            res["confusion_matrix"] = cm.compute()
            res["per_class"] = cm.scores()  # precision, recall, f1, support: arrays indexed by class
        return res

    def predict(self, data, tta: bool | str = False, batch_size: int = 256) -> np.ndarray:
        """Class probabilities (N, C) for a loader of (inputs[, targets]) batches or an array of inputs.
        ``tta`` averages the probabilities over test-time augmentations ("flip" when True)."""
        return predict_proba(self.model, data, tta=tta, batch_size=batch_size)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Everything needed to continue this run exactly (see ember.train.checkpoint)."""
        done = getattr(self, "_epoch_done", False)
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": ckpt.get_rng_states(),
            "trainer": {
                "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "global_step": self.global_step,
                "epoch_done": bool(done), "epochs": self.epochs,
                "epoch_time": self._epoch_time, "epoch_images": self._epoch_images,
                "loss_mean": self._loss_mean.state_dict(),
                "metrics": {m.name: m.state_dict() for m in self.metrics},
                "history": json.dumps({"steps": self.history.steps, "epochs": self.history.epochs}),
            },
            "callbacks": {self._cb_key(c): c.state_dict() for c in self.callbacks if c.state_dict()},
            "meta": dict(self.checkpoint_meta),
        }
        if self.scheduler is not None:
            state["scheduler"] = self.scheduler.state_dict()
        if self.train_loader is not None and hasattr(self.train_loader, "state_dict"):
            state["loader"] = self.train_loader.state_dict()
        return state

    def save_checkpoint(self, path) -> Path:
        return ckpt.save_checkpoint(path, self.state_dict())

    def load_checkpoint(self, path_or_state) -> None:
        """Restore a state written by :meth:`save_checkpoint` (a path or the loaded dict)."""
        state = ckpt.load_checkpoint(path_or_state) if not isinstance(path_or_state, dict) else path_or_state
        where = path_or_state if not isinstance(path_or_state, dict) else "checkpoint"
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as e:
            raise ckpt.CheckpointError(f"{where} does not fit this model: {e}") from e
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except (KeyError, ValueError, RuntimeError) as e:
            raise ckpt.CheckpointError(f"{where}: the optimizer state does not fit this optimizer: {e}") from e
        if self.scheduler is not None:
            if "scheduler" not in state:
                raise ckpt.CheckpointError(f"{where} has no scheduler state but this trainer has a scheduler")
            self.scheduler.load_state_dict(state["scheduler"])
        if "loader" in state and self.train_loader is not None and hasattr(self.train_loader, "load_state_dict"):
            self.train_loader.load_state_dict(state["loader"])
        t = state["trainer"]
        self.epoch = int(t["epoch"])
        self.batch_in_epoch = int(t["batch_in_epoch"])
        self.global_step = int(t["global_step"])
        self._reset_epoch_accumulators()
        self._epoch_time = float(t.get("epoch_time", 0.0))
        self._epoch_images = int(t.get("epoch_images", 0))
        self._loss_mean.load_state_dict(t["loss_mean"])
        for m in self.metrics:
            if m.name in t.get("metrics", {}):
                m.load_state_dict(t["metrics"][m.name])
        hist = json.loads(str(t["history"]))
        self.history = History(hist["steps"], hist["epochs"])
        if bool(t.get("epoch_done", False)):
            self.epoch += 1
            self.batch_in_epoch = 0
            self._reset_epoch_accumulators()
        saved_cbs = state.get("callbacks", {})
        for c in self.callbacks:
            key = self._cb_key(c)
            if key in saved_cbs:
                c.load_state_dict(saved_cbs[key])
        if isinstance(path_or_state, (str, Path)):
            self.last_checkpoint = Path(path_or_state)
        ckpt.set_rng_states(state["rng"])


def predict_proba(model, data, tta: bool | str = False, batch_size: int = 256, preprocess=None) -> np.ndarray:
    """Softmax probabilities (N, C) of ``model`` in eval mode, for a loader of (inputs[, targets]) batches or an
    (N, ...) array/Tensor of inputs. ``tta`` ("flip", "five_crop", "ten_crop"; True means "flip") averages
    over test-time views (``ember.data.tta_predict``); ``preprocess`` is applied to every view, after the
    view is cut, so crops pad raw pixels and not standardised ones."""
    mode = "flip" if tta is True else (tta or None)

    def logits(t: Tensor):
        if preprocess is not None:
            t = Tensor._wrap(np.ascontiguousarray(preprocess(t.array), dtype=np.float32))
        return model(t)

    def one(images: np.ndarray) -> np.ndarray:
        images = np.ascontiguousarray(images, dtype=np.float32)
        if mode:
            from ember.data import tta_predict

            return np.asarray(tta_predict(logits, images, mode), dtype=np.float64)
        with no_grad():
            return _softmax(logits(Tensor._wrap(images)).array.astype(np.float64))

    was_training = model.training
    model.eval()
    try:
        chunks = []
        if isinstance(data, (np.ndarray, Tensor)):
            arr = data.array if isinstance(data, Tensor) else data
            for i in range(0, arr.shape[0], batch_size):
                chunks.append(one(arr[i:i + batch_size]))
        else:
            for batch in data:
                x, _ = _split_batch(batch)
                chunks.append(one(x.array))
        if not chunks:
            return np.zeros((0, 0))
        return np.concatenate(chunks, axis=0)
    finally:
        model.train(was_training)
