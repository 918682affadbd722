"""``ember.autograd``: PyTorch's functional face of the graph — ``grad``, ``backward``, custom ``Function``s
written PyTorch's way, anomaly detection and ``gradcheck``.

ember's own ops subclass :class:`ember.tensor.Function` and work on NumPy arrays. PyTorch code writes custom
ops as static ``forward(ctx, ...)``/``backward(ctx, ...)`` on *tensors*; :class:`Function` here runs those
unchanged by recording one ember node that calls them.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ember.tensor import Function as _Node
from ember.tensor import Tensor, _inplace_log, _state, backward_graph, enable_grad, is_grad_enabled, no_grad, set_grad_enabled

__all__ = ["grad", "backward", "Function", "FunctionCtx", "set_detect_anomaly", "detect_anomaly",
           "is_anomaly_enabled", "gradcheck", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled"]


def _as_list(x, what: str) -> list:
    if isinstance(x, Tensor):
        return [x]
    if isinstance(x, (list, tuple)):
        return list(x)
    raise TypeError(f"{what} must be a tensor or a sequence of tensors, got {type(x).__name__}")


def _seed(out: Tensor, g, i: int) -> np.ndarray:
    """The gradient that starts the sweep at output ``i``: given, or ones for a one-element output."""
    if g is None:
        if out.array.size != 1:
            raise RuntimeError(f"grad can be implicitly created only for scalar outputs; output {i} has shape "
                               f"{out.shape}: pass grad_outputs")
        return np.ones_like(out.array)
    g = g.array if isinstance(g, Tensor) else np.asarray(g, dtype=out.dtype)
    if g.shape != out.shape:
        raise RuntimeError(f"grad_outputs[{i}] has shape {g.shape} but output {i} has shape {out.shape}")
    return g


def grad(outputs, inputs, grad_outputs=None, retain_graph: bool | None = None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused: bool | None = None, is_grads_batched: bool = False,
         materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` (weighted by ``grad_outputs``) with respect to ``inputs``, as a tuple;
    nobody's ``.grad`` changes. An input the outputs do not depend on is an error, or ``None`` with
    ``allow_unused=True`` (zeros with ``materialize_grads=True``)."""
    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): ember computes gradients on NumPy arrays, "
                                  "outside the graph, so higher-order gradients are not supported")
    if is_grads_batched:
        raise NotImplementedError("autograd.grad(is_grads_batched=True) is not supported")
    outs, ins = _as_list(outputs, "outputs"), _as_list(inputs, "inputs")
    gos = [None] * len(outs) if grad_outputs is None else _as_list(grad_outputs, "grad_outputs") if not isinstance(
        grad_outputs, Tensor) else [grad_outputs]
    if len(gos) != len(outs):
        raise RuntimeError(f"grad_outputs has {len(gos)} entries but there are {len(outs)} outputs")
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor) or not o.requires_grad:
            raise RuntimeError(f"element {i} of the outputs does not require grad and does not have a grad_fn")
    for i, x in enumerate(ins):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise RuntimeError(f"input {i} of autograd.grad does not require grad")
    captured = dict.fromkeys(ins)
    keep = bool(retain_graph)
    for i, (o, g) in enumerate(zip(outs, gos)):
        backward_graph(o, _seed(o, g, i), keep or i < len(outs) - 1, capture=captured)
    result = []
    for i, x in enumerate(ins):
        g = captured[x]
        if g is None:
            if materialize_grads:
                g = np.zeros_like(x.array)
            elif not allow_unused:
                raise RuntimeError(f"input {i} of autograd.grad was not used in the graph of the outputs; pass "
                                   "allow_unused=True to get None for it")
        result.append(None if g is None else Tensor._wrap(g))
    return tuple(result)


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False,
             inputs=None) -> None:
    """``sum(t.backward(g) for t, g in zip(tensors, grad_tensors))``: accumulate into the leaves' ``.grad``."""
    ts = _as_list(tensors, "tensors")
    gs = [None] * len(ts) if grad_tensors is None else (
        [grad_tensors] if isinstance(grad_tensors, Tensor) else list(grad_tensors))
    if len(gs) != len(ts):
        raise RuntimeError(f"grad_tensors has {len(gs)} entries but there are {len(ts)} tensors")
    for i, (t, g) in enumerate(zip(ts, gs)):
        t.backward(g, retain_graph=bool(retain_graph) or i < len(ts) - 1, create_graph=create_graph, inputs=inputs)


# ----------------------------------------------------------------------------- anomaly detection


def set_detect_anomaly(mode: bool) -> None:
    """While on, every gradient a node returns is checked, and the first nan or inf is an error that names the
    node (PyTorch's anomaly mode, without its forward traceback). It costs one pass over each gradient."""
    _state.detect_anomaly = bool(mode)


def is_anomaly_enabled() -> bool:
    return _state.detect_anomaly


class detect_anomaly:
    """``with ember.autograd.detect_anomaly():`` turns anomaly detection on inside the block."""

    def __init__(self, check_nan: bool = True) -> None:
        self.mode = bool(check_nan)

    def __enter__(self):
        self.prev = is_anomaly_enabled()
        set_detect_anomaly(self.mode)
        return self

    def __exit__(self, *exc) -> None:
        set_detect_anomaly(self.prev)


# ----------------------------------------------------------------------------- custom functions, PyTorch's way


class FunctionCtx:
    """The ``ctx`` a custom :class:`Function`'s ``forward`` and ``backward`` share: ``save_for_backward``,
    ``saved_tensors``, ``needs_input_grad``, and any attribute the forward sets."""

    def __init__(self, needs_input_grad: tuple) -> None:
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()
        self.non_differentiable: set = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward takes tensors (or None), got {type(t).__name__}")
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self.non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        """Accepted for PyTorch code; ember's graph records no in-place ops, so there is nothing to track."""

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class _CustomNode(_Node):
    """The ember node of one call to a custom :class:`Function`: its backward calls the user's."""

    def backward(self, g):
        user, fctx = self.user, self.fctx
        with no_grad():
            res = user.backward(fctx, Tensor._wrap(g))
        res = res if isinstance(res, tuple) else (res,)
        n = len(self.parents)
        if len(res) < n or any(r is not None for r in res[n:]):
            raise RuntimeError(f"{user.__name__}.backward returned {len(res)} gradients, but forward took {n} "
                               "arguments: return one per argument (None for those without a gradient)")
        out = []
        for i, (r, p) in enumerate(zip(res, self.parents)):
            if r is None or p is None:
                out.append(None)
                continue
            a = r.array if isinstance(r, Tensor) else np.asarray(r)
            if a.shape != p.shape and not _sums_to(a.shape, p.shape):
                raise RuntimeError(f"{user.__name__}.backward returned a gradient of shape {a.shape} for argument "
                                   f"{i} of shape {p.shape}")
            out.append(a.astype(p.dtype, copy=False))
        return tuple(out)


def _sums_to(grad_shape: tuple, shape: tuple) -> bool:
    """A gradient of a broadcast shape is summed down to the input's (as PyTorch does)."""
    try:
        return np.broadcast_shapes(grad_shape, shape) == tuple(grad_shape)
    except ValueError:
        return False


_node_classes: dict = {}


def _node_class(user: type) -> type:
    """One node class per custom Function, named after it (grad_fn and error messages show the name)."""
    cls = _node_classes.get(user)
    if cls is None:
        cls = _node_classes[user] = type(user.__name__, (_CustomNode,), {"__module__": user.__module__})
    return cls


class Function:
    """A custom differentiable op written as PyTorch writes them::

        class Clip(ember.autograd.Function):
            @staticmethod
            def forward(ctx, x, lo):
                ctx.save_for_backward(x); ctx.lo = lo
                return x.clamp(min=lo)

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * (x > ctx.lo), None

        y = Clip.apply(x, 0.0)

    ``forward`` runs without recording (on tensors) and returns one tensor; ``backward`` gets the output's
    gradient and returns one gradient (or None) per argument of ``forward``.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args, **kwargs) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError("a custom Function must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError("a custom Function must define a static backward(ctx, grad_output)")

    @classmethod
    def apply(cls, *args, **kwargs) -> Tensor:
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        fctx = FunctionCtx(needs if is_grad_enabled() else (False,) * len(args))
        with no_grad():
            out = cls.forward(fctx, *args, **kwargs)
        if isinstance(out, (tuple, list)):
            raise NotImplementedError(f"{cls.__name__}.forward returned {len(out)} outputs; ember's custom "
                                      "Functions return one tensor")
        if not isinstance(out, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a tensor, got {type(out).__name__}")
        result = Tensor._wrap(out.array)
        if any(fctx.needs_input_grad) and id(out) not in fctx.non_differentiable:
            node = _node_class(cls)()
            node.needs_input_grad = fctx.needs_input_grad
            node.parents = [a if isinstance(a, Tensor) else None for a in args]
            node.epoch = _inplace_log.epoch
            node.user, node.fctx = cls, fctx
            result.requires_grad = True
            result._ctx = node
        return result


# ----------------------------------------------------------------------------- gradcheck


def gradcheck(func: Callable, inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """PyTorch's call form of :func:`ember.diagnose.gradcheck` (``inputs`` a tensor or a tuple): True when the
    analytic gradients match finite differences; otherwise raises (or returns False with
    ``raise_exception=False``)."""
    from ember.diagnose.gradcheck import gradcheck as _gradcheck

    ins: Sequence = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    return _gradcheck(func, *ins, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception).ok
