"""The notes' first debugging step: compare analytic gradients with central finite differences.

For every input that requires grad, each element x_k is nudged by ±eps and the
numerical derivative

    n_k = (f(x + eps·e_k) − f(x − eps·e_k)) / 2eps,   f(x) = Σ fn(x) ⊙ v

(v a fixed random projection, so non-scalar outputs are checked in every
direction at once) is compared with the analytic a_k = ∂f/∂x_k that backward()
produced. An element fails when |a_k − n_k| > atol + rtol·|n_k|.

Inputs may be non-contiguous views (a transposed tensor, a strided slice): the
element is perturbed in place through the view, so the view itself is what ``fn`` sees.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ember.tensor import Tensor, no_grad


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when analytic and numerical gradients disagree."""


@dataclass
class GradcheckReport:
    """Max absolute and relative error per checked input (by position), and the failures found."""

    max_abs_error: dict = field(default_factory=dict)
    max_rel_error: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)  # one message per input that failed

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        rows = [f"input {i}: max |analytic − numeric| = {self.max_abs_error[i]:.3g}, "
                f"max relative = {self.max_rel_error[i]:.3g}" for i in self.max_abs_error]
        head = "gradcheck passed" if self.ok else "gradcheck FAILED\n" + "\n".join(self.failures)
        return head + "\n" + "\n".join(rows)


def _scalar(out, v) -> float:
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return float(sum(np.sum(o.array.astype(np.float64) * w) for o, w in zip(outs, v)))


def _check_perturbable(x: np.ndarray, i: int) -> None:
    """Each element must be a separate, writeable memory location (a broadcast view is neither)."""
    if not x.flags.writeable:
        raise ValueError(f"gradcheck: input {i} (shape {x.shape}) is read-only (a broadcast or expanded view?); "
                         "pass a writeable tensor and build the broadcast inside fn")
    if any(s == 0 and n > 1 for s, n in zip(x.strides, x.shape)):
        raise ValueError(f"gradcheck: input {i} (shape {x.shape}, strides {x.strides}) has overlapping elements "
                         "(a zero stride); build the broadcast inside fn")


def gradcheck(fn, *inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0,
              raise_exception: bool = True) -> GradcheckReport:
    """Check ``fn``'s gradients with respect to every input that requires grad.

    Inputs should be float64 (float32 finite differences are too noisy). Returns a
    :class:`GradcheckReport`; raises :class:`GradcheckError` naming the input and
    element index of the worst mismatch when ``|a − n| > atol + rtol·|n|`` anywhere
    (with ``raise_exception=False`` the report's ``ok`` is False instead).
    """
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; pass tensors with requires_grad=True")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck: input {i} has dtype {inputs[i].dtype}; use float64 for finite differences")
        _check_perturbable(inputs[i].array, i)
    rng = np.random.default_rng(seed)
    out = fn(*inputs)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    v = [rng.standard_normal(o.shape) for o in outs]
    for i in checked:
        inputs[i].grad = None
    total = None
    for o, w in zip(outs, v):
        if not o.requires_grad:
            continue
        term = (o * Tensor(w.astype(o.dtype))).sum()
        total = term if total is None else total + term
    if total is None:
        raise GradcheckError("gradcheck: the output does not depend on any input that requires grad")
    total.backward()
    report = GradcheckReport()
    for i in checked:
        x = inputs[i]
        analytic = np.zeros(x.shape) if x.grad is None else x.grad.array.astype(np.float64)
        numeric = np.zeros(x.shape)
        arr = x.array  # perturbed in place, through the view when it is one
        with no_grad():
            for idx in np.ndindex(*x.shape):
                orig = arr[idx]
                arr[idx] = orig + eps
                fp = _scalar(fn(*inputs), v)
                arr[idx] = orig - eps
                fm = _scalar(fn(*inputs), v)
                arr[idx] = orig
                numeric[idx] = (fp - fm) / (2 * eps)
        err = np.abs(analytic - numeric)
        rel = err / np.maximum(np.abs(numeric), 1e-12)
        report.max_abs_error[i] = float(err.max()) if err.size else 0.0
        report.max_rel_error[i] = float(np.where(err > atol, rel, 0).max()) if err.size else 0.0
        bad = ~(err <= atol + rtol * np.abs(numeric))  # a NaN on either side is a failure too
        if bad.any():
            worst = np.unravel_index(int(np.argmax(np.where(bad, np.nan_to_num(err, nan=np.inf), -1))), x.shape)
            message = (
                f"gradcheck failed for input {i} (shape {x.shape}) at index {tuple(int(j) for j in worst)}: "
                f"analytic {analytic[worst]:.8g} vs numeric {numeric[worst]:.8g} "
                f"(|diff| {err[worst]:.3g} > atol {atol} + rtol {rtol}·|numeric|); "
                f"{int(bad.sum())} of {bad.size} elements differ"
            )
            if raise_exception:
                raise GradcheckError(message)
            report.failures.append(message)
    return report
