"""``doctor``: the notes' checklist for a network that will not train (NOTES §10), run for you.

1. Inputs normalised? (mean ≈ 0, std ≈ 1)
2. Initial loss: a correctly initialised C-class softmax starts near ln C.
3. Gradient check: analytic vs numerical gradients on a few parameter entries, in float64.
4. Every layer: activation and gradient ranges (dead ReLUs, saturation, identical units).
5. Final layer: no softmax before a cross-entropy that applies its own.
6. Start small: can the model overfit one small fixed batch?
Each check yields a :class:`Finding` with a status and a sentence saying what to do.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from ember import random as _random
from ember.diagnose.probes import LayerProbe
from ember.tensor import Tensor, no_grad

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Finding:
    check: str
    status: str
    message: str


@dataclass
class DoctorReport:
    findings: list[Finding] = field(default_factory=list)

    def add(self, check: str, status: str, message: str) -> None:
        self.findings.append(Finding(check, status, message))

    @property
    def ok(self) -> bool:
        return all(f.status != FAIL for f in self.findings)

    def __str__(self) -> str:
        mark = {OK: "✓", WARN: "!", FAIL: "✗"}
        return "\n".join(f"[{mark[f.status]}] {f.check}: {f.message}" for f in self.findings)

    def print(self) -> None:
        try:
            from rich.console import Console
            from rich.table import Table

            t = Table(title="ember doctor")
            t.add_column("check")
            t.add_column("status")
            t.add_column("finding")
            colour = {OK: "green", WARN: "yellow", FAIL: "red"}
            for f in self.findings:
                t.add_row(f.check, f"[{colour[f.status]}]{f.status}[/]", f.message)
            Console().print(t)
        except ImportError:  # pragma: no cover
            print(self)


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(np.asarray(x))


def _spot_gradcheck(model, loss_fn, x, y, n_entries: int = 4, eps: float = 1e-6, seed: int = 0):
    """Largest relative error between analytic and central-difference gradients on a few entries of each
    parameter, computed on a float64 copy of the model (dropout made deterministic by reseeding)."""
    m = copy.deepcopy(model).double()
    x64 = Tensor(x.array.astype(np.float64)) if x.array.dtype.kind == "f" else x
    rng = np.random.default_rng(seed)
    state = _random.get_rng_state()

    def loss_value():
        _random.set_rng_state(state)
        return loss_fn(m(x64), y)

    for p in m.parameters():
        p.grad = None
    loss_value().backward()
    worst, where = 0.0, ""
    with no_grad():
        for name, p in m.named_parameters():
            if p.grad is None:
                continue
            flat = p.array.reshape(-1)
            for k in rng.choice(flat.size, size=min(n_entries, flat.size), replace=False):
                orig = flat[k]
                flat[k] = orig + eps
                fp = float(loss_value().item())
                flat[k] = orig - eps
                fm = float(loss_value().item())
                flat[k] = orig
                num = (fp - fm) / (2 * eps)
                ana = float(p.grad.array.reshape(-1)[k])
                rel = abs(ana - num) / max(abs(ana) + abs(num), 1e-6)  # floor: finite-difference noise
                if rel > worst:
                    worst, where = rel, f"{name}[{int(k)}] analytic {ana:.6g} vs numeric {num:.6g}"
    _random.set_rng_state(state)
    return worst, where


def doctor(model, x, y, loss_fn=None, num_classes: int | None = None, overfit_steps: int = 60,
           overfit_batch: int = 16, lr: float = 1e-2, gradcheck: bool = True) -> DoctorReport:
    """Run the checklist on one batch ``(x, y)`` of a classification model; returns a :class:`DoctorReport`."""
    from ember import nn
    from ember import optim

    x, y = _as_tensor(x), _as_tensor(y)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    rep = DoctorReport()

    # 1. inputs
    mean, std = float(x.array.mean()), float(x.array.std())
    if abs(mean) > 0.5 or not 0.3 < std < 3:
        rep.add("inputs", WARN, f"inputs have mean {mean:.3g} and std {std:.3g}; normalise them to mean 0, "
                                "variance 1 (fit the statistics on the training set)")
    else:
        rep.add("inputs", OK, f"mean {mean:.3g}, std {std:.3g}")

    # 2. initial loss
    model.train()
    with no_grad():
        logits = model(x)
    c = num_classes or (logits.shape[-1] if logits.ndim == 2 else None)
    with no_grad():
        loss0 = float(loss_fn(logits, y).item())
    if not math.isfinite(loss0):
        rep.add("initial loss", FAIL, f"the loss is {loss0} before any training; check inputs and initialisation")
    elif c:
        expected = math.log(c)
        status = OK if abs(loss0 - expected) < 0.5 * expected else WARN
        rep.add("initial loss", status,
                f"{loss0:.3f} vs ln {c} = {expected:.3f}" + ("" if status == OK else
                "; far from chance: the last layer's weights may be too large, or the loss is not what you think"))

    # 5. final layer
    last = [m for m in model.modules() if not list(m.children())]
    loss_name = (getattr(loss_fn, "__name__", "") or type(loss_fn).__name__).lower()
    final = type(last[-1]).__name__ if last else ""
    if (final == "Softmax" and ("entropy" in loss_name or "nll" in loss_name)) or (
            final == "LogSoftmax" and "entropy" in loss_name):
        rep.add("final layer", WARN, f"the model ends in {final} but the loss ({loss_name}) applies "
                                     "log-softmax itself: remove the final activation (logits go into the loss)")
    else:
        rep.add("final layer", OK, "no activation before the loss")

    # 3. gradient check
    if gradcheck:
        small = slice(0, min(4, x.shape[0]))
        worst, where = _spot_gradcheck(model, loss_fn, x[small], y[small])
        status = OK if worst < 1e-4 else (WARN if worst < 1e-2 else FAIL)
        rep.add("gradient check", status, f"max relative error {worst:.2e}" + (f" at {where}" if status != OK else ""))

    # 4. layer probes
    for p in model.parameters():
        p.grad = None
    with LayerProbe(model) as probe:
        loss_fn(model(x), y).backward()
    warnings = probe.warnings()
    for p in model.parameters():
        p.grad = None
    if warnings:
        for w in warnings:
            rep.add("layers", WARN, w)
    else:
        rep.add("layers", OK, "no dead, saturated or identical layers; gradients in range")

    # 6. overfit a small batch
    m = copy.deepcopy(model)
    m.train()
    xb, yb = x[: overfit_batch], y[: overfit_batch]
    opt = optim.Adam(m.parameters(), lr=lr)
    first = last_loss = None
    for _ in range(overfit_steps):
        opt.zero_grad()
        loss = loss_fn(m(xb), yb)
        loss.backward()
        opt.step()
        last_loss = float(loss.item())
        first = last_loss if first is None else first
    m.eval()
    with no_grad():
        acc = float((m(xb).argmax(1).array == yb.array).mean())
    if acc >= 0.99 or last_loss < 0.05 * max(first, 1e-12):
        rep.add("overfit small batch", OK, f"{len(yb.array)} samples: loss {first:.3f} → {last_loss:.4f}, "
                                           f"accuracy {acc:.0%}")
    else:
        rep.add("overfit small batch", FAIL,
                f"could not overfit {len(yb.array)} samples in {overfit_steps} Adam steps (loss {first:.3f} → "
                f"{last_loss:.3f}, accuracy {acc:.0%}): the model or loss is broken, or the rate is wrong; "
                "start with one softmax layer and add layers one at a time")
    return rep
