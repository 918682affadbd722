"""Helpers for the model-zoo tests: a cross-entropy written with core ops and a few training steps."""
from __future__ import annotations

import numpy as np

import ember


def cross_entropy(logits, targets: np.ndarray):
    """Mean of −log softmax(logits)[i, targets[i]] (core ops only, so the zoo tests do not depend on the losses)."""
    logp = ember.log_softmax(logits, dim=1)
    return -(logp[np.arange(len(targets)), targets].mean())


def sgd_momentum_steps(model, x, targets, steps: int, lr: float = 0.01, momentum: float = 0.9) -> list[float]:
    """Plain SGD with momentum on one fixed batch (v = μv + g; w = w − ε·v, NOTES §4); returns the losses."""
    params = [p for p in model.parameters() if p.requires_grad]
    velocity = [np.zeros_like(p.data) for p in params]
    losses = []
    for _ in range(steps):
        model.zero_grad()
        loss = cross_entropy(model(x), targets)
        loss.backward()
        losses.append(float(loss.item()))
        for p, v in zip(params, velocity):
            if p.grad is not None:
                v *= momentum
                v += p.grad.data
                p.data -= lr * v
    return losses


def adam_steps(model, x, targets, steps: int, lr: float = 1e-3) -> list[float]:
    """Adam (μ = 0.9, ρ = 0.999, δ = 1e-8, NOTES §4) on one fixed batch; returns the losses."""
    params = [p for p in model.parameters() if p.requires_grad]
    m = [np.zeros_like(p.data) for p in params]
    r = [np.zeros_like(p.data) for p in params]
    losses = []
    for t in range(1, steps + 1):
        model.zero_grad()
        loss = cross_entropy(model(x), targets)
        loss.backward()
        losses.append(float(loss.item()))
        for p, mi, ri in zip(params, m, r):
            if p.grad is None:
                continue
            g = p.grad.data
            mi *= 0.9
            mi += 0.1 * g
            ri *= 0.999
            ri += 0.001 * g * g
            p.data -= (lr * (mi / (1 - 0.9 ** t)) / (np.sqrt(ri / (1 - 0.999 ** t)) + 1e-8)).astype(p.data.dtype)
    return losses
