"""Run directories: everything about one training run under ``runs/<name>/``.

::

    runs/<name>/
      config.yaml          the full configuration (every option, defaults included) + environment
      metrics.jsonl        one JSON object per step and per epoch
      metrics.csv          one row per epoch
      preprocessing.npz    the statistics fitted on the training split (e.g. per-channel mean/std)
      checkpoints/         step-<N>.ckpt (full training state, the newest few), best.ckpt
      model.ckpt           the final weights (what ``ember eval`` and ``ember predict`` load)
      summary.json         test metrics, timings, per-class scores
      plots/               curves.png, lr.png, confusion_matrix.png, misclassified.png
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import numpy as np


class RunNotFoundError(FileNotFoundError):
    """A run directory that does not exist or is not an ember run."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "run not found"


class RunDir:
    """Paths and small readers/writers for one run directory."""

    def __init__(self, path):
        self.path = Path(path)

    # ------------------------------------------------------------------ creation / opening
    @classmethod
    def create(cls, runs_dir, name: str | None = None, prefix: str = "run") -> "RunDir":
        """A new, empty run directory. Without a name one is made from ``prefix`` and the time; an
        existing name gets a numeric suffix (``demo``, ``demo-2``, ...) so no run is overwritten."""
        root = Path(runs_dir)
        root.mkdir(parents=True, exist_ok=True)
        base = name or f"{prefix}-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
        candidate, n = base, 1
        while True:
            path = root / candidate
            try:
                path.mkdir()
                break
            except FileExistsError:
                n += 1
                candidate = f"{base}-{n}"
        rd = cls(path)
        rd.checkpoints.mkdir()
        rd.plots.mkdir()
        return rd

    @classmethod
    def open(cls, path) -> "RunDir":
        """An existing run; a clear error when the directory or its config is missing."""
        p = Path(path)
        if not p.exists():
            parent = p.parent if str(p.parent) not in ("", ".") else Path(".")
            hint = ""
            if parent.is_dir():
                runs = sorted(x.name for x in parent.iterdir() if (x / "config.yaml").exists())
                if runs:
                    hint = f"; runs in {parent}: {', '.join(runs[-10:])}"
            raise RunNotFoundError(f"run directory {p} does not exist{hint}")
        if not p.is_dir():
            raise RunNotFoundError(f"{p} is not a directory (expected a run directory such as runs/demo)")
        rd = cls(p)
        if not rd.config_path.exists():
            raise RunNotFoundError(f"{p} is not an ember run directory (it has no config.yaml)")
        return rd

    # ------------------------------------------------------------------ paths
    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def csv_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def preprocessing_path(self) -> Path:
        return self.path / "preprocessing.npz"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def model_path(self) -> Path:
        return self.path / "model.ckpt"

    @property
    def summary_path(self) -> Path:
        return self.path / "summary.json"

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    # ------------------------------------------------------------------ contents
    def read_config(self) -> dict:
        """The whole config.yaml document: ``train`` (the options) plus what else was recorded."""
        import yaml

        try:
            doc = yaml.safe_load(self.config_path.read_text())
        except Exception as e:
            raise RunNotFoundError(f"cannot read {self.config_path}: {e}") from e
        if not isinstance(doc, dict) or not isinstance(doc.get("train"), dict):
            raise RunNotFoundError(f"{self.config_path} is not an ember run configuration")
        return doc

    def write_json(self, name: str, obj) -> Path:
        path = self.path / name
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")
        os.replace(tmp, path)
        return path

    def read_json(self, name: str):
        path = self.path / name
        return json.loads(path.read_text()) if path.exists() else None

    def save_preprocessing(self, name: str, state: dict) -> Path:
        """The preprocessing's fitted statistics as a NumPy archive (arrays only, no pickle)."""
        arrays = {f"{k}": np.asarray(v) for k, v in state.items()}
        tmp = self.path / "preprocessing.tmp.npz"
        np.savez(tmp, __name__=np.array(name), **arrays)
        os.replace(tmp, self.preprocessing_path)
        return self.preprocessing_path

    def load_preprocessing(self) -> tuple[str, dict] | None:
        if not self.preprocessing_path.exists():
            return None
        with np.load(self.preprocessing_path, allow_pickle=False) as z:
            name = str(z["__name__"])
            return name, {k: z[k] for k in z.files if k != "__name__"}


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot write {type(o).__name__} to JSON")
