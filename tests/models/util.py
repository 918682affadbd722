"""Helpers for the model-zoo tests: the cross-entropy loss and a few optimiser steps on one batch."""
from __future__ import annotations

import numpy as np

import ember
from ember.nn import functional as F


def cross_entropy(logits, targets: np.ndarray):
    return F.cross_entropy(logits, ember.tensor(np.asarray(targets, dtype=np.int64)))


def adam_steps(model, x, targets, steps: int, lr: float = 1e-3) -> list[float]:
    """``steps`` updates of ember.optim.Adam (β = 0.9, 0.999) on one fixed batch; returns the losses."""
    opt = ember.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = cross_entropy(model(x), targets)
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    return losses
