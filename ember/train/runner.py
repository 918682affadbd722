"""A whole training run in a run directory: what ``ember train``, ``ember train --resume`` and
``ember finetune`` execute.

``start_run(cfg)`` creates ``runs/<name>/``, writes the configuration and the preprocessing statistics,
trains with checkpoints, then evaluates the final model on the test split and writes ``model.ckpt``,
``summary.json`` and the plots. ``resume_run(path)`` rebuilds the same objects from the directory and
continues from the newest checkpoint, ending with the parameters an uninterrupted run would have.
"""
from __future__ import annotations

import datetime as _dt
import os
import platform
import signal
import sys
import time
from dataclasses import dataclass

import numpy as np

import ember
from ember.train import plots
from ember.train.callbacks import (
    Callback, CSVLogger, EarlyStopping, JSONLinesLogger, ModelCheckpoint, StopAfterSteps,
)
from ember.train.checkpoint import latest_checkpoint, save_weights
from ember.train.config import ConfigError, TrainConfig, parse_every, write_config_file
from ember.train.metrics import confusion_matrix, precision_recall_f1, topk_accuracy
from ember.train.recipe import (
    DataBundle, build_data, build_loss, build_model, build_optimizer, build_scheduler, make_loaders,
)
from ember.train.rundir import RunDir, RunNotFoundError
from ember.train.trainer import Trainer, predict_proba

#: testing hook: ``EMBER_KILL_AFTER_STEP=K`` makes the process SIGKILL itself right after step K (after
#: that step's checkpoint, if any) — a hard crash with no clean-up, for the resume-after-kill test.
KILL_ENV = "EMBER_KILL_AFTER_STEP"


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``rundir`` is the run to resume."""

    def __init__(self, rundir: RunDir):
        super().__init__(str(rundir.path))
        self.rundir = rundir


class TrainingDiverged(RuntimeError):
    """The NaN/Inf guard stopped the run; the message names the step and the last good checkpoint."""


@dataclass
class RunResult:
    rundir: RunDir
    summary: dict
    trainer: Trainer


class _KillAfterStep(Callback):
    priority = 1000  # after the checkpoint of the same step

    def __init__(self, step: int):
        self.step = step

    def on_batch_end(self, trainer, logs):
        if trainer.global_step == self.step:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def environment(command: list[str] | None = None) -> dict:
    return {
        "ember": ember.__version__, "python": platform.python_version(), "numpy": np.__version__,
        "platform": platform.platform(), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "command": " ".join(command) if command else None,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
    }


def _say(cfg: TrainConfig, msg: str) -> None:
    if not cfg.quiet:
        print(msg, flush=True)


def start_run(cfg: TrainConfig, command: list[str] | None = None, finetune: dict | None = None) -> RunResult:
    """Create the run directory, then train, test and plot."""
    cfg.validate()
    ember.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    # fine-tuning keeps the source run's input statistics (the backbone learned on them) when they fit
    source_pre = RunDir.open(finetune["from"]).load_preprocessing() if finetune else None
    bundle = build_data(cfg, preprocessor_state=source_pre)
    rd = RunDir.create(cfg.runs_dir, cfg.name, prefix=f"{cfg.model}-{cfg.data}")
    cfg.name = rd.name
    if bundle.preprocessor is not None:
        rd.save_preprocessing(cfg.preprocess, bundle.preprocessor.state_dict())
    extra = {"data_info": {"classes": bundle.classes, "in_channels": bundle.in_channels,
                           "input_size": bundle.input_size, "train_size": len(bundle.train),
                           "val_size": len(bundle.val) if bundle.val is not None else 0,
                           "test_size": len(bundle.test)},
             "environment": environment(command)}
    if finetune:
        extra["finetune"] = finetune
    write_config_file(rd.config_path, cfg, extra)
    _say(cfg, f"run directory: {rd.path}")
    return _train(rd, cfg, bundle, resume_from=None, finetune=finetune)


def resume_run(path, quiet: bool = False) -> RunResult:
    """Continue the run in ``path`` from its newest checkpoint."""
    from ember.train.restore import run_config

    rd = RunDir.open(path)
    cfg, doc = run_config(rd)
    cfg.quiet = bool(quiet)  # a display choice of this invocation, not part of the run
    if rd.summary_path.exists():
        raise ConfigError(f"{rd.path} has already finished (see {rd.summary_path}); start a new run instead")
    ckpt = latest_checkpoint(rd.checkpoints)
    if ckpt is None:
        raise RunNotFoundError(f"{rd.path} has no checkpoint to resume from (none was written before it "
                               "stopped); start it again with the same options")
    ember.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    saved = rd.load_preprocessing()
    bundle = build_data(cfg, preprocessor_state=saved)
    _say(cfg, f"resuming {rd.path} from {ckpt.name}")
    return _train(rd, cfg, bundle, resume_from=ckpt, finetune=doc.get("finetune"))


def _build_finetune_model(cfg: TrainConfig, bundle: DataBundle, finetune: dict, pretrained: bool):
    from ember.train.transfer import freeze, load_pretrained, param_groups

    model = build_model(cfg, bundle.num_classes, bundle.in_channels, bundle.input_size)
    if pretrained:
        report = load_pretrained(model, finetune["from"], new_head=finetune.get("new_head", True))
        _say(cfg, f"fine-tuning from {finetune['from']}:\n  " + str(report).replace("\n", "\n  "))
    part = finetune.get("freeze", "none")
    if part != "none" and not finetune.get("unfreeze_at"):
        n = freeze(model, part)
        _say(cfg, f"froze {part}: {n:,} parameters")
    groups = param_groups(model, cfg.lr, backbone_lr=finetune.get("backbone_lr"), head_lr=finetune.get("head_lr"))
    return model, groups


def _train(rd: RunDir, cfg: TrainConfig, bundle: DataBundle, resume_from, finetune) -> RunResult:
    try:
        return _train_unguarded(rd, cfg, bundle, resume_from, finetune)
    except KeyboardInterrupt as e:
        if isinstance(e, Interrupted):
            raise
        raise Interrupted(rd) from None


def _train_unguarded(rd: RunDir, cfg: TrainConfig, bundle: DataBundle, resume_from, finetune) -> RunResult:
    if finetune:
        model, params = _build_finetune_model(cfg, bundle, finetune, pretrained=resume_from is None)
    else:
        model = build_model(cfg, bundle.num_classes, bundle.in_channels, bundle.input_size)
        params = model.parameters()
    train_loader, val_loader, test_loader = make_loaders(cfg, bundle)
    optimizer = build_optimizer(cfg, params)
    scheduler, interval = build_scheduler(cfg, optimizer, len(train_loader))
    every_epochs, every_steps = parse_every(cfg.checkpoint_every)
    has_val = val_loader is not None
    monitor = cfg.monitor if (has_val or not cfg.monitor.startswith("val_")) else "loss"
    callbacks: list[Callback] = [
        JSONLinesLogger(rd.metrics_path), CSVLogger(rd.csv_path),
        ModelCheckpoint(rd.checkpoints, every_n_epochs=every_epochs, every_n_steps=every_steps,
                        keep_last=cfg.keep_last, save_best_on=monitor if has_val else None),
    ]
    if cfg.early_stopping:
        callbacks.append(EarlyStopping(monitor, patience=cfg.early_stopping, restore_best=True))
    if cfg.max_steps:
        callbacks.append(StopAfterSteps(cfg.max_steps))
    if finetune and finetune.get("unfreeze_at"):
        from ember.train.transfer import UnfreezeBackbone

        callbacks.append(UnfreezeBackbone(int(finetune["unfreeze_at"])))
    if os.environ.get(KILL_ENV):
        callbacks.append(_KillAfterStep(int(os.environ[KILL_ENV])))
    trainer = Trainer(model, optimizer, build_loss(cfg), scheduler=scheduler, metrics=["accuracy"],
                      callbacks=callbacks, grad_clip=cfg.grad_clip, scheduler_interval=interval,
                      scheduler_monitor=monitor, progress="quiet" if cfg.quiet else "auto")
    trainer.checkpoint_meta = {"run": rd.name, "model": cfg.model}
    if not cfg.quiet and resume_from is None:
        n = sum(int(p.array.size) for p in model.parameters())
        print(f"{cfg.model}: {n:,} parameters | {cfg.data}: {len(bundle.train):,} train, "
              f"{len(bundle.val) if bundle.val is not None else 0:,} validation, {len(bundle.test):,} test images | "
              f"{len(train_loader)} steps per epoch", flush=True)
    t0 = time.perf_counter()
    trainer.fit(train_loader, val_loader, epochs=cfg.epochs, resume_from=resume_from)
    fit_wall = time.perf_counter() - t0
    if trainer.diverged:
        rd.write_json("diverged.json", {"reason": trainer.stop_reason, "step": trainer.global_step,
                                        "last_good_checkpoint": str(trainer.last_checkpoint or "")})
        raise TrainingDiverged(trainer.stop_reason)
    meta = {"model": cfg.model, "model_args": cfg.model_args, "classes": bundle.classes,
            "input_shape": [bundle.in_channels, bundle.input_size, bundle.input_size]}
    save_weights(rd.model_path, model, meta)
    summary = finish(rd, cfg, trainer, bundle, test_loader, fit_wall)
    return RunResult(rd, summary, trainer)


def test_images(dataset) -> tuple[np.ndarray, np.ndarray]:
    """Raw images in [0, 1] and labels of a dataset (or Subset) with ``arrays()``."""
    from ember.data import to_float

    x, y = dataset.arrays()[:2]
    return to_float(x), np.asarray(y).astype(np.int64)


def evaluate_probs(probs: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    """Test metrics from predicted probabilities: NLL loss, accuracy, top-5, confusion matrix, per-class
    precision/recall/F1."""
    n = len(labels)
    p_true = np.clip(probs[np.arange(n), labels], 1e-12, 1.0)
    cm = confusion_matrix(probs, labels, len(classes))
    scores = precision_recall_f1(cm)
    res = {"loss": float(-np.log(p_true).mean()), "accuracy": float(np.trace(cm) / n), "images": n,
           "confusion_matrix": cm.tolist(),
           "per_class": {c: {"precision": float(scores["precision"][i]), "recall": float(scores["recall"][i]),
                             "f1": float(scores["f1"][i]), "support": int(scores["support"][i])}
                         for i, c in enumerate(classes)}}
    if probs.shape[1] > 5:
        res["top5_accuracy"] = topk_accuracy(probs, labels, 5)
    return res


def finish(rd: RunDir, cfg: TrainConfig, trainer: Trainer, bundle: DataBundle, test_loader, fit_wall: float) -> dict:
    """Test the final model, write summary.json and the plots, print the outcome."""
    t0 = time.perf_counter()
    probs = predict_proba(trainer.model, test_loader)
    images, labels = test_images(bundle.test)
    test = evaluate_probs(probs, labels, bundle.classes)
    test_time = time.perf_counter() - t0
    hist = trainer.history
    train_time = sum(e.get("time") or 0 for e in hist.epochs)
    summary = {
        "run": rd.name, "model": cfg.model, "data": cfg.data, "epochs": len(hist.epochs), "steps": trainer.global_step,
        "stop_reason": trainer.stop_reason,
        "test": test,
        "final_epoch": hist.epochs[-1] if hist.epochs else None,
        "best_epoch": hist.best(trainer.scheduler_monitor) if hist.epochs else None,
        "fit_wall_s": fit_wall, "train_time_s": train_time, "test_time_s": test_time,
        "train_images_per_s": (sum(e["images_per_s"] * e["time"] for e in hist.epochs if e.get("images_per_s"))
                               / train_time) if train_time else None,
    }
    paths = [plots.plot_curves(hist, rd.plots / "curves.png", title=f"{cfg.model} on {cfg.data} ({rd.name})"),
             plots.plot_lr(hist, rd.plots / "lr.png"),
             plots.plot_confusion_matrix(np.asarray(test["confusion_matrix"]), rd.plots / "confusion_matrix.png",
                                         bundle.classes, title="test confusion matrix"),
             plots.plot_misclassified(images, labels, probs, rd.plots / "misclassified.png", bundle.classes)]
    summary["plots"] = [str(p) for p in paths]
    rd.write_json("summary.json", summary)
    if not cfg.quiet:
        top5 = f", top-5 {100 * test['top5_accuracy']:.2f}%" if "top5_accuracy" in test else ""
        print(f"test accuracy {100 * test['accuracy']:.2f}%{top5}, loss {test['loss']:.4f} "
              f"on {test['images']:,} test images", flush=True)
        ips = summary["train_images_per_s"]
        print(f"trained {summary['epochs']} epoch(s), {trainer.global_step} steps in {fit_wall:.1f}s"
              + (f" ({ips:,.0f} images/s)" if ips else ""), flush=True)
        print(f"plots: {rd.plots}/ ({', '.join(p.name for p in paths)})", flush=True)
        print(f"run: {rd.path}  (ember eval {rd.path} | ember predict {rd.path} image.png)", flush=True)
    return summary
