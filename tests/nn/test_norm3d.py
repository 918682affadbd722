"""BatchNorm3d, InstanceNorm3d and SyncBatchNorm against torch: outputs and gradients in train and eval mode, the
running statistics after a few steps, convert_sync_batchnorm keeping (sharing) weights and statistics; float64
finite-difference checks; the error messages."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.diagnose import gradcheck
from tests.helpers import assert_close
from tests.nn.util import check_parity, copy_to_torch, randn


def _steps(torch, layer, tlayer, shapes, what):
    """Train-mode forward/backward on a few batches (shifted, scaled data), then eval on one more: outputs,
    gradients and the running statistics must agree with torch's after every step."""
    copy_to_torch(layer, tlayer, torch)
    for i, shape in enumerate(shapes):
        x = randn(*shape, seed=i) * (1.5 + i) + 0.5 * i
        check_parity(layer, tlayer, torch, x, rtol=1e-4, atol=1e-4, what=f"{what} train step {i}")
        for name, buf in tlayer.named_buffers():
            assert_close(getattr(layer, name), buf, rtol=1e-5, atol=1e-6, what=f"{what} {name} after step {i}")
    layer.eval()
    tlayer.eval()
    check_parity(layer, tlayer, torch, randn(*shapes[0], seed=99) + 1.0, rtol=1e-4, atol=1e-4, what=f"{what} eval")


@pytest.mark.parametrize("kw", [dict(), dict(momentum=None), dict(affine=False), dict(momentum=0.3, eps=1e-3),
                                dict(track_running_stats=False), dict(bias=False)], ids=str)
def test_batchnorm3d_matches_torch(torch, kw):
    layer, tlayer = nn.BatchNorm3d(3, **kw), torch.nn.BatchNorm3d(3, **kw)
    if layer.weight is not None:  # non-trivial γ, β
        layer.weight.array[...] = [0.5, 1.5, -1.0]
        if layer.bias is not None:
            layer.bias.array[...] = [0.1, -0.2, 0.3]
    _steps(torch, layer, tlayer, [(2, 3, 4, 5, 6), (3, 3, 2, 4, 3), (2, 3, 3, 3, 3)], f"BatchNorm3d {kw}")
    assert repr(layer) == repr(tlayer)


@pytest.mark.parametrize("kw", [dict(), dict(affine=True), dict(affine=True, track_running_stats=True),
                                dict(track_running_stats=True, momentum=0.5)], ids=str)
def test_instancenorm3d_matches_torch(torch, kw):
    layer, tlayer = nn.InstanceNorm3d(3, **kw), torch.nn.InstanceNorm3d(3, **kw)
    if layer.weight is not None:
        layer.weight.array[...] = [0.5, 1.5, -1.0]
        layer.bias.array[...] = [0.1, -0.2, 0.3]
    _steps(torch, layer, tlayer, [(2, 3, 4, 5, 6), (3, 3, 2, 4, 3), (1, 3, 3, 3, 3)], f"InstanceNorm3d {kw}")


def test_instancenorm3d_unbatched_matches_torch(torch):
    layer, tlayer = nn.InstanceNorm3d(3, affine=True), torch.nn.InstanceNorm3d(3, affine=True)
    copy_to_torch(layer, tlayer, torch)
    check_parity(layer, tlayer, torch, randn(3, 4, 5, 6) * 2 + 1, rtol=1e-4, atol=1e-4, what="unbatched")


@pytest.mark.parametrize("shapes", [[(8, 3), (6, 3)], [(4, 3, 7), (3, 3, 5)], [(2, 3, 5, 4), (3, 3, 2, 2)],
                                    [(2, 3, 4, 3, 5), (2, 3, 2, 2, 3)]], ids=lambda s: f"{len(s[0])}-D")
@pytest.mark.parametrize("kw", [dict(), dict(momentum=None, affine=False)], ids=str)
def test_syncbatchnorm_matches_torch(torch, shapes, kw):
    """In one process SyncBatchNorm is batch norm over any (N, C, ...) input, as torch's falls back to it."""
    layer, tlayer = nn.SyncBatchNorm(3, **kw), torch.nn.SyncBatchNorm(3, **kw)
    _steps(torch, layer, tlayer, shapes, f"SyncBatchNorm {kw}")
    assert repr(layer) == repr(tlayer)


def _net(lib, bias=True):
    n = lib.nn
    return n.Sequential(n.Conv3d(2, 3, 3, padding=1), n.BatchNorm3d(3, bias=bias), n.ReLU(),
                        n.Sequential(n.Flatten(2), n.BatchNorm1d(3, momentum=None)),
                        n.Flatten(), n.Linear(3 * 64, 2), n.BatchNorm1d(2, affine=False))


@pytest.mark.parametrize("bias", [True, False])
def test_convert_sync_batchnorm_keeps_weights_and_statistics(torch, bias):
    model = _net(ember, bias)
    x = ember.tensor(randn(2, 2, 4, 4, 4))
    for _ in range(2):  # non-trivial running statistics and num_batches_tracked
        model(x)
    with ember.no_grad():
        model[1].weight.array[...] = [0.5, 2.0, -1.0]
    model[3][1].eval()  # one layer in eval mode: the mode is kept
    before = {k: np.array(v.array) for k, v in model.state_dict().items()}
    olds = [m for m in model.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm3d))]

    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model, process_group="group")
    assert converted is model  # the container itself is kept, its batch norms replaced
    syncs = [m for m in converted.modules() if isinstance(m, nn.SyncBatchNorm)]
    assert len(syncs) == 3 and not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm3d)) for m in converted.modules())
    for old, new in zip(olds, syncs):
        assert new.weight is old.weight and new.bias is old.bias  # shared: an existing optimizer still updates them
        assert new.running_mean is old.running_mean and new.running_var is old.running_var
        assert new.num_batches_tracked is old.num_batches_tracked
        assert (new.momentum, new.eps, new.affine, new.training) == (old.momentum, old.eps, old.affine, old.training)
        assert new.process_group == "group"
    after = {k: np.array(v.array) for k, v in converted.state_dict().items()}
    assert before.keys() == after.keys()
    for k in before:
        np.testing.assert_array_equal(before[k], after[k], err_msg=k)

    # the same structure and state as torch's conversion of the same model
    tmodel = _net(torch, bias)
    tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in after.items()})
    tmodel[3][1].eval()
    tconverted = torch.nn.SyncBatchNorm.convert_sync_batchnorm(tmodel)
    assert repr(converted) == repr(tconverted)
    for train in (True, False):
        converted.train(train)
        tconverted.train(train)
        xs = randn(3, 2, 4, 4, 4, seed=4)
        assert_close(converted(ember.tensor(xs)), tconverted(torch.from_numpy(xs)), rtol=1e-4, atol=1e-4,
                     what=f"converted model, train={train}")


def test_convert_sync_batchnorm_of_a_batchnorm_and_of_other_modules():
    bn = nn.BatchNorm2d(4, affine=False, track_running_stats=False)
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(bn)
    assert isinstance(sync, nn.SyncBatchNorm) and sync.weight is None and sync.running_mean is None
    conv = nn.Conv3d(1, 1, 1)
    assert nn.SyncBatchNorm.convert_sync_batchnorm(conv) is conv


# --------------------------------------------------------------------------- float64 finite differences

def _x(*shape, seed=0):
    return ember.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=ember.float64, requires_grad=True)


@pytest.mark.parametrize("make", [lambda: nn.BatchNorm3d(2), lambda: nn.SyncBatchNorm(2),
                                  lambda: nn.InstanceNorm3d(2, affine=True)], ids=["bn3d", "sync", "in3d"])
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_norm3d_gradcheck(make, train):
    layer = make().double()
    if layer.running_mean is not None:  # eval mode normalises with these
        layer.running_mean.array[...] = [0.3, -0.2]
        layer.running_var.array[...] = [0.5, 2.0]
    layer.train(train)
    layer.weight.array[...] = [0.7, -1.3]
    layer.bias.array[...] = [0.1, 0.4]
    momentum, layer.momentum = layer.momentum, 0.0  # repeated forwards must not move the statistics they use
    gradcheck(lambda x, w, b: layer(x), _x(2, 2, 3, 2, 3), layer.weight, layer.bias)
    layer.momentum = momentum


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call,match", [
    (lambda: nn.BatchNorm3d(3)(ember.randn(2, 3, 4, 4)), r"BatchNorm3d expects a 5-D input.*\(2, 3, 4, 4\)"),
    (lambda: nn.BatchNorm3d(3)(ember.randn(2, 4, 2, 2, 2)), r"BatchNorm3d\(3\).*4 channels"),
    (lambda: nn.InstanceNorm3d(3)(ember.randn(2, 3, 4)), r"InstanceNorm3d expects a 5-D.*or 4-D"),
    (lambda: nn.SyncBatchNorm(3)(ember.randn(3)), r"at least a 2-D input"),
    (lambda: nn.SyncBatchNorm(3)(ember.randn(2, 4, 5)), r"SyncBatchNorm\(3\).*4 channels"),
    (lambda: nn.BatchNorm3d(3)(ember.randn(1, 3, 1, 1, 1)), r"more than 1 value per channel"),
])
def test_norm3d_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
