"""Every layer against the same torch layer: weights copied across, outputs and gradients of the input
and of every parameter equal within float32 tolerance, in train and eval mode where they differ."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from tests.helpers import assert_close
from tests.nn.util import check_parity, copy_to_torch, randn

CONV_CASES = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=3, out_channels=6, kernel_size=3, stride=2, padding=1),
    dict(in_channels=4, out_channels=4, kernel_size=3, padding="same", dilation=2),
    dict(in_channels=4, out_channels=6, kernel_size=(3, 1), padding="valid", bias=False),
    dict(in_channels=4, out_channels=8, kernel_size=3, padding=1, groups=2),
    dict(in_channels=4, out_channels=4, kernel_size=5, padding=2, groups=4),  # depthwise
    dict(in_channels=3, out_channels=5, kernel_size=1),
]


@pytest.mark.parametrize("kw", CONV_CASES, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_conv2d(torch, kw):
    layer, tlayer = nn.Conv2d(**kw), torch.nn.Conv2d(**kw)
    copy_to_torch(layer, tlayer, torch)
    check_parity(layer, tlayer, torch, randn(2, kw["in_channels"], 9, 8), what=str(kw))


@pytest.mark.parametrize("shape", [(5, 7), (2, 3, 7)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(torch, shape, bias):
    layer, tlayer = nn.Linear(7, 4, bias=bias), torch.nn.Linear(7, 4, bias=bias)
    copy_to_torch(layer, tlayer, torch)
    check_parity(layer, tlayer, torch, randn(*shape))


POOL_CASES = [
    ("MaxPool2d", dict(kernel_size=2)),
    ("MaxPool2d", dict(kernel_size=3, stride=2)),  # AlexNet's overlapping pooling
    ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("MaxPool2d", dict(kernel_size=2, dilation=2)),
    ("AvgPool2d", dict(kernel_size=2)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, count_include_pad=False, ceil_mode=True)),
    ("AdaptiveAvgPool2d", dict(output_size=1)),
    ("AdaptiveAvgPool2d", dict(output_size=(3, 2))),
    ("AdaptiveAvgPool2d", dict(output_size=(4, None))),
]


@pytest.mark.parametrize("name,kw", POOL_CASES, ids=lambda v: str(v))
def test_pooling(torch, name, kw):
    layer, tlayer = getattr(nn, name)(**kw), getattr(torch.nn, name)(**kw)
    check_parity(layer, tlayer, torch, randn(2, 3, 9, 7), what=f"{name}{kw}")


def test_pooling_unbatched(torch):
    check_parity(nn.MaxPool2d(2), torch.nn.MaxPool2d(2), torch, randn(3, 8, 8))


ACTIVATIONS = [
    ("ReLU", {}), ("ReLU6", {}), ("LeakyReLU", {}), ("LeakyReLU", dict(negative_slope=0.2)),
    ("ELU", {}), ("ELU", dict(alpha=0.5)), ("SELU", {}), ("GELU", {}), ("GELU", dict(approximate="tanh")),
    ("SiLU", {}), ("Sigmoid", {}), ("Tanh", {}), ("Softmax", dict(dim=1)), ("Softmax", dict(dim=-1)),
    ("LogSoftmax", dict(dim=1)), ("Softplus", {}), ("Softplus", dict(beta=2.0, threshold=5.0)), ("Hardtanh", {}),
    ("ReLU", dict(inplace=True)), ("Identity", {}),
]


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=lambda v: str(v))
def test_activation(torch, name, kw):
    # inplace=True is accepted and ignored by ember; torch's in-place version cannot run on a leaf
    tkw = {k: v for k, v in kw.items() if k != "inplace"}
    layer, tlayer = getattr(nn, name)(**kw), getattr(torch.nn, name)(**tkw)
    x = randn(4, 5, 3) * 3
    check_parity(layer, tlayer, torch, x, what=name)


@pytest.mark.parametrize("num_parameters", [1, 5])
def test_prelu(torch, num_parameters):
    layer, tlayer = nn.PReLU(num_parameters, init=0.1), torch.nn.PReLU(num_parameters, init=0.1)
    layer.weight.array[:] = np.linspace(0.05, 0.5, num_parameters)
    copy_to_torch(layer, tlayer, torch)
    check_parity(layer, tlayer, torch, randn(3, 5, 4, 2))


@pytest.mark.parametrize("shape,kw", [((8, 3), {}), ((4, 3, 5), {}), ((8, 3), dict(affine=False)),
                                     ((6, 3), dict(momentum=None)), ((6, 3), dict(track_running_stats=False)),
                                     ((6, 3), dict(bias=False))])
def test_batchnorm1d_train_and_eval(torch, shape, kw):
    layer, tlayer = nn.BatchNorm1d(3, **kw), torch.nn.BatchNorm1d(3, **kw)
    if layer.affine:
        layer.weight.array[:] = [0.5, 1.5, -1.0]
    if layer.bias is not None:
        layer.bias.array[:] = [0.1, -0.2, 0.3]
    copy_to_torch(layer, tlayer, torch)
    for step in range(3):
        check_parity(layer, tlayer, torch, randn(*shape, seed=step) * 2 + 1, what=f"train step {step}")
    layer.eval(), tlayer.eval()
    check_parity(layer, tlayer, torch, randn(*shape, seed=9), what="eval")


def test_batchnorm2d_running_stats_equal_torch_after_steps(torch):
    layer, tlayer = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    layer.weight.array[:] = [1.0, 2.0, 0.5, -1.0]
    copy_to_torch(layer, tlayer, torch)
    for step in range(5):
        x = randn(3, 4, 5, 6, seed=step) * (step + 1) + step
        check_parity(layer, tlayer, torch, x, what=f"step {step}")
    assert_close(layer.running_mean, tlayer.running_mean, what="running_mean")
    assert_close(layer.running_var, tlayer.running_var, what="running_var")
    assert int(layer.num_batches_tracked.item()) == int(tlayer.num_batches_tracked) == 5
    layer.eval(), tlayer.eval()
    check_parity(layer, tlayer, torch, randn(2, 4, 5, 6, seed=42), what="eval")


def test_batchnorm2d_cumulative_average(torch):
    layer, tlayer = nn.BatchNorm2d(2, momentum=None), torch.nn.BatchNorm2d(2, momentum=None)
    for step in range(4):
        check_parity(layer, tlayer, torch, randn(2, 2, 3, 3, seed=step) + step, what=f"step {step}")
    assert_close(layer.running_mean, tlayer.running_mean)
    assert_close(layer.running_var, tlayer.running_var)


def test_local_response_norm(torch):
    for kw in (dict(size=5, alpha=1e-4, beta=0.75, k=2.0), dict(size=2), dict(size=4, alpha=0.5, beta=0.5, k=1.0)):
        layer, tlayer = nn.LocalResponseNorm(**kw), torch.nn.LocalResponseNorm(**kw)
        check_parity(layer, tlayer, torch, randn(2, 7, 4, 3) * 3, what=str(kw))


def test_local_response_norm_3d_input(torch):
    check_parity(nn.LocalResponseNorm(3, alpha=0.3), torch.nn.LocalResponseNorm(3, alpha=0.3), torch, randn(2, 6, 5))


def test_flatten_unflatten(torch):
    check_parity(nn.Flatten(), torch.nn.Flatten(), torch, randn(2, 3, 4, 5))
    check_parity(nn.Flatten(0, 2), torch.nn.Flatten(0, 2), torch, randn(2, 3, 4, 5))
    check_parity(nn.Unflatten(1, (3, 4)), torch.nn.Unflatten(1, (3, 4)), torch, randn(2, 12, 5))
    check_parity(nn.Unflatten(-1, (2, -1)), torch.nn.Unflatten(-1, (2, -1)), torch, randn(2, 12))


@pytest.mark.parametrize("name", ["Dropout", "Dropout2d", "StochasticDepth"])
def test_dropout_family_eval_is_identity_like_torch(torch, name):
    kw = dict(p=0.3, mode="row") if name == "StochasticDepth" else dict(p=0.3)
    layer = getattr(nn, name)(**kw).eval()
    # torch.nn has no stochastic depth (torchvision's is the identity in eval, like torch.nn.Identity)
    tlayer = (torch.nn.Identity() if name == "StochasticDepth" else getattr(torch.nn, name)(**kw)).eval()
    check_parity(layer, tlayer, torch, randn(4, 3, 5, 5))


def test_dropout_train_matches_torch_given_the_same_mask(torch):
    """Training-mode dropout draws its own mask; with the mask read off the ember output, torch's
    formula x·mask/(1 − p) gives the same output and gradient."""
    p = 0.25
    x = randn(6, 50) + 5.0  # no zeros, so the mask can be read off the output
    xe = ember.tensor(x, requires_grad=True)
    ye = nn.Dropout(p)(xe)
    mask = (ye.array != 0).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    yt = xt * torch.from_numpy(mask) / (1 - p)
    assert_close(ye, yt)
    up = randn(6, 50, seed=3)
    ye.backward(ember.tensor(up))
    yt.backward(torch.from_numpy(up))
    assert_close(xe.grad, xt.grad)


@pytest.mark.parametrize("kw", [dict(scale_factor=2), dict(scale_factor=(2, 3)), dict(size=(8, 9))], ids=str)
def test_upsample_nearest(torch, kw):
    check_parity(nn.Upsample(**kw), torch.nn.Upsample(**kw), torch, randn(2, 3, 4, 3))


def test_local_response_norm_precise_next_to_huge_channels(torch):
    """Small channels right after very large ones keep full float32 precision (no cumulative-sum cancellation)."""
    x = randn(1, 64, 2, 2) * 0.01
    x[:, :32] *= 1e5
    layer, tlayer = nn.LocalResponseNorm(5, alpha=1.0, beta=0.75, k=1.0), torch.nn.LocalResponseNorm(5, 1.0, 0.75, 1.0)
    check_parity(layer, tlayer, torch, x)


# --------------------------------------------------------------------------- at the sizes where ember's threads engage


def _run(lib, layer, x, up):
    xt = lib.tensor(x, requires_grad=True)
    y = layer(xt)
    y.backward(lib.tensor(up))
    grads = {n: np.array(p.grad.numpy() if hasattr(p.grad, "numpy") else p.grad.array, np.float64)
             for n, p in layer.named_parameters()}
    out = y.detach().numpy() if hasattr(y, "detach") and lib.__name__ == "torch" else y.array
    xg = xt.grad.numpy() if lib.__name__ == "torch" else xt.grad.array
    return {"output": np.array(out, np.float64), "input grad": np.array(xg, np.float64), **grads}


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_layers_at_training_sizes_are_as_accurate_as_pytorch_on_any_number_of_threads(threads, torch):
    """Small parity shapes fit in one chunk and below the size where products are split; these shapes are
    built in several chunks of images / channel blocks and split across ember's threads. Sums over 10⁴–10⁵
    float32 terms differ from PyTorch's in the last digits, so both are compared with a float64 PyTorch run:
    ember's error must be of the same order as PyTorch's own."""
    before = ember.get_num_threads()
    ember.set_num_threads(threads)
    try:
        ember.manual_seed(0)
        cases = [
            (nn.Conv2d(16, 16, 3, padding=1, bias=False), torch.nn.Conv2d(16, 16, 3, padding=1, bias=False),
             (24, 16, 32, 32)),  # gather backward, 2 MiB column chunks
            (nn.Conv2d(16, 32, 3, stride=2, padding=1), torch.nn.Conv2d(16, 32, 3, stride=2, padding=1),
             (24, 16, 32, 32)),  # strided scatter backward
            (nn.Conv2d(6, 16, 5), torch.nn.Conv2d(6, 16, 5), (64, 6, 14, 14)),  # stride-1 scatter (C_out > 2C)
            (nn.BatchNorm2d(16), torch.nn.BatchNorm2d(16), (24, 16, 32, 32)),  # channel blocks
            (nn.Linear(784, 512), torch.nn.Linear(784, 512), (128, 784)),  # split product, dx ‖ dW
            (nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),  # channel-major blocks
             torch.nn.Sequential(torch.nn.Conv2d(16, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2)),
             (24, 16, 32, 32)),
            (nn.Sequential(nn.ReLU(), nn.MaxPool2d(2)), torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(2)),
             (24, 16, 32, 32)),  # NCHW blocks
        ]
        for layer, tlayer, shape in cases:
            copy_to_torch(layer, tlayer, torch)
            x = randn(*shape)
            up = np.random.default_rng(1).standard_normal(tlayer(torch.from_numpy(x)).shape).astype(np.float32)
            ours, theirs = _run(ember, layer, x, up), _run(torch, tlayer, x, up)
            truth = _run(torch, tlayer.double(), x.astype(np.float64), up.astype(np.float64))
            for k, t in truth.items():
                scale = np.abs(t).max()
                err, ref_err = np.abs(ours[k] - t).max(), np.abs(theirs[k] - t).max()
                assert err <= 4 * ref_err + 1e-6 * scale, (
                    f"{layer} on {threads} thread(s), {k}: error {err:.3g} vs PyTorch float32's {ref_err:.3g} "
                    f"(values up to {scale:.3g})")
    finally:
        ember.set_num_threads(before)
