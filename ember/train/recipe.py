"""From a :class:`~ember.train.config.TrainConfig` to the objects a run needs: data, model, optimizer,
scheduler and loss. ``ember train``, ``--resume``, ``eval``, ``predict``, ``finetune`` and ``ensemble``
all build through here, so a resumed or re-evaluated run gets exactly the objects it was trained with.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ember.train.config import ConfigError, TrainConfig


@dataclass
class DataBundle:
    """The splits of one dataset, its classes and the preprocessing fitted on the training split."""

    name: str
    train: object
    val: object | None
    test: object
    classes: list[str]
    in_channels: int
    input_size: int
    preprocessor: object | None = None
    augment: object | None = None
    extra: dict = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


# --------------------------------------------------------------------------- data


def dataset_class(name: str):
    from ember import data

    classes = {"fashion-mnist": data.FashionMNIST, "mnist": data.MNIST, "cifar10": data.CIFAR10}
    if name not in classes:
        raise ConfigError(f"unknown dataset {name!r}; valid: {', '.join(classes)} (see `ember datasets`)")
    return classes[name]


def load_split(name: str, split: str, root=None, download: bool = True):
    """One split of a named dataset (raw uint8 pixels)."""
    return dataset_class(name)(root=root, split=split, download=download)


def make_preprocessor(name: str):
    from ember.data import make_preprocessor as mk

    if name == "none":
        return None
    return mk(name)


def restore_preprocessor(saved: tuple[str, dict] | None):
    """The preprocessor a run saved (``RunDir.load_preprocessing()``), or None."""
    if saved is None:
        return None
    name, state = saved
    p = make_preprocessor(name)
    p.load_state_dict(state)
    return p


def _first(ds, n: int):
    from ember.data import Subset

    return Subset(ds, np.arange(min(n, len(ds))))


def build_data(cfg: TrainConfig, preprocessor_state: tuple[str, dict] | None = None
               ) -> DataBundle:
    """Load the dataset, hold out the validation split, apply the limits and fit the preprocessing on the
    training split only (or restore it from ``preprocessor_state`` when its statistics fit the images)."""
    from ember.data import holdout_split, parse_augment

    train_full = load_split(cfg.data, "train", cfg.data_root, cfg.download)
    test = load_split(cfg.data, "test", cfg.data_root, cfg.download)
    classes = list(getattr(train_full, "classes", None) or [str(i) for i in range(int(train_full.targets.max()) + 1)])
    if cfg.val_split > 0:
        train, val = holdout_split(train_full, val_fraction=cfg.val_split, seed=cfg.seed)
    else:
        train, val = train_full, None
    if cfg.limit_train:
        train = _first(train, cfg.limit_train)
        if val is not None:
            val = _first(val, max(1, int(math.ceil(cfg.limit_train * cfg.val_split / (1 - cfg.val_split)))))
    if cfg.limit_test:
        test = _first(test, cfg.limit_test)
    c, h, w = train_full.data.shape[1:]
    if h != w:
        raise ConfigError(f"{cfg.data}: only square images are supported, got {h}x{w}")
    if preprocessor_state is not None and _fits(preprocessor_state, int(c)):
        pre = restore_preprocessor(preprocessor_state)
    else:
        pre = make_preprocessor(cfg.preprocess)
        if pre is not None:
            pre.fit(train)
    spec = cfg.augment
    if cfg.mixup > 0:
        spec = ("" if spec in ("", "none") else spec + ",") + f"mixup:alpha={cfg.mixup}"
    try:
        augment = parse_augment(spec, num_classes=len(classes))
    except ValueError as e:
        raise ConfigError(f"--augment: {e}") from e
    return DataBundle(cfg.data, train, val, test, classes, int(c), int(h), pre, augment)


def _fits(state: tuple[str, dict], channels: int) -> bool:
    """Whether saved per-channel statistics fit images with ``channels`` channels (a fine-tuning run reuses the
    source run's statistics when they do, and fits new ones otherwise)."""
    arrays = [np.asarray(v) for v in state[1].values()]
    return all(a.ndim < 2 or a.shape[1] == channels for a in arrays)


def make_loaders(cfg: TrainConfig, bundle: DataBundle):
    """(train, val, test) loaders: the training one shuffles and augments (seeded by ``cfg.seed``), the others
    only apply the preprocessing."""
    from ember.data import Compose, DataLoader

    pre = [bundle.preprocessor] if bundle.preprocessor is not None else []
    aug = list(bundle.augment.transforms) if bundle.augment is not None else []
    # augmentations work on [0, 1] pixels (crop pads with black); preprocessing comes last,
    # except label mixing, which is linear and may come after
    mixing = [t for t in aug if getattr(t, "mixes_labels", False)]
    geometric = [t for t in aug if not getattr(t, "mixes_labels", False)]
    train_tf = Compose(geometric + pre + mixing) if (aug or pre) else None
    eval_tf = Compose(pre) if pre else None
    train = DataLoader(bundle.train, batch_size=cfg.batch_size, shuffle=True, transform=train_tf, seed=cfg.seed,
                       num_workers=cfg.num_workers)
    eval_bs = max(cfg.batch_size, 256)
    val = (DataLoader(bundle.val, batch_size=eval_bs, transform=eval_tf, seed=cfg.seed)
           if bundle.val is not None else None)
    test = DataLoader(bundle.test, batch_size=eval_bs, transform=eval_tf, seed=cfg.seed)
    return train, val, test


# --------------------------------------------------------------------------- model


def build_model(cfg: TrainConfig, num_classes: int, in_channels: int, input_size: int):
    """The zoo model named by ``cfg.model`` with ``cfg.model_args``, re-initialised per ``cfg.init``."""
    from ember import models

    kwargs = dict(num_classes=num_classes, in_channels=in_channels, input_size=input_size)
    kwargs.update(cfg.model_args)
    try:
        model = models.get(cfg.model, **kwargs)
    except TypeError as e:
        raise ConfigError(f"model {cfg.model!r} does not accept these arguments {sorted(kwargs)}: {e}") from e
    except ValueError as e:
        raise ConfigError(f"model {cfg.model!r}: {e}") from e
    apply_init(model, cfg.init)
    return model


def apply_init(model, scheme: str) -> None:
    """Re-initialise every convolution and linear layer (NOTES §5): He/Kaiming normal for ReLU nets,
    Xavier/Glorot uniform, small Gaussian (std 0.01) or orthogonal; biases to zero. "default" keeps the
    model's own initialisation."""
    from ember import nn

    if scheme == "default":
        return
    layer_types = tuple(t for t in (getattr(nn, "Conv2d", None), getattr(nn, "Linear", None)) if t is not None)
    for m in model.modules():
        if not isinstance(m, layer_types):
            continue
        w = m.weight
        if scheme == "kaiming":
            nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="relu")
        elif scheme == "xavier":
            nn.init.xavier_uniform_(w)
        elif scheme == "normal":
            nn.init.normal_(w, 0.0, 0.01)
        elif scheme == "orthogonal":
            nn.init.orthogonal_(w)
        else:
            raise ConfigError(f"unknown init {scheme!r}")
        if getattr(m, "bias", None) is not None:
            nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------- optimisation


def build_optimizer(cfg: TrainConfig, params):
    """``params``: parameters or parameter groups (dicts with their own ``lr``)."""
    from ember import optim

    name = cfg.optimizer
    wd = cfg.weight_decay
    if name == "sgd":
        return optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=wd)
    if name == "adam":
        return optim.Adam(params, lr=cfg.lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=cfg.lr, weight_decay=wd)
    if name == "rmsprop":
        return optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum if cfg.momentum else 0.0, weight_decay=wd)
    if name == "adagrad":
        return optim.Adagrad(params, lr=cfg.lr, weight_decay=wd)
    raise ConfigError(f"unknown optimizer {name!r}")


def build_scheduler(cfg: TrainConfig, optimizer, steps_per_epoch: int):
    """(scheduler or None, interval). Per-step: cosine, onecycle and warm-up; per-epoch: step, exponential,
    plateau (halve the rate when the monitored validation metric stops improving, NOTES §4)."""
    from ember.optim import lr_scheduler as S

    total = cfg.epochs * steps_per_epoch
    warm = int(round(cfg.warmup_epochs * steps_per_epoch))
    a = dict(cfg.scheduler_args)
    name = cfg.scheduler
    try:
        if name == "none":
            sched, interval = None, "epoch"
        elif name == "step":
            a.setdefault("step_size", max(1, cfg.epochs // 3))
            a.setdefault("gamma", 0.1)
            sched, interval = S.StepLR(optimizer, **a), "epoch"
        elif name == "exponential":
            a.setdefault("gamma", 0.9)
            sched, interval = S.ExponentialLR(optimizer, **a), "epoch"
        elif name == "cosine":
            a.setdefault("eta_min", 0.0)
            if warm:  # linear warm-up, then the cosine over the remaining steps
                sched = S.WarmupLR(optimizer, warm, after=lambda o: S.CosineAnnealingLR(o, T_max=max(1, total - warm),
                                                                                         **a))
            else:
                sched = S.CosineAnnealingLR(optimizer, T_max=total, **a)
            interval = "step"
        elif name == "onecycle":
            if warm:
                raise ConfigError("--warmup-epochs cannot be combined with --scheduler onecycle, which has its own "
                                  "warm-up (pct_start)")
            peaks = [float(g["lr"]) for g in optimizer.param_groups]  # per group (fine-tuning)
            sched, interval = S.OneCycleLR(optimizer, max_lr=peaks, total_steps=total, **a), "step"
        elif name == "plateau":
            from ember.train.history import resolve_mode

            a.setdefault("factor", 0.5)
            a.setdefault("patience", 1)
            sched = S.ReduceLROnPlateau(optimizer, mode=resolve_mode(cfg.monitor), **a)
            interval = "epoch"
        else:
            raise ConfigError(f"unknown scheduler {name!r}")
    except TypeError as e:
        raise ConfigError(f"scheduler {name!r}: bad scheduler-args {cfg.scheduler_args}: {e}") from e
    if warm and name == "none":
        sched, interval = S.WarmupLR(optimizer, warm), "step"
    elif warm and name not in ("cosine", "onecycle"):
        raise ConfigError(f"--warmup-epochs works with --scheduler none or cosine, not {name!r}")
    return sched, interval


def build_loss(cfg: TrainConfig):
    from ember import nn

    return nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
