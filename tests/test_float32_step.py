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
    _assert_float32_step(model, ember.randn(*shape), ember.randint(0, 10, (shape[0],)))


class _Last(nn.Module):
    """A recurrent layer's output at the last time step (batch_first), for classification."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0][:, -1]


def _small_models():
    vit = nn.Sequential(nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True,
                                                                          activation="gelu"), 2),
                        nn.Flatten(), nn.Linear(5 * 8, 10))
    return {
        "transformer": (vit, (4, 5, 8)),
        "lstm": (nn.Sequential(_Last(nn.LSTM(6, 8, 2, batch_first=True, bidirectional=True)), nn.Linear(16, 10)),
                 (4, 5, 6)),
        "gru": (nn.Sequential(_Last(nn.GRU(6, 8, batch_first=True)), nn.Linear(8, 10)), (4, 5, 6)),
        "conv3d": (nn.Sequential(nn.Conv3d(1, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), nn.MaxPool3d(2),
                                 nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(4, 10)), (2, 1, 4, 6, 6)),
        "bicubic, unfold, lazy": (nn.Sequential(nn.Upsample(scale_factor=2, mode="bicubic"), nn.Unfold(3, stride=3),
                                                      nn.Flatten(), nn.LazyLinear(10)), (2, 2, 6, 6)),
    }


@pytest.mark.parametrize("name", sorted(_small_models()))
def test_the_newer_layers_train_in_float32(name):
    """Transformer, recurrent, 3-D and resampling layers keep float32 too."""
    ember.manual_seed(0)
    model, shape = _small_models()[name]
    x = ember.randn(*shape)
    model(x)  # a lazy layer takes its shape here
    _assert_float32_step(model, x, ember.randint(0, 10, (shape[0],)))


def _assert_float32_step(model, x, y):
    opt = ember.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
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
