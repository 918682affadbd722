"""The training configuration: every option of ``ember train``, its default, type and valid values.

One source of truth for the command line, YAML/TOML config files and the ``config.yaml`` a run
directory keeps. Precedence: defaults < config file < options given on the command line.
Unknown keys and invalid values are rejected with a message that lists the valid ones.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path


OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad")
SCHEDULERS = ("none", "step", "cosine", "onecycle", "plateau", "exponential")
INITS = ("default", "kaiming", "xavier", "normal", "orthogonal")
DATASETS = ("fashion-mnist", "mnist", "cifar10")
PREPROCESS = ("standardize", "center", "minmax", "none")


class ConfigError(ValueError):
    """A configuration the user must fix (bad value, unknown key, unreadable file)."""


def _suggest(value: str, valid) -> str:
    close = difflib.get_close_matches(str(value), list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass
class TrainConfig:
    """What ``ember train`` runs. Field docs double as ``--help`` text (see ``FIELD_HELP``)."""

    model: str = "lenet5"
    model_args: dict = field(default_factory=dict)
    data: str = "fashion-mnist"
    data_root: str | None = None
    download: bool = True
    epochs: int = 5
    batch_size: int = 128
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    scheduler: str = "none"
    scheduler_args: dict = field(default_factory=dict)
    warmup_epochs: float = 0.0
    init: str = "default"
    augment: str = "none"
    preprocess: str = "standardize"
    val_split: float = 0.1
    seed: int = 0
    grad_clip: float | None = None
    label_smoothing: float = 0.0
    mixup: float = 0.0
    early_stopping: int = 0
    monitor: str = "val_loss"
    checkpoint_every: str = "1"
    keep_last: int = 3
    max_steps: int | None = None
    limit_train: int | None = None
    limit_test: int | None = None
    num_workers: int = 0
    runs_dir: str = "runs"
    name: str | None = None
    quiet: bool = False

    # ------------------------------------------------------------------ construction
    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values: dict, source: str = "config") -> "TrainConfig":
        cfg = cls()
        cfg.update(values, source)
        return cfg

    def update(self, values: dict, source: str = "config") -> "TrainConfig":
        valid = self.keys()
        for raw_key, value in values.items():
            key = str(raw_key).replace("-", "_")
            if key not in valid:
                raise ConfigError(f"{source}: unknown option {raw_key!r}{_suggest(key, valid)}; valid options: "
                                  f"{', '.join(valid)}")
            setattr(self, key, value)
        self.validate(source)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    # ------------------------------------------------------------------ checks
    def validate(self, source: str = "config") -> "TrainConfig":
        def bad(key, msg):
            raise ConfigError(f"{source}: {key.replace('_', '-')} {msg}")

        def integer(key, minimum, optional=False):
            v = getattr(self, key)
            if v is None and optional:
                return
            if isinstance(v, str) and re.fullmatch(r"-?\d+", v.strip()):
                v = int(v)
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
                bad(key, f"must be an integer >= {minimum}, got {getattr(self, key)!r}")
            setattr(self, key, v)

        def number(key, low, high=None, low_open=False, high_open=False, optional=False):
            v = getattr(self, key)
            if v is None and optional:
                return
            try:
                v = float(v)
            except (TypeError, ValueError):
                bad(key, f"must be a number, got {getattr(self, key)!r}")
            if isinstance(getattr(self, key), bool):
                bad(key, f"must be a number, got {getattr(self, key)!r}")
            ok = (v > low if low_open else v >= low) and (high is None or (v < high if high_open else v <= high))
            if not ok:
                rng = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'}" \
                      f"{')' if high_open or high is None else ']'}"
                bad(key, f"must lie in {rng}, got {getattr(self, key)!r}")
            setattr(self, key, v)

        def choice(key, valid):
            v = getattr(self, key)
            if not isinstance(v, str) or v.lower() not in valid:
                bad(key, f"{v!r} is not valid{_suggest(v, valid)}; valid: {', '.join(valid)}")
            setattr(self, key, v.lower())

        self._check_model()
        choice("data", DATASETS)
        choice("optimizer", OPTIMIZERS)
        choice("scheduler", SCHEDULERS)
        choice("init", INITS)
        choice("preprocess", PREPROCESS)
        for key in ("model_args", "scheduler_args"):
            if not isinstance(getattr(self, key), dict):
                bad(key, f"must be a mapping of keyword arguments, got {getattr(self, key)!r}")
        integer("epochs", 1)
        integer("batch_size", 1)
        integer("seed", 0)
        integer("early_stopping", 0)
        integer("keep_last", 1)
        integer("num_workers", 0)
        integer("max_steps", 1, optional=True)
        integer("limit_train", 1, optional=True)
        integer("limit_test", 1, optional=True)
        number("lr", 0, low_open=True)
        number("momentum", 0, 1, high_open=True)
        number("weight_decay", 0)
        number("warmup_epochs", 0)
        number("val_split", 0, 1, high_open=True)
        number("grad_clip", 0, low_open=True, optional=True)
        number("label_smoothing", 0, 1, high_open=True)
        number("mixup", 0)
        if not isinstance(self.augment, str):
            bad("augment", f"must be a spec such as 'flip,crop', got {self.augment!r}")
        if not isinstance(self.monitor, str) or not self.monitor:
            bad("monitor", f"must name an epoch metric such as val_loss or val_accuracy, got {self.monitor!r}")
        needs_monitor = self.early_stopping or self.scheduler == "plateau"
        if self.monitor.startswith("val_") and self.val_split == 0 and needs_monitor:
            bad("monitor", f"is {self.monitor!r} but val-split is 0, so there is no validation set; "
                           "use --val-split 0.1 or --monitor loss")
        self.checkpoint_every = str(self.checkpoint_every).strip()
        parse_every(self.checkpoint_every, source)
        for key in ("quiet", "download"):
            if not isinstance(getattr(self, key), bool):
                bad(key, f"must be true or false, got {getattr(self, key)!r}")
        if self.name is not None:
            self.name = str(self.name)
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", self.name):
                bad("name", f"must be letters, digits, '.', '_' or '-' (it becomes a directory), got {self.name!r}")
        self.runs_dir = str(self.runs_dir)
        if self.data_root is not None:
            self.data_root = str(self.data_root)
        return self

    def _check_model(self) -> None:
        from ember import models

        valid = models.list_models()
        if not isinstance(self.model, str) or self.model.lower() not in valid:
            raise ConfigError(f"unknown model {self.model!r}{_suggest(self.model, valid)}; valid models: "
                              f"{', '.join(valid)} (see `ember models`)")
        self.model = self.model.lower()


def parse_every(spec: str, source: str = "config") -> tuple[int | None, int | None]:
    """``"2"`` or ``"2epochs"`` -> every 2 epochs; ``"100steps"`` -> every 100 steps; ``"0"``/``"none"`` -> only at
    the end. Returns (every_n_epochs, every_n_steps)."""
    s = str(spec).strip().lower().replace(" ", "")
    if s in ("0", "none", "end"):
        return None, None
    m = re.fullmatch(r"(\d+)(e|epoch|epochs|s|step|steps)?", s)
    if not m or int(m.group(1)) < 1:
        raise ConfigError(f"{source}: checkpoint-every must be N (epochs), Nepochs or Nsteps (e.g. 2, 500steps) "
                          f"or none, got {spec!r}")
    n, unit = int(m.group(1)), m.group(2) or "epochs"
    return (None, n) if unit.startswith("s") else (n, None)


# --------------------------------------------------------------------------- files


def read_config_file(path) -> dict:
    """A YAML (.yaml/.yml), TOML (.toml) or JSON (.json) mapping of options, with clear errors."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from e
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix in (".yaml", ".yml", ""):
            import yaml

            data = yaml.safe_load(text)
        else:
            raise ConfigError(f"config file {path}: unknown format {suffix!r}; use .yaml, .yml, .toml or .json")
    except ConfigError:
        raise
    except Exception as e:  # yaml.YAMLError, tomllib.TOMLDecodeError, json.JSONDecodeError
        raise ConfigError(f"config file {path} is not valid {suffix.lstrip('.') or 'YAML'}: {e}") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of options (key: value), "
                          f"got {type(data).__name__}")
    # a run directory's config.yaml nests the options under "train"
    if "train" in data and isinstance(data["train"], dict) and "model" not in data:
        data = data["train"]
    return data


def write_config_file(path, config: TrainConfig, extra: dict | None = None) -> None:
    import yaml

    path = Path(path)
    doc = {"train": config.to_dict(), **(extra or {})}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
    tmp.replace(path)
