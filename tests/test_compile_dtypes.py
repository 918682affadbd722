"""ember.compile / matmul precision (accepted, change nothing) and the half-precision dtypes: float16 works,
bfloat16 exists as a name (autocast takes it) but no tensor can have it."""
import pickle

import numpy as np
import pytest

import ember
import ember.nn as nn


@pytest.fixture
def _precision():
    yield
    ember.set_float32_matmul_precision("highest")


# ----------------------------------------------------------------------------- compile


def test_compile_returns_the_module_itself_and_the_model_still_trains():
    model = nn.Linear(3, 2)
    compiled = ember.compile(model)
    assert compiled is model
    assert ember.compile(model, mode="max-autotune", fullgraph=True, dynamic=False, backend="eager") is model
    x = ember.randn(4, 3)
    compiled(x).sum().backward()
    assert model.weight.grad is not None and list(compiled.state_dict()) == ["weight", "bias"]


def test_compile_as_a_decorator_bare_and_with_arguments():
    @ember.compile
    def f(x):
        return x * 2

    @ember.compile(mode="reduce-overhead", disable=False)
    def g(x):
        return x + 1

    assert f.__name__ == "f" and g.__name__ == "g"  # the functions themselves, not wrappers
    assert f(ember.ones(2)).tolist() == [2.0, 2.0] and g(ember.ones(2)).tolist() == [2.0, 2.0]
    assert ember.compile(backend=lambda gm, inputs: gm)(f) is f  # a callable backend is accepted


@pytest.mark.parametrize("kwargs, error", [
    (dict(mode="fastest"), RuntimeError),
    (dict(mode="default", options={"trace.enabled": True}), RuntimeError),
    (dict(options=["not", "a", "dict"]), TypeError),
    (dict(backend=3), TypeError),
])
def test_compile_rejects_what_pytorch_rejects(kwargs, error):
    with pytest.raises(error):
        ember.compile(lambda x: x, **kwargs)
    with pytest.raises(TypeError, match="callable"):
        ember.compile(3)


def test_compile_argument_errors_match_pytorch(torch):
    for kwargs in (dict(mode="fastest"), dict(mode="default", options={})):
        with pytest.raises(RuntimeError) as ours:
            ember.compile(lambda x: x, **kwargs)
        with pytest.raises(RuntimeError) as theirs:
            torch.compile(lambda x: x, **kwargs)
        assert str(ours.value).split(",")[0] == str(theirs.value).split(",")[0]


def test_float32_matmul_precision_is_remembered_and_validated(_precision):
    assert ember.get_float32_matmul_precision() == "highest"
    a, b = ember.randn(8, 8), ember.randn(8, 8)
    before = (a @ b).numpy().copy()
    for p in ("high", "medium", "highest"):
        ember.set_float32_matmul_precision(p)
        assert ember.get_float32_matmul_precision() == p
        ember.set_float32_matmul_precision("medium")
        np.testing.assert_array_equal((a @ b).numpy(), before)  # nothing about the product changes
    with pytest.raises(ValueError, match="'highest', 'high' or 'medium'"):
        ember.set_float32_matmul_precision("low")
    with pytest.raises(TypeError, match="expects a str"):
        ember.set_float32_matmul_precision(3)
    assert ember.get_float32_matmul_precision() == "medium"  # a rejected value leaves the setting alone


# ----------------------------------------------------------------------------- bfloat16


BF16_CALLS = {
    "zeros": lambda: ember.zeros(2, dtype=ember.bfloat16),
    "tensor": lambda: ember.tensor([1.0, 2.0], dtype=ember.bfloat16),
    "randn": lambda: ember.randn(3, dtype=ember.bfloat16),
    "to": lambda: ember.ones(2).to(ember.bfloat16),
    "to(device, dtype)": lambda: ember.ones(2).to("cpu", ember.bfloat16),
    "to(dtype=)": lambda: ember.ones(2).to(dtype=ember.bfloat16),
    "to('torch.bfloat16')": lambda: ember.ones(2).to("torch.bfloat16"),
    "type": lambda: ember.ones(2).type(ember.bfloat16),
    "Tensor.bfloat16": lambda: ember.ones(2).bfloat16(),
    "Module.bfloat16": lambda: nn.Linear(2, 2).bfloat16(),
    "Module.to": lambda: nn.Linear(2, 2).to(ember.bfloat16),
    "set_default_dtype": lambda: ember.set_default_dtype(ember.bfloat16),
}


@pytest.mark.parametrize("name", sorted(BF16_CALLS))
def test_a_bfloat16_tensor_is_refused_with_the_reason(name):
    with pytest.raises(TypeError, match=r"NumPy has no bfloat16.*float32, float16 or float64"):
        BF16_CALLS[name]()


def test_a_refused_bfloat16_cast_leaves_the_model_as_it_was():
    model = nn.Linear(2, 2)
    w = model.weight.detach().numpy().copy()
    with pytest.raises(TypeError):
        model.bfloat16()
    assert model.weight.dtype == np.float32
    np.testing.assert_array_equal(model.weight.detach().numpy(), w)


def test_bfloat16_is_a_name_that_code_can_compare_pickle_and_print():
    assert repr(ember.bfloat16) == "ember.bfloat16" and ember.bfloat16.itemsize == 2
    assert ember.bfloat16.is_floating_point and not ember.bfloat16.is_complex
    x = ember.ones(2)
    assert x.dtype not in (ember.float16, ember.bfloat16) and x.dtype != ember.bfloat16
    assert x.half().dtype in (ember.float16, ember.bfloat16)
    assert pickle.loads(pickle.dumps(ember.bfloat16)) is ember.bfloat16
    assert {ember.bfloat16: "bf16"}[ember.bfloat16] == "bf16"


@pytest.mark.parametrize("autocast", [ember.autocast, ember.amp.autocast], ids=["ember.autocast", "ember.amp"])
def test_bfloat16_autocast_runs_in_float32_and_matches_the_plain_step(autocast):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x, y = ember.randn(5, 4), ember.randint(0, 3, (5,))
    plain = nn.functional.cross_entropy(model(x), y)
    with pytest.warns(UserWarning, match="does nothing"):
        ember.amp._warned.clear()
        with autocast("cpu", dtype=ember.bfloat16):
            out = model(x)
            loss = nn.functional.cross_entropy(out, y)
    assert out.dtype == np.float32 and loss.dtype == np.float32
    assert loss.item() == plain.item()
    loss.backward()
    assert model[0].weight.grad.dtype == np.float32


# ----------------------------------------------------------------------------- float16 / half


def test_module_half_float_double_convert_floating_parameters_and_buffers_only():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    assert model.half() is model
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float16)}
    bufs = dict(model.named_buffers())
    assert bufs["1.running_mean"].dtype == np.float16 and bufs["1.running_var"].dtype == np.float16
    assert bufs["1.num_batches_tracked"].dtype == np.int64  # integer buffers keep their dtype, as in PyTorch
    assert model.double() is model and {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    assert model.float() is model and {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    assert bufs["1.num_batches_tracked"].dtype == np.int64


def test_a_half_model_runs_on_half_inputs_and_trains():
    ember.manual_seed(0)
    model = nn.Linear(6, 3).half()
    x = ember.randn(4, 6).half()
    assert x.dtype == np.float16
    out = model(x)
    assert out.dtype == np.float16
    out.float().sum().backward()
    assert model.weight.grad.dtype == np.float16


def test_half_conversion_matches_pytorch(torch):
    ember.manual_seed(0)
    ours = nn.Linear(5, 3)
    theirs = torch.nn.Linear(5, 3)
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(ours.weight.detach().numpy()))
        theirs.bias.copy_(torch.from_numpy(ours.bias.detach().numpy()))
    ours.half()
    theirs.half()
    # float32 → float16 rounds to nearest even in both: the same bits
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())
    np.testing.assert_array_equal(ours.bias.detach().numpy(), theirs.bias.detach().numpy())
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float16)
    got = ours(ember.from_numpy(x)).detach().numpy()
    want = theirs(torch.from_numpy(x)).detach().numpy()
    assert got.dtype == want.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-2, atol=1e-2)
    t = ember.tensor([1.0, 1 / 3, 60000.0, 1e-8])
    np.testing.assert_array_equal(t.half().numpy(), torch.tensor([1.0, 1 / 3, 60000.0, 1e-8]).half().detach().numpy())
