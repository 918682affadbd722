"""PyTorch's device boilerplate on ember: ember.device, ember.cuda, ember.backends, device= on constructors,
x.to(device), x.cuda(), and the new_* constructors that keep a tensor's dtype."""
from __future__ import annotations

import numpy as np
import pytest

import ember


def test_the_usual_device_line_picks_the_cpu():
    device = ember.device("cuda" if ember.cuda.is_available() else "cpu")
    assert device == "cpu" and device.type == "cpu" and device.index is None
    assert repr(device) == "device(type='cpu')" and str(device) == "cpu"
    assert ember.device(device) is device and ember.device("cpu:0") == device
    assert ember.cuda.device_count() == 0 and not ember.backends.mps.is_available()
    ember.cuda.manual_seed_all(0)  # scripts call these unconditionally
    ember.backends.cudnn.benchmark = True


def test_the_accelerator_api_reports_none_so_scripts_pick_the_cpu():
    # pytorch/examples' newer scripts: device = torch.accelerator.current_accelerator() if available else cpu
    use_accel = ember.accelerator.is_available()
    device = ember.accelerator.current_accelerator() if use_accel else ember.device("cpu")
    assert not use_accel and device == "cpu"
    assert ember.accelerator.current_accelerator() is None and ember.accelerator.device_count() == 0
    with pytest.raises(RuntimeError, match="no accelerator"):
        ember.accelerator.current_device_index()


def test_use_deterministic_algorithms_is_recorded():
    try:
        ember.use_deterministic_algorithms(True, warn_only=True)  # the DCGAN tutorial's first lines
        assert ember.are_deterministic_algorithms_enabled()
        assert ember.is_deterministic_algorithms_warn_only_enabled()
        with pytest.raises(TypeError, match="bool"):
            ember.use_deterministic_algorithms(1)
    finally:
        ember.use_deterministic_algorithms(False)
    assert not ember.are_deterministic_algorithms_enabled()


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "mps"])
def test_other_devices_are_refused_saying_cpu_only(name):
    with pytest.raises(RuntimeError, match="CPU only"):
        ember.device(name)
    with pytest.raises(RuntimeError, match="CPU only"):
        ember.zeros(3, device=name)
    with pytest.raises(RuntimeError, match="CPU only"):
        ember.ones(2).to(name)


def test_unknown_device_type_lists_the_valid_ones():
    with pytest.raises(RuntimeError, match="valid device types are: cpu, cuda"):
        ember.device("gpu")
    with pytest.raises(RuntimeError, match="CUDA device"):
        ember.tensor([1.0], device=0)


def test_tensor_device_is_a_device_equal_to_cpu():
    x = ember.randn(2)
    assert isinstance(x.device, ember.device) and x.device == "cpu" and x.device.type == "cpu"
    assert not x.is_cuda and x.get_device() == -1


@pytest.mark.parametrize("make", [
    lambda d: ember.tensor([1.0, 2.0], device=d),
    lambda d: ember.as_tensor([1.0], device=d),
    lambda d: ember.zeros(3, device=d, pin_memory=False),
    lambda d: ember.ones((2, 2), device=d),
    lambda d: ember.empty(2, device=d),
    lambda d: ember.full((2,), 3.0, device=d),
    lambda d: ember.arange(4, device=d),
    lambda d: ember.linspace(0, 1, 3, device=d),
    lambda d: ember.eye(2, device=d),
    lambda d: ember.rand(2, device=d),
    lambda d: ember.randn(2, device=d),
    lambda d: ember.randint(0, 5, (3,), device=d),
    lambda d: ember.randperm(4, device=d),
    lambda d: ember.zeros_like(ember.ones(2), device=d),
    lambda d: ember.ones_like(ember.ones(2), device=d),
    lambda d: ember.empty_like(ember.ones(2), device=d),
    lambda d: ember.full_like(ember.ones(2), 2.0, device=d),
    lambda d: ember.rand_like(ember.ones(2), device=d),
    lambda d: ember.randn_like(ember.ones(2), device=d),
    lambda d: ember.randint_like(ember.ones(2), 3, device=d),
])
@pytest.mark.parametrize("dev", ["cpu", ember.device("cpu"), None], ids=["str", "device", "none"])
def test_every_constructor_accepts_device(make, dev):
    x = ember.ones(1)
    assert make(dev if dev is not None else x.device).device == "cpu"
    with pytest.raises(RuntimeError, match="CPU only"):
        make("cuda")


def test_to_device_and_dtype_in_every_form():
    x = ember.ones(2)
    d = ember.device("cpu")
    assert x.to(d) is x and x.to("cpu") is x and x.to(device=d) is x
    assert x.to(d, ember.float64).dtype == np.float64
    assert x.to(dtype=ember.float16, device="cpu").dtype == np.float16
    assert x.to("cpu", "float64").dtype == np.float64
    assert x.to(ember.zeros(1, dtype=ember.float64)).dtype == np.float64
    assert x.to(d, non_blocking=True) is x
    y = x.to(d, copy=True)
    assert y is not x and y.tolist() == x.tolist()
    with pytest.raises(TypeError, match="unexpected keyword"):
        x.to(devise="cpu")


def test_to_keeps_the_graph_and_cuda_is_a_clear_error():
    w = ember.ones(2, requires_grad=True)
    (w.to(ember.device("cpu"), ember.float64) * 3).sum().backward()
    assert w.grad.tolist() == [3.0, 3.0]
    with pytest.raises(RuntimeError, match="CPU only"):
        w.cuda()
    assert ember.ones(1).cpu().pin_memory().device == "cpu"


def test_module_to_device():
    model = ember.nn.Linear(2, 3)
    assert model.to(ember.device("cpu")) is model
    assert model(ember.ones(1, 2).to(ember.device("cpu"))).shape == (1, 3)


def test_new_constructors_keep_the_dtype_unless_told(torch):
    for lib in (ember, torch):
        x = lib.ones(2, dtype=lib.float64)
        cases = {
            "new_zeros": x.new_zeros(2, 3), "new_ones": x.new_ones((2,)), "new_empty": x.new_empty(4),
            "new_full": x.new_full((2,), 7), "new_tensor": x.new_tensor([1, 2]),
            "new_zeros_int": x.new_zeros(3, dtype=lib.int64),
        }
        got = {k: (tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in cases.items()}
        if lib is ember:
            ours = got
        else:
            assert ours == got
        assert cases["new_full"].tolist() == [7.0, 7.0]
    assert ember.ones(2).new_zeros(2, requires_grad=True).requires_grad


def test_numel():
    x = ember.zeros(2, 3)
    assert ember.numel(x) == x.numel() == 6


def test_random_constructors_draw_from_the_generator_given():
    def draws(seed):
        g = ember.Generator().manual_seed(seed)
        return [ember.randn(3, generator=g), ember.rand(2, generator=g), ember.randint(0, 9, (4,), generator=g),
                ember.randperm(5, generator=g), ember.empty(3).normal_(generator=g),
                ember.empty(2).uniform_(generator=g)]

    a, b, c = draws(1), draws(1), draws(2)
    assert all(x.tolist() == y.tolist() for x, y in zip(a, b))
    assert a[0].tolist() != c[0].tolist()
