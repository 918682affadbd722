"""Rebuild a trained run from its directory: the model architecture (from ``config.yaml``), its weights,
the preprocessing fitted at training time and the class names — what eval, predict, ensembles and
fine-tuning start from."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ember.train.config import TrainConfig
from ember.train.rundir import RunDir, RunNotFoundError


@dataclass
class LoadedRun:
    model: object
    rundir: RunDir
    config: TrainConfig
    preprocessor: object | None
    classes: list[str]
    in_channels: int
    input_size: int
    doc: dict

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.input_size, self.input_size)


def run_config(rd: RunDir) -> tuple[TrainConfig, dict]:
    doc = rd.read_config()
    cfg = TrainConfig.from_dict(doc["train"], source=str(rd.config_path))
    return cfg, doc


def load_run(run, weights: str | Path | None = "model", num_classes: int | None = None) -> LoadedRun:
    """The run at ``run`` with its model built and, unless ``weights`` is None, loaded: "model" (the final
    weights, model.ckpt), "best" (checkpoints/best.ckpt), "last" (the newest periodic checkpoint) or a path."""
    from ember.train import checkpoint as ckpt
    from ember.train.recipe import build_model, restore_preprocessor

    rd = RunDir.open(run)
    cfg, doc = run_config(rd)
    info = doc.get("data_info") or {}
    try:
        classes = list(info["classes"])
        in_channels, input_size = int(info["in_channels"]), int(info["input_size"])
    except KeyError as e:
        raise RunNotFoundError(f"{rd.config_path} lacks data_info.{e.args[0]}; was the run started?") from e
    model = build_model(cfg, num_classes or len(classes), in_channels, input_size)
    if weights is not None:
        path = resolve_weights(rd, weights)
        ckpt.load_weights(model, path)
    pre = restore_preprocessor(rd.load_preprocessing())
    return LoadedRun(model, rd, cfg, pre, classes, in_channels, input_size, doc)


def resolve_weights(rd: RunDir, which) -> Path:
    """The file behind "model", "best", "last" or an explicit path, with a clear error when it is missing."""
    from ember.train.checkpoint import latest_checkpoint

    if which == "model":
        if rd.model_path.exists():
            return rd.model_path
        last = latest_checkpoint(rd.checkpoints)
        if last is None:
            raise RunNotFoundError(f"{rd.path} has no model.ckpt and no checkpoints: the run has not finished "
                                   "an epoch yet (resume it with `ember train --resume`)")
        return last
    if which == "best":
        p = rd.checkpoints / "best.ckpt"
        if not p.exists():
            raise RunNotFoundError(f"{rd.path} has no best.ckpt (it is written when a validation set is used)")
        return p
    if which == "last":
        last = latest_checkpoint(rd.checkpoints)
        if last is None:
            raise RunNotFoundError(f"{rd.path} has no periodic checkpoints")
        return last
    p = Path(which)
    if not p.exists():
        cand = rd.checkpoints / str(which)
        if cand.exists():
            return cand
        raise RunNotFoundError(f"checkpoint {which} not found (give model, best, last, a file in "
                               f"{rd.checkpoints} or a path)")
    return p


def model_for_run(run):
    """(model, rundir, config, preprocessor) without loading weights (the caller picks the file)."""
    lr = load_run(run, weights=None)
    return lr.model, lr.rundir, lr.config, lr.preprocessor
