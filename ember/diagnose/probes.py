"""Layer probes: "visualise every layer" (NOTES §10).

A :class:`LayerProbe` attaches forward hooks (and gradient hooks on the
outputs) to the layers of a model and records, per layer and per call, the
range and spread of what the layer outputs and of the gradient flowing back
into that output: mean, std, min, max, the fraction of exact zeros (dead ReLU
units), the fraction of saturated units (|tanh| > 0.99, sigmoid outside
[0.01, 0.99]) and how many units output (almost) the same value for every
sample ("units must not all output the same").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ember.tensor import Tensor


@dataclass
class Stats:
    mean: float
    std: float
    min: float
    max: float
    zero_frac: float
    saturated_frac: float
    constant_unit_frac: float

    @classmethod
    def of(cls, a: np.ndarray, kind: str = "") -> "Stats":
        a = np.asarray(a, dtype=np.float64)
        if kind == "tanh":
            sat = float(np.mean(np.abs(a) > 0.99))
        elif kind == "sigmoid":
            sat = float(np.mean((a < 0.01) | (a > 0.99)))
        else:
            sat = 0.0
        const = 0.0
        if a.ndim >= 2 and a.shape[0] > 1:
            per_unit = a.reshape(a.shape[0], a.shape[1], -1).std(axis=(0, 2))
            const = float(np.mean(per_unit < 1e-6))
        return cls(float(a.mean()), float(a.std()), float(a.min()), float(a.max()),
                   float(np.mean(a == 0)), sat, const)


@dataclass
class LayerRecord:
    name: str
    kind: str
    output: list[Stats] = field(default_factory=list)
    grad: list[Stats] = field(default_factory=list)


def _kind(module) -> str:
    n = type(module).__name__.lower()
    for k in ("relu", "tanh", "sigmoid", "elu", "selu", "silu", "gelu", "softmax"):
        if k in n:
            return "relu" if n in ("relu", "leakyrelu", "relu6", "prelu") else k
    return n


class LayerProbe:
    """Record activation and gradient statistics of every leaf layer (or of the named ones).

    Use as a context manager around forward/backward passes::

        with LayerProbe(model) as probe:
            loss_fn(model(x), y).backward()
        print(probe.report())
    """

    def __init__(self, model, names: list[str] | None = None, gradients: bool = True):
        self.model = model
        self.gradients = gradients
        self.records: dict[str, LayerRecord] = {}
        self._handles = []
        for name, m in model.named_modules():
            if not name or (names is not None and name not in names):
                continue
            if names is None and len(list(m.children())) > 0:
                continue  # leaf layers only by default
            self.records[name] = LayerRecord(name, _kind(m))
            self._handles.append(m.register_forward_hook(self._hook(name)))

    def _hook(self, name):
        def hook(module, inputs, output):
            if not isinstance(output, Tensor):
                return None
            rec = self.records[name]
            rec.output.append(Stats.of(output.array, rec.kind))
            if self.gradients and output.requires_grad:
                output.register_hook(lambda g: rec.grad.append(Stats.of(g.array)))
            return None

        return hook

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def __enter__(self) -> "LayerProbe":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def last(self) -> dict[str, tuple[Stats | None, Stats | None]]:
        return {k: (r.output[-1] if r.output else None, r.grad[-1] if r.grad else None)
                for k, r in self.records.items()}

    def warnings(self, dead_frac: float = 0.9, saturated_frac: float = 0.5, vanishing: float = 1e-7) -> list[str]:
        """Plain-language findings: dead ReLUs, saturated tanh/sigmoid, identical units, vanishing/exploding grads."""
        out = []
        for name, (act, grad) in self.last().items():
            if act is None:
                continue
            kind = self.records[name].kind
            if kind == "relu" and act.zero_frac >= dead_frac:
                out.append(f"{name}: {act.zero_frac:.0%} of ReLU outputs are zero — units may be dead "
                           "(try a smaller learning rate, bias 0.01, He init, or LeakyReLU/ELU)")
            if act.saturated_frac >= saturated_frac:
                out.append(f"{name}: {act.saturated_frac:.0%} of {kind} outputs are saturated — gradients vanish "
                           "(try smaller initial weights, input normalisation, or batch norm)")
            if act.constant_unit_frac >= 0.5:
                out.append(f"{name}: {act.constant_unit_frac:.0%} of units output the same value for every sample "
                           "(symmetric or dead units; check the initialisation)")
            if not np.isfinite(act.max) or not np.isfinite(act.min):
                out.append(f"{name}: non-finite activations")
            if grad is not None:
                gmax = max(abs(grad.min), abs(grad.max))
                if gmax < vanishing:
                    out.append(f"{name}: gradients vanish (max |grad| {gmax:.1e})")
                elif not np.isfinite(gmax) or gmax > 1e4:
                    out.append(f"{name}: gradients explode (max |grad| {gmax:.1e}); try gradient clipping")
        return out

    def report(self) -> str:
        """A text table of the last recorded call of each layer."""
        head = f"{'layer':<28}{'kind':<12}{'out mean':>10}{'out std':>10}{'min':>10}{'max':>10}{'zero%':>7}{'sat%':>6}{'grad std':>11}"
        lines = [head, "-" * len(head)]
        for name, (a, g) in self.last().items():
            if a is None:
                continue
            gs = f"{g.std:11.2e}" if g is not None else f"{'-':>11}"
            lines.append(f"{name[:27]:<28}{self.records[name].kind[:11]:<12}{a.mean:10.3g}{a.std:10.3g}{a.min:10.3g}"
                         f"{a.max:10.3g}{a.zero_frac * 100:7.1f}{a.saturated_frac * 100:6.1f}{gs}")
        return "\n".join(lines)

    def plot(self, path) -> None:
        """Histogram-style summary per layer (mean ± std and min/max of outputs and gradients) as a PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        items = [(k, a, g) for k, (a, g) in self.last().items() if a is not None]
        if not items:
            raise RuntimeError("LayerProbe.plot: nothing recorded yet; run a forward pass inside the probe first")
        x = np.arange(len(items))
        fig, axes = plt.subplots(2, 1, figsize=(max(6, len(items) * 0.6), 7), sharex=True)
        for ax, which, title in ((axes[0], 1, "activations"), (axes[1], 2, "gradients")):
            st = [it[which] for it in items]
            mean = [s.mean if s else np.nan for s in st]
            std = [s.std if s else np.nan for s in st]
            lo = [s.min if s else np.nan for s in st]
            hi = [s.max if s else np.nan for s in st]
            ax.errorbar(x, mean, yerr=std, fmt="o", capsize=3, label="mean ± std")
            ax.scatter(x, lo, marker="v", s=12, label="min")
            ax.scatter(x, hi, marker="^", s=12, label="max")
            ax.set_title(title)
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
        axes[1].set_xticks(x, [k for k, _, _ in items], rotation=60, ha="right", fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
