"""Runs a case from ``cases.py`` through ember's gradcheck (float64) or against PyTorch (float32)."""
from __future__ import annotations

import numpy as np

import ember
import ember.nn.functional as EF
from ember.diagnose import gradcheck
from tests.helpers import assert_close
from tests.ops.cases import Case, make_inputs


def noncontiguous(a: np.ndarray) -> np.ndarray:
    """The same values as ``a`` in a non-contiguous view: transposed storage when the last two
    dimensions are both larger than 1, else every other element of a twice-as-long buffer."""
    if a.ndim >= 2 and a.shape[-1] > 1 and a.shape[-2] > 1:
        view = np.swapaxes(np.ascontiguousarray(np.swapaxes(a, -1, -2)), -1, -2)
    elif a.size > 1:
        base = np.zeros(a.shape + (2,), a.dtype)
        base[..., 0] = a
        view = base[..., 0]
    else:
        return a.copy()
    assert not view.flags.c_contiguous, a.shape
    return view


def ember_leaves(arrays, noncontig: bool) -> list:
    """Leaf tensors over ``arrays`` (views kept as views: ``from_numpy`` shares memory and strides)."""
    return [ember.from_numpy(noncontiguous(a) if noncontig else a.copy()).requires_grad_() for a in arrays]


def as_tuple(out) -> tuple:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def check_gradients(case: Case, noncontig: bool = False) -> None:
    xs = ember_leaves(make_inputs(case, np.float64), noncontig)
    gradcheck(lambda *t: case.fn(ember, EF, *t), *xs)


def check_parity(case: Case, torch, noncontig: bool = False) -> None:
    """Forward values and input gradients (for a random upstream gradient) against PyTorch, float32 throughout."""
    arrays = make_inputs(case, np.float32)
    xs = ember_leaves(arrays, noncontig)
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_e = as_tuple(case.fn(ember, EF, *xs))
    out_t = as_tuple(case.fn(torch, torch.nn.functional, *ts))
    assert len(out_e) == len(out_t), f"{case.id}: {len(out_e)} outputs, PyTorch gives {len(out_t)}"
    rng = np.random.default_rng(1)
    loss_e = loss_t = 0
    for k, (oe, ot) in enumerate(zip(out_e, out_t)):
        assert oe.dtype == np.float32, f"{case.id}: output {k} is {oe.dtype}, float32 must stay float32"
        assert_close(oe, ot, what=f"{case.id} output {k}")
        v = rng.standard_normal(tuple(ot.shape)).astype(np.float32)
        loss_e = loss_e + (oe * ember.tensor(v)).sum()
        loss_t = loss_t + (ot * torch.tensor(v)).sum()
    loss_e.backward()
    loss_t.backward()
    for i, (xe, xt) in enumerate(zip(xs, ts)):
        assert xe.grad is not None, f"{case.id}: input {i} got no gradient"
        assert xe.grad.dtype == np.float32, f"{case.id}: gradient of input {i} is {xe.grad.dtype}"
        assert_close(xe.grad, xt.grad, what=f"{case.id} gradient of input {i}")
