"""``ember.utils.checkpoint``: activation checkpointing — trade compute for memory, as ``torch.utils.checkpoint``.

A checkpointed function runs without recording a graph, so none of its intermediate activations are kept;
only its inputs are. When backward reaches its outputs, one node per output runs the function again, this
time recording, and backpropagates through that recomputation:

* gradients for the checkpoint's tensor inputs come back through the node, into the outer sweep;
* tensors the function reads without receiving them as arguments (a module's parameters) are leaves of
  the recomputed graph, so the inner sweep accumulates into their ``.grad`` as an ordinary backward would
  (PyTorch's reentrant variant does the same). Under ``ember.autograd.grad`` or ``backward(inputs=...)``
  the inner sweep captures the same tensors the outer one asked for, so those work too;
* the random stream is put back to its state at the first run before recomputing, so dropout draws the same
  mask twice (``preserve_rng_state``), and restored afterwards, so checkpointing leaves later draws as they
  would have been.

The gradients are therefore those of the function run plainly; the cost is one more forward per
checkpointed call. PyTorch has two implementations (``use_reentrant``); ember has this one, which behaves
like the non-reentrant variant in what users see: outputs require grad when the function may read
parameters even if no input does, keyword arguments are passed on, and tensors among them get gradients.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Sequence

import numpy as np

from ember import random as _r
from ember.tensor import Function as _Node
from ember.tensor import Tensor, _inplace_log, _state, backward_graph, enable_grad, is_grad_enabled, no_grad

__all__ = ["checkpoint", "checkpoint_sequential"]


def _may_read_parameters(function: Callable) -> bool:
    """Whether ``function`` may use tensors that require grad without receiving them: False only for a
    module (or a bound method or partial of one) whose parameters are all frozen. A plain function may hold
    parameters in its closure, and nothing cheap can tell, so it is assumed to."""
    if isinstance(function, _Segment):
        return any(_may_read_parameters(f) for f in function.functions[function.start:function.end])
    target = function
    while isinstance(target, functools.partial):
        target = target.func
    owner = target if callable(getattr(target, "parameters", None)) else getattr(target, "__self__", None)
    if owner is not None and callable(getattr(owner, "parameters", None)):
        return any(p.requires_grad for p in owner.parameters())
    return True


def _outer_capture() -> dict | None:
    """The ``capture`` dict of the backward sweep that is calling this node (``ember.autograd.grad`` and
    ``backward(inputs=...)`` collect gradients there instead of in ``.grad``), or None for a plain backward."""
    return _state.capture


class _Recomputation:
    """What one checkpointed call keeps for backward (its inputs and the random state) and the recomputed
    graph, shared by the nodes of its outputs: the function is run again once, however many outputs are
    differentiated, and that graph is dropped once each of them has been."""

    def __init__(self, function: Callable, args: tuple, kwargs: dict, rng: np.random.Generator | None,
                 rng_state: dict | None, context: Any, meta: list, check: bool) -> None:
        self.function, self.args, self.kwargs = function, args, kwargs
        self.arrays = [x.array for x in list(args) + list(kwargs.values()) if isinstance(x, Tensor)]
        self.rng, self.rng_state, self.context = rng, rng_state, context
        self.meta, self.check = meta, check  # (shape, dtype) of each output of the first run
        self.outputs: list | None = None
        self.leaves: list[Tensor] = []
        self.pending = 0

    def _rerun(self) -> None:
        leaves = []
        arrays = iter(self.arrays)

        def leaf(x):
            """A fresh leaf holding the values the argument had at the first run (an assignment such as
            ``x[i] = v`` since then gives x a new array; the recomputation must not see it)."""
            if not isinstance(x, Tensor):
                return x
            d = Tensor._wrap(next(arrays))
            d.requires_grad = x.requires_grad
            leaves.append(d)
            return d

        args = tuple(leaf(a) for a in self.args)
        kwargs = {k: leaf(v) for k, v in self.kwargs.items()}
        with contextlib.ExitStack() as stack:
            stack.enter_context(enable_grad())
            if self.context is not None:
                stack.enter_context(self.context())
            if self.rng is not None:
                after = self.rng.bit_generator.state
                self.rng.bit_generator.state = self.rng_state
                stack.callback(setattr, self.rng.bit_generator, "state", after)
                stack.enter_context(_r.drawing_from(self.rng))  # the stream the first run drew from
            out = self.function(*args, **kwargs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        if self.check:
            again = [(tuple(o.shape), o.dtype) if isinstance(o, Tensor) else None for o in outs]
            if again != self.meta:
                raise RuntimeError(
                    "checkpoint: the recomputation gave outputs of other shapes or dtypes than the first run "
                    f"({again} instead of {self.meta}); the function must compute the same thing when run again "
                    "(pass determinism_check='none' to skip this check)")
        self.outputs, self.leaves = outs, leaves
        self.pending = sum(1 for o in self.meta if o is not None and np.dtype(o[1]).kind == "f")

    def backward(self, index: int, g: np.ndarray) -> tuple:
        if self.outputs is None:
            self._rerun()
        out = self.outputs[index]
        self.pending -= 1
        last = self.pending <= 0
        grads: list = [None] * len(self.leaves)
        if isinstance(out, Tensor) and out.requires_grad:
            outer = _outer_capture()
            if outer is None:
                # a plain backward: the inner sweep fills the .grad of every leaf it reaches, the parameters
                # and the stand-ins of this call's inputs, whose gradients then go back through the node
                for d in self.leaves:
                    d.grad = None
                backward_graph(out, g, not last)
                grads = [None if d.grad is None else d.grad.array for d in self.leaves]
            else:
                # autograd.grad / backward(inputs=...): collect what the outer sweep collects, plus the inputs
                captured = dict.fromkeys(list(outer) + [d for d in self.leaves if d.requires_grad])
                backward_graph(out, g, not last, capture=captured)
                for t in outer:
                    c = captured[t]
                    if c is not None:
                        outer[t] = np.array(c, copy=True) if outer[t] is None else outer[t] + c
                grads = [captured.get(d) if d.requires_grad else None for d in self.leaves]
            for d in self.leaves:
                d.grad = None
        if last:  # every differentiable output has been through: drop the recomputed graph
            self.outputs, self.leaves, self.pending = None, [], 0
        return tuple(grads)


class CheckpointFunction(_Node):
    """The node of one output of a checkpointed call: its backward reruns the function (once per call) and
    returns the gradients of the call's tensor arguments, in order."""

    def backward(self, g):
        return self.recomputation.backward(self.index, g)


def checkpoint(function: Callable, *args, use_reentrant: bool | None = None,
               context_fn: Callable[[], tuple] | None = None, determinism_check: str = "default",
               debug: bool = False, preserve_rng_state: bool = True, **kwargs):
    """``function(*args, **kwargs)`` without keeping its activations; backward recomputes them.

    The function must return a tensor or a tuple/list of tensors (other values pass through, without
    gradient) and must compute the same thing when run again: it sees the same inputs and, with
    ``preserve_rng_state``, the same random draws. ``context_fn`` returns two context managers, entered
    around the first run and around the recomputation. ``use_reentrant`` is accepted for PyTorch code and
    changes nothing (see the module docstring); ``debug`` is ignored.
    """
    if use_reentrant not in (None, True, False):
        raise TypeError(f"use_reentrant must be True, False or None, got {use_reentrant!r}")
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check must be 'default' or 'none', got {determinism_check!r}")
    if not callable(function):
        raise TypeError(f"checkpoint expects a callable, got {type(function).__name__}")
    first_ctx, again_ctx = (None, None) if context_fn is None else context_fn()
    tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
    record = is_grad_enabled() and (any(t.requires_grad for t in tensors) or _may_read_parameters(function))
    rng = _r.generator() if preserve_rng_state and record else None
    rng_state = rng.bit_generator.state if rng is not None else None
    with no_grad(), (first_ctx if first_ctx is not None else contextlib.nullcontext()):
        out = function(*args, **kwargs)
    if not record:
        return out
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    if not isinstance(out, (Tensor, tuple, list)) or any(
            not isinstance(o, Tensor) and _holds_tensor(o) for o in outs):
        raise TypeError(f"checkpoint: the function returned {type(out).__name__}; checkpointed functions return a "
                        "tensor or a tuple/list of tensors (wrap other structures around the call)")
    meta = [(tuple(o.shape), o.dtype) if isinstance(o, Tensor) else None for o in outs]
    again = (lambda: again_ctx) if again_ctx is not None else None
    shared = _Recomputation(function, args, kwargs, rng, rng_state, again, meta, determinism_check == "default")
    needs = tuple(t.requires_grad for t in tensors)
    results = []
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor) or o.array.dtype.kind != "f":
            results.append(o)
            continue
        node = CheckpointFunction()
        node.parents, node.needs_input_grad = list(tensors), needs
        # kept in the node's __dict__, where backward's in-place check looks: the recomputation reads these
        # arrays, so changing one in place before backward is an error, as for any saved value
        node.inputs = tuple(t.array for t in tensors)
        node.epoch = _inplace_log.epoch
        node.recomputation, node.index = shared, i
        r = Tensor._wrap(o.array)
        r.requires_grad, r._ctx = True, node
        results.append(r)
    if isinstance(out, Tensor):
        return results[0]
    return type(out)(results) if isinstance(out, list) else tuple(results)


def _holds_tensor(x: Any) -> bool:
    if isinstance(x, Tensor):
        return True
    if isinstance(x, dict):
        return any(_holds_tensor(v) for v in x.values())
    if isinstance(x, (tuple, list)):
        return any(_holds_tensor(v) for v in x)
    return False


class _Segment:
    """Layers ``functions[start:end]`` applied in turn (a class rather than a closure, so checkpoint can look
    at the layers to tell whether any has a parameter that needs a gradient)."""

    def __init__(self, functions: Sequence[Callable], start: int, end: int) -> None:
        self.functions, self.start, self.end = functions, start, end

    def __call__(self, x):
        for f in self.functions[self.start:self.end]:
            x = f(x)
        return x


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None, *,
                          preserve_rng_state: bool = True):
    """Run ``functions`` (an ``nn.Sequential`` or a list of modules/functions) in ``segments`` pieces, each but
    the last checkpointed, as ``torch.utils.checkpoint.checkpoint_sequential``: only the segment
    boundaries' activations are kept; backward recomputes one segment at a time."""
    children = getattr(functions, "children", None)
    functions = list(children()) if callable(children) else list(functions)
    if not isinstance(segments, (int, np.integer)) or isinstance(segments, bool) or segments < 1:
        raise ValueError(f"segments must be a positive integer, got {segments!r}")
    if segments > len(functions):
        raise ValueError(f"checkpoint_sequential: {segments} segments for {len(functions)} layers; use at most one "
                         "segment per layer")
    size = len(functions) // segments
    end = 0
    for start in range(0, size * (segments - 1), size):
        end = start + size
        input = checkpoint(_Segment(functions, start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve_rng_state)
    return _Segment(functions, end, len(functions))(input)
