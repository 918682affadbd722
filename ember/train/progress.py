"""Progress a person can follow: epoch and step, running loss and accuracy, learning rate, images/s, ETA.

Three modes, picked by ``ProgressBar(mode="auto")``:

* ``"rich"`` — a live bar per epoch (rich), when standard output is a terminal;
* ``"plain"`` — one line every few seconds and one per epoch, when output goes to a file or a pipe
  (logs stay readable, no control characters);
* ``"quiet"`` — nothing (``ember train --quiet``, scripts).
"""
from __future__ import annotations

import os
import sys
import time

from ember.train.callbacks import Callback


def _fmt_time(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):  # NaN / inf
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _fmt_pct(x) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def epoch_summary(logs: dict) -> str:
    """``loss 0.3121  acc 88.72%  val_loss 0.3302  val_acc 88.10%  lr 1.0e-03  41.2s`` from an epoch record."""
    parts = []
    for key, label in (("loss", "loss"), ("accuracy", "acc"), ("val_loss", "val_loss"),
                       ("val_accuracy", "val_acc"), ("val_top5_accuracy", "val_top5")):
        v = logs.get(key)
        if v is None:
            continue
        parts.append(f"{label} {_fmt_pct(v) if 'acc' in key or 'top' in key else f'{v:.4f}'}")
    if logs.get("lr") is not None:
        parts.append(f"lr {logs['lr']:.2e}")
    if logs.get("time") is not None:
        parts.append(f"{logs['time']:.1f}s")
    if logs.get("images_per_s"):
        parts.append(f"{logs['images_per_s']:.0f} img/s")
    return "  ".join(parts)


class ProgressBar(Callback):
    """Shows training progress; ``mode`` is "auto", "rich", "plain" or "quiet"."""

    def __init__(self, mode: str = "auto", stream=None, plain_interval: float = 5.0):
        if mode not in ("auto", "rich", "plain", "quiet"):
            raise ValueError(f"progress mode must be 'auto', 'rich', 'plain' or 'quiet', got {mode!r}")
        self.stream = stream if stream is not None else sys.stdout
        if mode == "auto":
            is_tty = hasattr(self.stream, "isatty") and self.stream.isatty()
            mode = "rich" if is_tty and os.environ.get("TERM") != "dumb" else "plain"
        self.mode = mode
        self.plain_interval = float(plain_interval)
        self._progress = None
        self._task = None

    # ------------------------------------------------------------------ helpers
    def _eta(self, trainer, logs) -> tuple[float, float]:
        """Seconds left in this epoch and in the whole fit, from the recent time per step."""
        per_step = self._step_time
        left_epoch = max(0, trainer.steps_per_epoch - trainer.batch_in_epoch) * per_step
        steps_left_total = trainer.total_steps - trainer.global_step if trainer.total_steps else 0
        return left_epoch, max(0, steps_left_total) * per_step

    def _running(self, logs) -> str:
        acc = logs.get("running_accuracy")
        s = f"loss {logs.get('running_loss', logs.get('loss', float('nan'))):.4f}"
        if acc is not None:
            s += f"  acc {_fmt_pct(acc)}"
        return s

    def print(self, text: str) -> None:
        if self.mode == "quiet":
            return
        if self._progress is not None:
            self._progress.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)

    # ------------------------------------------------------------------ hooks
    def on_fit_start(self, trainer) -> None:
        self._step_time = float("nan")
        self._last_print = time.perf_counter()
        if self.mode == "rich":
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
            from rich.table import Column

            console = Console(file=self.stream)
            self._progress = Progress(
                TextColumn("[bold]epoch {task.fields[epoch]}", table_column=Column(no_wrap=True)),
                BarColumn(bar_width=None, table_column=Column(ratio=1, min_width=10, max_width=30)),
                MofNCompleteColumn(table_column=Column(no_wrap=True)),
                TextColumn("{task.fields[stats]}", table_column=Column(ratio=3, overflow="fold")),
                console=console, transient=False, refresh_per_second=8, expand=True,
            )
            self._progress.start()

    def on_epoch_start(self, trainer, epoch: int) -> None:
        self._epoch_t0 = time.perf_counter()
        self._epoch_step0 = trainer.batch_in_epoch
        label = f"{epoch + 1}/{trainer.epochs}"
        if self._progress is not None:
            self._task = self._progress.add_task("", total=trainer.steps_per_epoch, epoch=label, stats="",
                                                 completed=trainer.batch_in_epoch)
        elif self.mode == "plain":
            print(f"epoch {label}: {trainer.steps_per_epoch} steps of {trainer.batch_size_hint or '?'} images",
                  file=self.stream, flush=True)

    def on_batch_end(self, trainer, logs: dict) -> None:
        if self.mode == "quiet":
            return
        done = trainer.batch_in_epoch - self._epoch_step0
        elapsed = time.perf_counter() - self._epoch_t0
        if done > 0:
            self._step_time = elapsed / done
        left_epoch, left_total = self._eta(trainer, logs)
        ips = logs.get("images_per_s")
        lr = logs.get("lr", float("nan"))
        if self._progress is not None:
            stats = f"{self._running(logs)}  lr {lr:.1e}" + (f"  {ips:.0f} img/s" if ips else "") + \
                    f"  eta {_fmt_time(left_epoch)}"
            self._progress.update(self._task, completed=trainer.batch_in_epoch, stats=stats)
        else:
            now = time.perf_counter()
            if now - self._last_print >= self.plain_interval or trainer.batch_in_epoch == trainer.steps_per_epoch:
                self._last_print = now
                stats = f"{self._running(logs)}  lr {lr:.2e}" + (f"  {ips:.0f} img/s" if ips else "") + \
                        f"  eta {_fmt_time(left_epoch)} (all {_fmt_time(left_total)})"
                print(f"  epoch {trainer.epoch + 1}/{trainer.epochs} step {trainer.batch_in_epoch}/"
                      f"{trainer.steps_per_epoch}  {stats}", file=self.stream, flush=True)

    def on_epoch_end(self, trainer, logs: dict) -> None:
        if self.mode == "quiet":
            return
        summary = epoch_summary(logs)
        left = max(0, trainer.epochs - trainer.epoch - 1) * trainer.steps_per_epoch * self._step_time
        rest = f"  (about {_fmt_time(left)} to go)" if trainer.epoch + 1 < trainer.epochs and left == left else ""
        if self._progress is not None:
            # the finished bar gives way to a static line that wraps on narrow terminals
            self._progress.remove_task(self._task)
            self._progress.console.print(f"epoch {trainer.epoch + 1}/{trainer.epochs}  {summary}{rest}",
                                         highlight=False, markup=False)
        else:
            print(f"epoch {trainer.epoch + 1}/{trainer.epochs} done: {summary}{rest}", file=self.stream, flush=True)

    def on_fit_end(self, trainer) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    on_fit_abort = on_fit_end

    def state_dict(self) -> dict:
        return {}
