"""Shared by the nn tests: run an ember layer and its torch twin on the same data and compare."""
from __future__ import annotations

import numpy as np

import ember
from tests.helpers import assert_close


def copy_to_torch(layer, tlayer, torch):
    """Copy every parameter and buffer of an ember layer into its torch twin (same names)."""
    sd = {k: torch.from_numpy(np.array(v.array)) for k, v in layer.state_dict().items()}
    missing, unexpected = tlayer.load_state_dict(sd, strict=False)
    assert not unexpected, f"ember has state torch lacks: {unexpected}"
    assert not [k for k in missing if not k.endswith("num_batches_tracked")], f"torch has state ember lacks: {missing}"


def check_parity(layer, tlayer, torch, x: np.ndarray, rtol=1e-4, atol=1e-5, grad=True, what=""):
    """Forward both on ``x`` (float32), backward a fixed random upstream gradient, compare output,
    input gradient and every parameter gradient; returns the two outputs."""
    xe = ember.tensor(x, requires_grad=grad and x.dtype.kind == "f")
    xt = torch.tensor(x, requires_grad=grad and x.dtype.kind == "f")
    ye, yt = layer(xe), tlayer(xt)
    assert_close(ye, yt, rtol, atol, what=f"{what} output")
    if not grad:
        return ye, yt
    up = np.random.default_rng(1).standard_normal(ye.shape).astype(ye.dtype)
    ye.backward(ember.tensor(up))
    yt.backward(torch.from_numpy(up))
    if xe.requires_grad:
        assert_close(xe.grad, xt.grad, rtol, atol, what=f"{what} input grad")
    tparams = dict(tlayer.named_parameters())
    for name, p in layer.named_parameters():
        assert p.grad is not None, f"{what}: no gradient reached {name}"
        assert_close(p.grad, tparams[name].grad, rtol, atol, what=f"{what} grad of {name}")
    return ye, yt


def randn(*shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)
