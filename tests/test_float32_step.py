"""A float32 model trains in float32 end to end: no op's output and no gradient flowing between ops is ever
silently upcast to float64 (which would double memory traffic and hide behind correct-looking losses)."""
import numpy as np
import pytest

import ember
import ember.nn as nn
from ember import models


def _graph_nodes(root):
    seen, stack, tensors = set(), [root], []
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        tensors.append(t)
        if t._ctx is not None:
            stack.extend(p for p in t._ctx.parents if p is not None)
    return tensors


def _watch_gradients(tensors, bad):
    """Wrap each node's backward to record any floating gradient that is not float32."""
    for t in tensors:
        ctx = t._ctx
        if ctx is None:
            continue
        original = ctx.backward

        def checked(g, _orig=original, _name=type(ctx).__name__):
            if g.dtype != np.float32:
                bad.append(f"gradient into {_name}: {g.dtype}")
            out = _orig(g)
            for i, gi in enumerate(out):
                if gi is not None and np.issubdtype(np.asarray(gi).dtype, np.floating) and gi.dtype != np.float32:
                    bad.append(f"{_name} backward, input {i}: {gi.dtype}")
            return out

        ctx.backward = checked


@pytest.mark.parametrize("name, shape", [("lenet5_bn", (8, 1, 28, 28)), ("resnet20", (4, 3, 32, 32)),
                                         ("mobilenet_v2", (2, 3, 32, 32))])
def test_a_training_step_stays_float32(name, shape):
    ember.manual_seed(0)
    model = models.get(name, num_classes=10, in_channels=shape[1])
    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x, y = ember.randn(*shape), ember.randint(0, 10, (shape[0],))
    loss = nn.CrossEntropyLoss(label_smoothing=0.1)(model(x), y)
    tensors = _graph_nodes(loss)
    bad = [f"{type(t._ctx).__name__ if t._ctx else 'leaf'} output: {t.dtype}" for t in tensors
           if np.issubdtype(t.array.dtype, np.floating) and t.array.dtype != np.float32]
    _watch_gradients(tensors, bad)
    loss.backward()
    opt.step()
    bad += [f"parameter {n}: {p.dtype}, grad {p.grad.dtype}" for n, p in model.named_parameters()
            if p.dtype != np.float32 or p.grad.dtype != np.float32]
    bad += [f"buffer {n}: {b.dtype}" for n, b in model.named_buffers()
            if np.issubdtype(b.array.dtype, np.floating) and b.dtype != np.float32]
    assert not bad, "float64 crept in:\n" + "\n".join(sorted(set(bad)))
