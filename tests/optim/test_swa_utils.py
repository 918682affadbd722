"""ember.optim.swa_utils: AveragedModel (SWA and EMA), the averaging functions, SWALR and update_bn, with
PyTorch parity for the averaged weights, the learning rates and the batch-norm statistics."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.optim as eo
from ember import nn
from ember.optim import swa_utils
from ember.optim.swa_utils import (SWALR, AveragedModel, get_ema_avg_fn, get_ema_multi_avg_fn, get_swa_avg_fn,
                                   get_swa_multi_avg_fn, update_bn)


def _model(lib=nn):
    return lib.Sequential(lib.Linear(3, 4), lib.BatchNorm1d(4), lib.ReLU(), lib.Linear(4, 2))


def _snapshots(k: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """``k`` made-up states of ``_model()``: random float32 weights and buffers, growing batch counts."""
    rng = np.random.default_rng(seed)
    shapes = {n: np.asarray(t.array).shape for n, t in _model().state_dict().items()}
    out = []
    for i in range(k):
        snap = {n: rng.normal(size=s).astype(np.float32) for n, s in shapes.items()}
        snap["1.running_var"] = np.abs(snap["1.running_var"]) + 0.5
        snap["1.num_batches_tracked"] = np.array(3 * i + 1, np.int64)
        out.append(snap)
    return out


def _load(model, snap) -> None:
    model.load_state_dict({k: ember.tensor(v) for k, v in snap.items()})


def _averaged_arrays(avg: AveragedModel) -> dict[str, np.ndarray]:
    return {k[len("module."):]: np.asarray(v.array) for k, v in avg.state_dict().items() if k.startswith("module.")}


# ------------------------------------------------------------------ AveragedModel


def test_swa_of_three_snapshots_is_their_mean():
    model = _model()
    avg = AveragedModel(model)
    snaps = _snapshots(3)
    for snap in snaps:
        _load(model, snap)
        avg.update_parameters(model)
    got = _averaged_arrays(avg)
    for name in ("0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"):
        np.testing.assert_allclose(got[name], np.mean([s[name] for s in snaps], axis=0), rtol=1e-6, atol=1e-7,
                                   err_msg=name)
    for name in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):  # buffers: copied, not averaged
        np.testing.assert_array_equal(got[name], snaps[-1][name], err_msg=name)
    assert int(avg.n_averaged.item()) == 3 and avg.n_averaged.dtype == ember.int64


def test_the_copy_is_independent_and_forward_uses_it():
    model = _model()
    avg = AveragedModel(model)
    assert avg.module is not model and avg.module[0].weight is not model[0].weight
    np.testing.assert_array_equal(avg.module[0].weight.array, model[0].weight.array)
    model.eval()
    avg.eval()
    x = ember.tensor(np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32))
    np.testing.assert_array_equal(avg(x).array, model(x).array)
    model[0].weight.array[...] += 1  # training the model does not touch the average until update_parameters
    assert not np.allclose(avg(x).array, model(x).array)
    avg.update_parameters(model)  # the first update copies
    np.testing.assert_array_equal(avg(x).array, model(x).array)


def test_state_dict_layout_and_round_trip():
    model = _model()
    avg = AveragedModel(model)
    for snap in _snapshots(2):
        _load(model, snap)
        avg.update_parameters(model)
    keys = list(avg.state_dict())
    assert keys[0] == "n_averaged" and keys[1:] == ["module." + k for k in model.state_dict()]
    fresh = AveragedModel(_model())
    fresh.load_state_dict(avg.state_dict())
    assert int(fresh.n_averaged.item()) == 2
    for k, v in avg.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[k].array, v.array)
    assert [p is q for p, q in zip(avg.parameters(), avg.module.parameters())] == [True] * 6


@pytest.mark.parametrize("kind", ["multi", "single"])
def test_ema_by_hand(kind):
    model = _model()
    fn = dict(multi_avg_fn=get_ema_multi_avg_fn(0.9)) if kind == "multi" else dict(avg_fn=get_ema_avg_fn(0.9))
    avg = AveragedModel(model, **fn)
    snaps = _snapshots(4)
    expected = None
    for snap in snaps:
        _load(model, snap)
        avg.update_parameters(model)
        w = snap["0.weight"].astype(np.float64)
        expected = w if expected is None else 0.9 * expected + 0.1 * w
    np.testing.assert_allclose(avg.module[0].weight.array, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn", [dict(), dict(multi_avg_fn=get_swa_multi_avg_fn()), dict(avg_fn=get_swa_avg_fn()),
                                dict(multi_avg_fn=get_ema_multi_avg_fn(0.5))])
def test_use_buffers_averages_the_buffers_too(fn):
    model = _model()
    avg = AveragedModel(model, use_buffers=True, **fn)
    snaps = _snapshots(3)
    for snap in snaps:
        _load(model, snap)
        avg.update_parameters(model)
    got = _averaged_arrays(avg)
    if "ema" in str(fn.get("multi_avg_fn")):
        mean = 0.25 * snaps[0]["1.running_mean"] + 0.25 * snaps[1]["1.running_mean"] + 0.5 * snaps[2]["1.running_mean"]
    else:
        mean = np.mean([s["1.running_mean"] for s in snaps], axis=0)
    np.testing.assert_allclose(got["1.running_mean"], mean, rtol=1e-6, atol=1e-7)
    assert got["1.num_batches_tracked"].dtype == np.int64
    assert 1 <= int(got["1.num_batches_tracked"]) <= 7  # averaged counts (1, 4, 7), truncated


def test_custom_avg_fn_and_multi_avg_fn_receive_the_count():
    seen = []

    def avg_fn(averaged, current, n):
        seen.append(int(n.item()))
        return averaged * 0 + current * 2

    model = _model()
    avg = AveragedModel(model, avg_fn=avg_fn)
    for _ in range(3):
        avg.update_parameters(model)
    assert seen == [1] * 6 + [2] * 6  # six parameters; not called for the first (copying) update
    np.testing.assert_allclose(avg.module[3].bias.array, 2 * model[3].bias.array)

    calls = []

    def multi(avg_list, cur_list, n):
        calls.append((len(avg_list), int(n.item())))
        for a, c in zip(avg_list, cur_list):
            a.copy_(c * 3)

    avg = AveragedModel(model, multi_avg_fn=multi)
    avg.update_parameters(model)
    avg.update_parameters(model)
    assert calls == [(6, 1)]
    np.testing.assert_allclose(avg.module[0].weight.array, 3 * model[0].weight.array)


def test_averaged_model_wrong_use():
    with pytest.raises(ValueError, match="not both"):
        AveragedModel(_model(), avg_fn=get_swa_avg_fn(), multi_avg_fn=get_swa_multi_avg_fn())
    with pytest.raises(TypeError, match="ember.nn.Module"):
        AveragedModel([1, 2])
    with pytest.raises(TypeError, match="avg_fn must be callable"):
        AveragedModel(_model(), avg_fn=0.9)
    for bad in (-0.1, 1.5, "0.9"):
        with pytest.raises(ValueError, match="decay"):
            get_ema_multi_avg_fn(bad)
        with pytest.raises(ValueError, match="decay"):
            get_ema_avg_fn(bad)
    avg = AveragedModel(_model())
    untracked = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False), nn.ReLU(),
                              nn.Linear(4, 2))  # the same parameters, no buffers
    with pytest.raises(ValueError, match="buffers"):
        avg.update_parameters(untracked)


def test_imports():
    assert eo.swa_utils is swa_utils and eo.swa_utils.AveragedModel is AveragedModel
    assert set(swa_utils.__all__) == {"AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
                                      "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"}


# ------------------------------------------------------------------ update_bn


def _loader(seed: int = 2, n: int = 4):
    rng = np.random.default_rng(seed)
    return [(rng.normal(2.0, 3.0, size=(6, 3)).astype(np.float32), rng.normal(size=(6, 2)).astype(np.float32))
            for _ in range(n)]


def test_update_bn_gives_the_statistics_of_the_data():
    """Cumulative averages over the batches: the mean of the batch means and of the unbiased batch variances."""
    model = _model()
    bn = model[1]
    bn.running_mean.array[...] = 5.0
    model.eval()
    batches = _loader()
    update_bn([(ember.tensor(x), ember.tensor(y)) for x, y in batches], model)
    with ember.no_grad():
        hidden = [model[0](ember.tensor(x)).array.astype(np.float64) for x, _ in batches]
    np.testing.assert_allclose(bn.running_mean.array, np.mean([h.mean(0) for h in hidden], axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.array, np.mean([h.var(0, ddof=1) for h in hidden], axis=0), rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 4
    assert bn.momentum == 0.1 and not model.training and not bn.training  # put back as they were


def test_update_bn_plain_tensors_device_and_no_batchnorm():
    model = _model()
    update_bn((ember.tensor(x) for x, _ in _loader()), model, device="cpu")
    assert int(model[1].num_batches_tracked.item()) == 4 and model.training
    plain = nn.Sequential(nn.Linear(3, 2))

    def never():
        raise AssertionError("the loader must not be read")
        yield

    update_bn(never(), plain)  # nothing to update


def test_update_bn_puts_the_momentum_back_after_an_error():
    model = _model()

    def broken():
        yield ember.tensor(np.ones((2, 3), np.float32))
        raise RuntimeError("loader failed")

    with pytest.raises(RuntimeError, match="loader failed"):
        update_bn(broken(), model)
    assert model[1].momentum == 0.1


# ------------------------------------------------------------------ SWALR


def _optimizer(lib, groups=1):
    p = [lib.nn.Parameter(lib.tensor(np.zeros(2, np.float32))) for _ in range(groups)]
    if groups == 1:
        return lib.optim.SGD(p, lr=0.5)
    return lib.optim.SGD([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.02}], lr=0.5)


def _swalr_rates(lib, steps=15, groups=1, **options):
    opt = _optimizer(lib, groups)
    sched = lib.optim.swa_utils.SWALR(opt, **options)
    rates = [sched.get_last_lr()]
    for _ in range(steps):
        opt.step()
        sched.step()
        rates.append(sched.get_last_lr())
    return rates, opt


def test_swalr_anneals_to_swa_lr_and_holds():
    rates, opt = _swalr_rates(ember, swa_lr=0.1, anneal_epochs=4, anneal_strategy="linear")
    np.testing.assert_allclose([r[0] for r in rates[:7]], [0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1], rtol=1e-12)
    assert opt.param_groups[0]["swa_lr"] == 0.1
    rates, _ = _swalr_rates(ember, swa_lr=0.1, anneal_epochs=4)
    expected = [0.1 + 0.4 * (1 + np.cos(np.pi * t / 4)) / 2 for t in range(5)]
    np.testing.assert_allclose([r[0] for r in rates[:5]], expected, rtol=1e-12)
    rates, _ = _swalr_rates(ember, swa_lr=0.1, anneal_epochs=0)
    assert [r[0] for r in rates[:3]] == [0.1, 0.1, 0.1]


def test_swalr_state_dict_round_trip():
    opt = _optimizer(ember)
    sched = SWALR(opt, swa_lr=0.05, anneal_epochs=6)
    for _ in range(3):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["_anneal_strategy"] == "cos" and "anneal_func" not in state
    opt2 = _optimizer(ember)
    opt2.load_state_dict(opt.state_dict())
    sched2 = SWALR(opt2, swa_lr=0.05, anneal_epochs=6, anneal_strategy="linear")
    sched2.load_state_dict(state)
    assert sched2.anneal_func is SWALR._cosine_anneal
    for _ in range(4):
        for o, s in ((opt, sched), (opt2, sched2)):
            o.step()
            s.step()
        assert sched.get_last_lr() == sched2.get_last_lr()


@pytest.mark.parametrize("options,match", [
    (dict(swa_lr=0.1, anneal_strategy="step"), "anneal_strategy"),
    (dict(swa_lr=0.1, anneal_epochs=-1), "anneal_epochs"), (dict(swa_lr=0.1, anneal_epochs=2.5), "anneal_epochs"),
    (dict(swa_lr=-0.1), "swa_lr"),
    (dict(swa_lr=[0.1, 0.2]), "one value per parameter group"),
])
def test_swalr_bad_options(options, match):
    opt = _optimizer(ember)
    with pytest.raises(ValueError, match=match):
        SWALR(opt, **options)
    assert "swa_lr" not in opt.param_groups[0]  # nothing was changed


# ------------------------------------------------------------------ parity with PyTorch


def _torch_model(torch, snap=None):
    m = _model(torch.nn)
    if snap is not None:
        m.load_state_dict({k: torch.tensor(v) for k, v in snap.items()})
    return m


@pytest.mark.parametrize("fn_name,kind,use_buffers", [
    ("swa", "default", False), ("ema", "multi", False), ("ema", "single", False), ("ema", "multi", True),
    ("swa", "multi", False), ("swa", "single", True),
])
def test_averages_match_pytorch(torch, fn_name, kind, use_buffers):
    """The same sequence of weights gives the same averaged weights and buffers as PyTorch's AveragedModel."""
    def build(lib_utils):
        if kind == "default":
            return {}
        if fn_name == "ema":
            return dict(multi_avg_fn=lib_utils.get_ema_multi_avg_fn(0.8)) if kind == "multi" else \
                dict(avg_fn=lib_utils.get_ema_avg_fn(0.8))
        return dict(multi_avg_fn=lib_utils.get_swa_multi_avg_fn()) if kind == "multi" else \
            dict(avg_fn=lib_utils.get_swa_avg_fn())

    snaps = _snapshots(5, seed=4)
    model, tmodel = _model(), _torch_model(torch)
    _load(model, snaps[0])
    tmodel.load_state_dict({k: torch.tensor(v) for k, v in snaps[0].items()})
    avg = AveragedModel(model, use_buffers=use_buffers, **build(swa_utils))
    tavg = torch.optim.swa_utils.AveragedModel(tmodel, use_buffers=use_buffers, **build(torch.optim.swa_utils))
    for snap in snaps:
        _load(model, snap)
        tmodel.load_state_dict({k: torch.tensor(v) for k, v in snap.items()})
        avg.update_parameters(model)
        tavg.update_parameters(tmodel)
    mine, theirs = avg.state_dict(), tavg.state_dict()
    assert list(mine) == list(theirs)
    for k, v in theirs.items():
        np.testing.assert_allclose(np.asarray(mine[k].array), v.numpy(), rtol=1e-6, atol=1e-7, err_msg=k)
        assert np.asarray(mine[k].array).dtype == v.numpy().dtype, k
    final = snaps[-1]["0.weight"]
    assert not np.allclose(mine["module.0.weight"].array, final, atol=1e-3), "the average is just the last weights"


@pytest.mark.parametrize("options", [dict(swa_lr=0.05), dict(swa_lr=0.05, anneal_epochs=5, anneal_strategy="linear"),
                                     dict(swa_lr=[0.05, 0.2], anneal_epochs=7), dict(swa_lr=0.3, anneal_epochs=0),
                                     dict(swa_lr=0.01, anneal_epochs=1, anneal_strategy="linear")])
def test_swalr_rates_match_pytorch(torch, options):
    groups = 2 if isinstance(options["swa_lr"], list) else 1
    mine, _ = _swalr_rates(ember, groups=groups, **options)
    theirs, _ = _swalr_rates(torch, groups=groups, **options)
    np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=0)
    swa_lrs = options["swa_lr"] if groups == 2 else [options["swa_lr"]]
    assert len(mine) == 16 and mine[-1] == pytest.approx(swa_lrs, rel=1e-12)  # from 0.5 (and 0.02) to swa_lr


def test_swalr_after_another_schedule_matches_pytorch(torch):
    """SWALR takes over from a cosine schedule mid-training: it anneals from wherever the rate is."""
    def rates(lib):
        opt = _optimizer(lib)
        cosine = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        out = []
        for _ in range(4):
            opt.step()
            cosine.step()
        swa = lib.optim.swa_utils.SWALR(opt, swa_lr=0.02, anneal_epochs=3)
        for _ in range(6):
            opt.step()
            swa.step()
            out.append(opt.param_groups[0]["lr"])
        return out

    np.testing.assert_allclose(rates(ember), rates(torch), rtol=1e-12)


def test_update_bn_matches_pytorch(torch):
    snap = _snapshots(1, seed=5)[0]
    model, tmodel = _model(), _torch_model(torch, snap)
    _load(model, snap)
    batches = _loader(seed=6, n=5)
    update_bn([(ember.tensor(x), ember.tensor(y)) for x, y in batches], model)
    torch.optim.swa_utils.update_bn([(torch.tensor(x), torch.tensor(y)) for x, y in batches], tmodel)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(np.asarray(getattr(model[1], name).array), getattr(tmodel[1], name).numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
    assert not np.allclose(model[1].running_var.array, snap["1.running_var"])
