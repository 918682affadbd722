"""``summary(model, input_shape)``: a Keras-style table of layers, output shapes, parameters and
multiply-accumulates, measured by running a dummy batch through the model with forward hooks.

Every module that owns parameters, or has no sub-modules, gets a row in the order it is called
(a module called twice gets two rows; its parameters are counted once). Multiply-accumulates are
counted per example for the layers that do them: a convolution costs
``H_out·W_out·C_out · (C_in/groups)·k_h·k_w``, a linear layer ``in·out``; any module may report its own
with a ``macs(output) -> int`` method. Element-wise layers (activations, batch norm, pooling) count 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LayerRow:
    name: str
    kind: str
    output_shape: tuple
    params: int
    macs: int


@dataclass
class ModelSummary:
    """What ``summary`` measured; ``str()`` gives the table."""

    model_name: str
    input_shape: tuple
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    def __str__(self) -> str:
        head = ("Layer (type)", "Output Shape", "Param #", "MACs")
        body = [(f"{r.name} ({r.kind})", _shape_str(r.output_shape), f"{r.params:,}", f"{r.macs:,}") for r in self.rows]
        widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]

        def line(cells):
            return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells))

        rule = "=" * len(line(head))
        out = [f'Model: "{self.model_name}"  input: {_shape_str((None, *self.input_shape))}', rule, line(head), rule]
        out += [line(b) for b in body]
        out += [rule,
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                f"Multiply-accumulates per example: {self.total_macs:,} ({_human(self.total_macs)})",
                rule]
        return "\n".join(out)


def _human(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def _shape_str(shape) -> str:
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def _layer_macs(module, output, batch: int) -> int:
    from ember import nn

    custom = getattr(module, "macs", None)
    if callable(custom):
        return int(custom(output))
    if isinstance(module, nn.Conv2d):
        cin_per_group, kh, kw = module.weight.shape[1:]
        return int(np.prod(output.shape[1:])) * cin_per_group * kh * kw
    if isinstance(module, nn.Linear):
        return int(np.prod(output.shape)) // batch * module.in_features
    return 0


def summary(model, input_shape=None, batch_size: int = 2, print_fn=print) -> ModelSummary:
    """Run ``batch_size`` zero images of ``input_shape`` (without the batch dimension, e.g. (3, 224, 224);
    default: the model's ``default_input_shape``) through ``model`` in eval mode, print the table with
    ``print_fn`` (``None`` prints nothing) and return the ``ModelSummary``."""
    import ember

    if input_shape is None:
        input_shape = getattr(model, "default_input_shape", None)
        if input_shape is None:
            raise ValueError("summary needs input_shape (e.g. (3, 224, 224)); this model has no default_input_shape")
    input_shape = tuple(int(s) for s in input_shape)
    if not input_shape or any(s < 1 for s in input_shape):
        raise ValueError(f"input_shape must be a non-empty tuple of positive sizes without the batch, got {input_shape}")

    rows: list[LayerRow | None] = []
    counted: set[int] = set()
    handles = []
    for name, m in model.named_modules():
        has_children = any(True for _ in m.children())
        if m is model or (has_children and not m._parameters):
            continue

        def pre(mod, inputs, _name=name):
            mod.__dict__.setdefault("_summary_slots", []).append(len(rows))
            rows.append(None)

        def post(mod, inputs, output, _name=name):
            slot = mod.__dict__["_summary_slots"].pop()
            fresh = [p for p in mod.parameters(recurse=False) if id(p) not in counted]
            counted.update(id(p) for p in fresh)
            shape = tuple(output.shape) if hasattr(output, "shape") else ()
            rows[slot] = LayerRow(_name, type(mod).__name__, (None, *shape[1:]),
                                  int(sum(p.array.size for p in fresh)), _layer_macs(mod, output, batch_size))

        handles += [m.register_forward_pre_hook(pre), m.register_forward_hook(post)]

    was_training = {id(m): m.training for m in model.modules()}
    model.eval()
    try:
        with ember.no_grad():
            model(ember.zeros(batch_size, *input_shape))
    finally:
        for h in handles:
            h.remove()
        for m in model.modules():
            object.__setattr__(m, "training", was_training[id(m)])
            m.__dict__.pop("_summary_slots", None)

    params = list(model.parameters())
    result = ModelSummary(
        model_name=type(model).__name__,
        input_shape=input_shape,
        rows=[r for r in rows if r is not None],
        total_params=int(sum(p.array.size for p in params)),
        trainable_params=int(sum(p.array.size for p in params if p.requires_grad)),
    )
    if print_fn is not None:
        print_fn(str(result))
    return result


class SummaryMixin:
    """Gives a model ``model.summary(input_shape=None)`` (see ``ember.models.summary``)."""

    def summary(self, input_shape=None, batch_size: int = 2, print_fn=print) -> ModelSummary:
        return summary(self, input_shape, batch_size=batch_size, print_fn=print_fn)
