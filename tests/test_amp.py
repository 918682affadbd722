"""ember.amp: a script written for automatic mixed precision runs unchanged, in float32."""
import numpy as np
import pytest

import ember


def test_an_amp_training_step_runs_in_float32_and_matches_the_plain_step():
    def step(use_amp: bool):
        ember.manual_seed(0)
        model = ember.nn.Linear(4, 2)
        opt = ember.optim.SGD(model.parameters(), lr=0.1)
        x, y = ember.randn(8, 4), ember.randint(0, 2, (8,))
        scaler = ember.cuda.amp.GradScaler(enabled=use_amp)
        with ember.autocast(device_type="cpu", dtype=ember.float16, enabled=use_amp):
            out = model(x)
            loss = ember.nn.functional.cross_entropy(out, y)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        scaler.step(opt)
        scaler.update()
        return out.dtype, model.weight.array.copy(), scaler

    ember.amp._warned.clear()  # the warnings come once per process
    with pytest.warns(UserWarning):  # enabled: each says once that it changes nothing here
        dtype, w_amp, scaler = step(True)
    _, w_plain, _ = step(False)
    assert dtype == np.float32 and scaler.get_scale() == 1.0 and not scaler.is_enabled()
    np.testing.assert_array_equal(w_amp, w_plain)


def test_autocast_as_a_decorator_and_the_amp_module_names():
    @ember.autocast(device_type="cpu", enabled=False)
    def f(t):
        return t * 2

    assert f(ember.ones(2)).tolist() == [2.0, 2.0]
    assert ember.amp.GradScaler is ember.cuda.amp.GradScaler and ember.amp.autocast is ember.autocast
    assert not ember.amp.is_autocast_available("cuda")
