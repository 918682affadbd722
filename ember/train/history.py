"""History: what happened during training, per step and per epoch.

``history.steps`` is a list of dicts, one per optimisation step (``step``, ``epoch``, ``loss``, ``lr``, ...);
``history.epochs`` one per finished epoch (``epoch``, ``loss``, ``accuracy``, ``val_loss``,
``val_accuracy``, ``lr``, ``time``...). ``history["val_loss"]`` is the per-epoch series of one key,
``history.step_series("loss")`` the per-step one. It reads and writes the run directory's
``metrics.jsonl`` (one JSON object per line with ``"kind": "step"`` or ``"epoch"``).
"""
from __future__ import annotations

import json
import math
from pathlib import Path


def _clean(value):
    """JSON-friendly scalars: NumPy numbers become Python ones, NaN/Inf become None."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class History:
    """Per-step and per-epoch records of a training run."""

    def __init__(self, steps=None, epochs=None):
        self.steps: list[dict] = list(steps or [])
        self.epochs: list[dict] = list(epochs or [])

    def log_step(self, record: dict) -> dict:
        rec = {k: _clean(v) for k, v in record.items()}
        self.steps.append(rec)
        return rec

    def log_epoch(self, record: dict) -> dict:
        rec = {k: _clean(v) for k, v in record.items()}
        self.epochs.append(rec)
        return rec

    def __getitem__(self, key: str) -> list:
        """The per-epoch values of ``key`` (None where an epoch has no such value)."""
        return [e.get(key) for e in self.epochs]

    def __contains__(self, key: str) -> bool:
        return any(key in e for e in self.epochs)

    def __len__(self) -> int:
        return len(self.epochs)

    def keys(self) -> list[str]:
        seen: dict[str, None] = {}
        for e in self.epochs:
            seen.update(dict.fromkeys(e))
        return list(seen)

    def step_series(self, key: str) -> tuple[list[int], list]:
        """(steps, values) for a per-step key, skipping steps without it."""
        pairs = [(s["step"], s[key]) for s in self.steps if s.get(key) is not None]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def best(self, monitor: str, mode: str = "auto") -> dict | None:
        """The epoch record with the best value of ``monitor`` ("min" for losses, "max" otherwise)."""
        mode = resolve_mode(monitor, mode)
        rows = [e for e in self.epochs if e.get(monitor) is not None]
        if not rows:
            return None
        return (min if mode == "min" else max)(rows, key=lambda e: e[monitor])

    def truncate(self, step: int, epoch: int) -> None:
        """Forget what came after global step ``step`` and epoch ``epoch`` (used when resuming)."""
        self.steps = [s for s in self.steps if s.get("step", 0) <= step]
        self.epochs = [e for e in self.epochs if e.get("epoch", 0) <= epoch]

    # ------------------------------------------------------------------ persistence
    def to_jsonl(self, path) -> None:
        """Write every record, steps and epochs in the order they happened, one JSON object per line."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as f:
            for rec in self.records():
                f.write(json.dumps(rec) + "\n")
        tmp.replace(path)

    def records(self) -> list[dict]:
        """Step and epoch records interleaved in time order (an epoch record follows its last step)."""
        out = []
        ei = 0
        epochs = self.epochs
        for s in self.steps:
            while ei < len(epochs) and epochs[ei].get("step", 0) < s["step"]:
                out.append({"kind": "epoch", **epochs[ei]})
                ei += 1
            out.append({"kind": "step", **s})
        for e in epochs[ei:]:
            out.append({"kind": "epoch", **e})
        return out

    @classmethod
    def from_jsonl(cls, path) -> "History":
        h = cls()
        path = Path(path)
        if not path.exists():
            return h
        with open(path) as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    # a run killed while writing leaves at most one partial last line
                    continue
                kind = rec.pop("kind", "step")
                (h.epochs if kind == "epoch" else h.steps).append(rec)
        return h

    def __repr__(self) -> str:
        return f"History({len(self.steps)} steps, {len(self.epochs)} epochs, keys={self.keys()})"


def resolve_mode(monitor: str, mode: str = "auto") -> str:
    """"min" for losses and errors, "max" for accuracies and scores, unless given explicitly."""
    if mode in ("min", "max"):
        return mode
    if mode != "auto":
        raise ValueError(f"mode must be 'min', 'max' or 'auto', got {mode!r}")
    m = monitor.lower()
    return "min" if ("loss" in m or "error" in m or m.endswith("_err")) else "max"
