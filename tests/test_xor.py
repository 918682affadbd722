"""NOTES §1: an MLP must solve XOR and a linear model cannot. Plain ember tensors and a hand-written SGD loop."""
from __future__ import annotations

import numpy as np
import pytest

import ember

X = ember.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = ember.tensor([[0.0], [1.0], [1.0], [0.0]])


def bce_with_logits(z, y):
    """Mean of −y·log σ(z) − (1 − y)·log(1 − σ(z)) = mean(log(1 + e^z) − y·z)."""
    return (ember.log(1 + ember.exp(z)) - y * z).mean()


def train(params, forward, steps=400, lr=1.0):
    for _ in range(steps):
        loss = bce_with_logits(forward(X), Y)
        loss.backward()
        with ember.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=lr)
                p.grad = None
    with ember.no_grad():
        predictions = (forward(X) > 0).float()
    return float((predictions == Y).float().mean().item()), loss.item()


def leaf(*shape, scale=1.0):
    return (ember.randn(*shape) * scale).requires_grad_()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_2_8_1_tanh_mlp_solves_xor(seed):
    ember.manual_seed(seed)
    w1, b1, w2, b2 = leaf(2, 8), leaf(8, scale=0.1), leaf(8, 1, scale=0.5), leaf(1, scale=0.1)
    accuracy, loss = train([w1, b1, w2, b2], lambda x: ember.tanh(x @ w1 + b1) @ w2 + b2)
    assert accuracy == 1.0, f"seed {seed}: accuracy {accuracy}, loss {loss:.3f}"
    assert loss < 0.05


def test_a_linear_model_cannot_solve_xor():
    ember.manual_seed(0)
    w, b = leaf(2, 1), leaf(1)
    accuracy, loss = train([w, b], lambda x: x @ w + b)
    assert accuracy <= 0.75  # no line separates XOR: at most 3 of the 4 points
    assert loss > 0.6  # stuck near ln 2, the loss of predicting 1/2 everywhere


def test_without_the_nonlinearity_the_mlp_collapses_to_a_linear_model():
    ember.manual_seed(0)
    w1, b1, w2, b2 = leaf(2, 8), leaf(8, scale=0.1), leaf(8, 1, scale=0.5), leaf(1, scale=0.1)
    accuracy, _ = train([w1, b1, w2, b2], lambda x: (x @ w1 + b1) @ w2 + b2, lr=0.1)
    assert accuracy <= 0.75
    # the trained two-layer linear net is exactly one affine map W·x + b
    w, b = (w1 @ w2).detach(), (b1 @ w2 + b2).detach()
    np.testing.assert_allclose(((X @ w1 + b1) @ w2 + b2).detach().array, (X @ w + b).array, rtol=1e-5, atol=1e-6)
