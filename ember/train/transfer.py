"""Transfer learning and fine-tuning (NOTES §7).

    model = ember.models.get("lenet5", num_classes=5, input_size=28)   # same architecture, new head
    report = load_pretrained(model, "runs/fashion")                    # weights that fit; the rest skipped
    print(report)                                                      # what was loaded, skipped and why
    freeze(model, "backbone")                                          # train only the head ...
    opt = ember.optim.Adam(param_groups(model, lr=1e-3, backbone_lr=1e-4))
    trainer = Trainer(model, opt, callbacks=[UnfreezeBackbone(at_epoch=2)])  # ... then everything

The *head* is the last ``Linear`` layer of the model (its classifier); the *backbone* is everything
else. ``load_pretrained`` loads with ``strict=False`` after dropping the entries whose shape does not
fit (a head for a different number of classes, a first convolution for a different number of input
channels), and reports each group of keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ember.tensor import Tensor
from ember.train.callbacks import Callback


@dataclass
class TransferReport:
    loaded: list[str] = field(default_factory=list)
    skipped_shape: list[str] = field(default_factory=list)   # "key: checkpoint (a, b) vs model (c, d)"
    skipped_excluded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)          # in the model, not in the checkpoint
    unexpected: list[str] = field(default_factory=list)       # in the checkpoint, not in the model

    def __str__(self) -> str:
        lines = [f"loaded {len(self.loaded)} tensors from the pretrained weights"]
        if self.skipped_excluded:
            lines.append(f"re-initialised (new head): {', '.join(self.skipped_excluded)}")
        if self.skipped_shape:
            lines.append("skipped, shape differs: " + "; ".join(self.skipped_shape))
        if self.missing:
            lines.append(f"not in the checkpoint (kept as initialised): {', '.join(self.missing)}")
        if self.unexpected:
            lines.append(f"in the checkpoint but not in this model (ignored): {', '.join(self.unexpected)}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- head and backbone


def head_name(model) -> str:
    """The dotted name of the model's classifier: its last ``Linear`` module."""
    from ember import nn

    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise ValueError(f"{type(model).__name__} has no Linear layer to serve as the head; name the head's "
                         "parameters explicitly")
    return names[-1]


def split_parameters(model, head: str | None = None) -> tuple[list, list]:
    """(backbone parameters, head parameters)."""
    head = head or head_name(model)
    backbone, top = [], []
    for name, p in model.named_parameters():
        (top if name == head or name.startswith(head + ".") else backbone).append(p)
    return backbone, top


def replace_head(model, num_classes: int, head: str | None = None):
    """Swap the head for a fresh ``Linear(in_features, num_classes)``; returns the new layer."""
    from ember import nn

    head = head or head_name(model)
    old = model.get_submodule(head)
    new = nn.Linear(old.in_features, int(num_classes), bias=old.bias is not None)
    parent_name, _, child = head.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)
    return new


def freeze(model, part: str = "backbone", head: str | None = None) -> int:
    """Stop gradients for ``part``: "backbone" (all but the head), "all", "none", or a comma-separated list of
    module-name prefixes (e.g. "features.0,features.3"). Returns how many parameters are now frozen."""
    return _set_trainable(model, part, False, head)


def unfreeze(model, part: str = "all", head: str | None = None) -> int:
    """The inverse of :func:`freeze`; returns how many parameters were made trainable."""
    return _set_trainable(model, part, True, head)


def _set_trainable(model, part: str, trainable: bool, head: str | None) -> int:
    if part == "none":
        return 0
    if part == "backbone":
        params = split_parameters(model, head)[0]
    elif part == "all":
        params = list(model.parameters())
    else:
        prefixes = [p.strip() for p in part.split(",") if p.strip()]
        names = dict(model.named_parameters())
        valid = sorted({n.rsplit(".", 1)[0] for n in names})
        params = []
        for pre in prefixes:
            hit = [p for n, p in names.items() if n == pre or n.startswith(pre + ".")]
            if not hit:
                raise ValueError(f"no parameters under {pre!r}; module names with parameters: {', '.join(valid)}")
            params += hit
    count = 0
    for p in params:
        p.requires_grad = trainable
        if not trainable:
            p.grad = None
        count += int(p.array.size)
    return count


def param_groups(model, lr: float, backbone_lr: float | None = None, head_lr: float | None = None,
                 head: str | None = None) -> list[dict]:
    """Two optimizer parameter groups, backbone and head, each with its own learning rate (by default
    both ``lr``). Frozen parameters stay in their group, so unfreezing later needs no new optimizer."""
    backbone, top = split_parameters(model, head)
    groups = []
    if backbone:
        groups.append({"params": backbone, "lr": float(backbone_lr if backbone_lr is not None else lr)})
    groups.append({"params": top, "lr": float(head_lr if head_lr is not None else lr)})
    return groups


# --------------------------------------------------------------------------- loading


def _state_from(source) -> dict:
    if isinstance(source, dict):
        return source.get("model", source) if "format" in source else source
    p = Path(source)
    if p.is_dir():
        from ember.train.restore import resolve_weights
        from ember.train.rundir import RunDir

        p = resolve_weights(RunDir.open(p), "model")
    from ember.train.checkpoint import load_checkpoint

    return load_checkpoint(p)["model"]


def load_pretrained(model, source, exclude=(), new_head: bool = False) -> TransferReport:
    """Copy every tensor of ``source`` (a run directory, a checkpoint file or a state dict) whose name and
    shape fit ``model``; ``exclude`` lists name prefixes to leave as initialised, ``new_head`` adds the
    head to them. Returns a :class:`TransferReport`."""
    state = _state_from(source)
    own = model.state_dict()
    exclude = list(exclude) + ([head_name(model)] if new_head else [])
    rep = TransferReport()
    keep = {}
    for k, v in state.items():
        arr = v.array if isinstance(v, Tensor) else np.asarray(v)
        if k not in own:
            rep.unexpected.append(k)
        elif any(k == e or k.startswith(e + ".") for e in exclude):
            rep.skipped_excluded.append(k)
        elif tuple(arr.shape) != tuple(own[k].shape):
            rep.skipped_shape.append(f"{k}: checkpoint {tuple(arr.shape)} vs model {tuple(own[k].shape)}")
        else:
            keep[k] = arr
    missing, _unexpected = model.load_state_dict(keep, strict=False)
    rep.loaded = list(keep)
    skipped = {s.split(":")[0] for s in rep.skipped_shape} | set(rep.skipped_excluded)
    rep.missing = [k for k in missing if k not in skipped]
    return rep


class UnfreezeBackbone(Callback):
    """Gradual unfreezing: train the head alone for ``at_epoch`` epochs, then the whole network."""

    def __init__(self, at_epoch: int, head: str | None = None):
        if int(at_epoch) < 1:
            raise ValueError(f"at_epoch must be >= 1, got {at_epoch}")
        self.at_epoch = int(at_epoch)
        self.head = head

    def on_epoch_start(self, trainer, epoch: int) -> None:
        if epoch >= self.at_epoch:
            n = unfreeze(trainer.model, "backbone", self.head)
            if epoch == self.at_epoch and trainer.batch_in_epoch == 0:
                trainer.log(f"epoch {epoch + 1}: unfroze the backbone ({n:,} parameters now train)")
        else:
            freeze(trainer.model, "backbone", self.head)
