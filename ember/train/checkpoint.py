"""Checkpoints: the whole state of a training run in one file, written atomically through ``ember.save``.

A checkpoint is a nested dict::

    {"format": "ember-checkpoint", "version": 1,
     "model": model.state_dict(), "optimizer": ..., "scheduler": ...,
     "rng": {"ember": ..., "numpy": ...},          # global generators (dropout, init, ...)
     "loader": train_loader.state_dict(),           # seed, epoch, position: the data order
     "trainer": {"epoch": ..., "global_step": ..., "batch_in_epoch": ..., "epoch_done": ..., ...},
     "callbacks": {"EarlyStopping": {...}, ...},
     "meta": {...}}                                 # free-form: the run's config, timings

Nothing is pickled: ``ember.save`` stores arrays in an npz archive and the rest as JSON, so loading a
checkpoint never runs code. Periodic checkpoints are called ``step-<global step>.ckpt``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

import ember
import ember.random as erandom
from ember.tensor import Tensor

FORMAT = "ember-checkpoint"
VERSION = 1
_STEP_RE = re.compile(r"^step-(\d+)\.ckpt$")


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model/optimizer it is loaded into."""


def checkpoint_name(step: int) -> str:
    return f"step-{int(step):08d}.ckpt"


def checkpoint_step(path) -> int | None:
    m = _STEP_RE.match(Path(path).name)
    return int(m.group(1)) if m else None


def list_checkpoints(dirpath) -> list[Path]:
    """Periodic checkpoints in ``dirpath``, oldest (lowest step) first."""
    d = Path(dirpath)
    if not d.is_dir():
        return []
    found = [(checkpoint_step(p), p) for p in d.iterdir() if checkpoint_step(p) is not None]
    return [p for _, p in sorted(found)]


def latest_checkpoint(dirpath) -> Path | None:
    found = list_checkpoints(dirpath)
    return found[-1] if found else None


# --------------------------------------------------------------------------- RNG state


def _np_legacy_state() -> dict:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": np.asarray(keys), "pos": int(pos), "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached)}


def get_rng_states() -> dict:
    """ember's global generator (as JSON text: its 128-bit integers stay exact) and NumPy's legacy one."""
    return {"ember": json.dumps(erandom.get_rng_state()), "numpy": _np_legacy_state()}


def set_rng_states(state: dict) -> None:
    ember_state = state["ember"]
    erandom.set_rng_state(json.loads(ember_state) if isinstance(ember_state, str) else ember_state)
    n = state.get("numpy")
    if n is not None:
        np.random.set_state((str(n["name"]), np.asarray(n["keys"], dtype=np.uint32), int(n["pos"]),
                             int(n["has_gauss"]), float(n["cached_gaussian"])))


# --------------------------------------------------------------------------- save / load


def _plain(obj):
    """Model tensors as arrays (detached copies), everything else as is."""
    if isinstance(obj, Tensor):
        return obj.array.copy()
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def save_checkpoint(path, state: dict) -> Path:
    """Write ``state`` (a nested dict) to ``path`` atomically through ``ember.save``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "version": VERSION, **_plain(state)}
    ember.save(payload, path)
    return path


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`, with a clear error for a missing or foreign file."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        state = ember.load(path)
    except Exception as e:  # corrupted, truncated, or not an ember file at all
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from e
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an ember training checkpoint")
    if int(state.get("version", 0)) > VERSION:
        raise CheckpointError(f"{path} was written by a newer ember (checkpoint version {state['version']})")
    return state


def save_weights(path, model, meta: dict | None = None) -> Path:
    """Just the model's parameters and buffers (plus free-form ``meta``): what eval and predict need."""
    return save_checkpoint(path, {"model": model.state_dict(), "meta": meta or {}})


def load_weights(model, path, strict: bool = True):
    """Load the ``model`` entry of a checkpoint or weights file into ``model``; returns (missing, unexpected)."""
    state = load_checkpoint(path)
    try:
        return model.load_state_dict(state["model"], strict=strict)
    except RuntimeError as e:
        raise CheckpointError(f"{path} does not fit this model: {e}") from e
