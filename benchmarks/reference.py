"""The hand-written NumPy reference for W1: the bar ember's engine is measured against on this machine.

W1's target (ember ≤ 0.7 × PyTorch) was set from a fused NumPy training step like this one: no graph, no
Python objects per op, every buffer allocated once, the BLAS on all cores with its own threads (this
process never imports ember, so OpenBLAS keeps its default thread count). ember does strictly more work
than this (it records a graph and allocates per step), so the reference's ratio to PyTorch, measured in the
same alternating blocks, is a floor for ember's: when the reference cannot reach a target, ember cannot.

``build()`` returns a step closure over the same weights and batch as ``benchmarks.workloads.build``.
"""
from __future__ import annotations

import numpy as np


def build():
    """(step, n_params) for W1 (MLP 784-512-512-10, batch 128, SGD with momentum 0.9, lr 0.01)."""
    from benchmarks.workloads import WORKLOADS, _same_weights

    w = WORKLOADS["W1"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((w.batch,) + w.input_shape).astype(np.float32)
    y = rng.integers(0, 10, w.batch)
    sizes = [(layer[2], layer[1]) for layer in w.spec() if layer[0] == "linear"]
    shapes = [s for (o, i) in sizes for s in ((o, i), (o,))]  # parameters in the modules' order: W, b, W, b, …
    params = _same_weights(shapes, rng)
    weights, biases = params[0::2], params[1::2]
    n, rows = w.batch, np.arange(w.batch)
    act = [np.empty((n, o), np.float32) for o, _ in sizes]  # h1, h2, logits
    dact = [np.empty((n, o), np.float32) for o, _ in sizes[:-1]]  # dh1, dh2
    grads = [np.empty_like(p) for p in params]
    bufs = [np.zeros_like(p) for p in params]
    tmp = [np.empty_like(p) for p in params]
    ones = np.ones((1, n), np.float32)
    lr, momentum = 0.01, 0.9

    def step() -> float:
        inp = x
        for i, (wt, b) in enumerate(zip(weights, biases)):  # forward: affine, then ReLU in place
            np.matmul(inp, wt.T, out=act[i])
            np.add(act[i], b, out=act[i])
            if i < len(weights) - 1:
                np.maximum(act[i], 0, out=act[i])
            inp = act[i]
        logits = act[-1]  # softmax cross-entropy, its gradient written over the logits
        np.subtract(logits, logits.max(1, keepdims=True), out=logits)
        np.exp(logits, out=logits)
        total = logits.sum(1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) - np.log(logits[rows, y])))
        np.divide(logits, total, out=logits)
        logits[rows, y] -= 1
        np.multiply(logits, 1.0 / n, out=logits)
        g = logits
        for i in range(len(weights) - 1, -1, -1):  # backward: dW = gᵀ·in, db = 1ᵀ·g, d_in = g·W masked by ReLU
            inp = act[i - 1] if i else x
            np.matmul(g.T, inp, out=grads[2 * i])
            np.matmul(ones, g, out=grads[2 * i + 1][None])
            if i:
                np.matmul(g, weights[i], out=dact[i - 1])
                np.multiply(dact[i - 1], act[i - 1] > 0, out=dact[i - 1])
                g = dact[i - 1]
        for p, gr, buf, t in zip(params, grads, bufs, tmp):  # SGD with momentum, in place
            buf *= momentum
            buf += gr
            np.multiply(buf, lr, out=t)
            p -= t
        return loss

    return step, sum(p.size for p in params)
