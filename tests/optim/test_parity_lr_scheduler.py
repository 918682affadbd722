"""Every learning-rate schedule against PyTorch: 50 steps give the same rates, momenta and weights."""
from __future__ import annotations

import numpy as np
import pytest

import ember.optim as eo
import ember.optim.lr_scheduler as ES
from tests.optim import _more_schedules as M
from tests.optim import _problem as P

ALL_SCHEDULES = {**P.SCHEDULES, **M.SCHEDULES}


@pytest.mark.parametrize("name", sorted(ALL_SCHEDULES))
def test_fifty_steps_match_pytorch(torch, name):
    opt_name, build = ALL_SCHEDULES[name]
    arrays, (x, y) = P.initial_arrays(), P.dataset()

    pe = P.ember_params(arrays)
    oe = P.make_optimizer(eo, opt_name, pe)
    se = build(ES, oe)
    ember_record = [P._lrs_and_momenta(oe)]
    P.ember_train(pe, oe, se, range(P.STEPS), x, y, ember_record)

    pt = P.torch_params(torch, arrays)
    ot = P.make_optimizer(torch.optim, opt_name, pt)
    st = build(torch.optim.lr_scheduler, ot)
    torch_record = [P._lrs_and_momenta(ot)]
    P.torch_train(torch, pt, ot, st, range(P.STEPS), x, y, torch_record)

    ours, theirs = np.array(ember_record), np.array(torch_record)
    assert len(np.unique(ours[:, 0])) > 1, "the schedule never changed the rate: the comparison proves nothing"
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0, err_msg=f"{name}: rates/momenta per step")
    np.testing.assert_allclose(se.get_last_lr(), st.get_last_lr(), rtol=1e-12)
    assert getattr(se, "last_epoch", None) == getattr(st, "last_epoch", None)
    for i, (e, t) in enumerate(zip(pe, pt)):
        np.testing.assert_allclose(e.array, t.detach().numpy(), rtol=0, atol=1e-5, err_msg=f"{name}: weight {i}")


@pytest.mark.parametrize("name", ["step", "cosine", "onecycle_cos_sgd", "sequential_warmup_cosine", "plateau",
                                  "cyclic_triangular_sgd", "cyclic_exp_range_adam", "warm_restarts", "constant"])
def test_initial_lr_and_group_entries_match_pytorch(torch, name):
    """Building a schedule leaves the same entries in the parameter groups (initial_lr, max_lr, ...)."""
    opt_name, build = ALL_SCHEDULES[name]
    arrays = P.initial_arrays()
    oe = P.make_optimizer(eo, opt_name, P.ember_params(arrays))
    ot = P.make_optimizer(torch.optim, opt_name, P.torch_params(torch, arrays))
    build(ES, oe)
    build(torch.optim.lr_scheduler, ot)
    for ge, gt in zip(oe.param_groups, ot.param_groups):
        for key in ("lr", "initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum", "momentum"):
            assert (key in ge) == (key in gt), key
            if key in ge:
                assert ge[key] == pytest.approx(gt[key], rel=1e-12), key


def test_warm_restarts_with_fractional_epochs_match_pytorch(torch):
    """Per-batch stepping with ``step(epoch + i / iters)``, then jumps back and forth, as PyTorch's docs show."""
    arrays = P.initial_arrays()
    oe = P.make_optimizer(eo, "sgd_momentum", P.ember_params(arrays))
    ot = P.make_optimizer(torch.optim, "sgd_momentum", P.torch_params(torch, arrays))
    se = ES.CosineAnnealingWarmRestarts(oe, T_0=3, T_mult=2, eta_min=0.001)
    st = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(ot, T_0=3, T_mult=2, eta_min=0.001)
    epochs = [e + i / 4 for e in range(12) for i in range(4)] + [26, 2.5, 40.0, 0]
    ours, theirs = [], []
    for epoch in epochs:
        se.step(epoch)
        st.step(epoch)
        ours.append((se.get_last_lr()[0], se.T_cur, se.T_i, se.last_epoch))
        theirs.append((st.get_last_lr()[0], st.T_cur, st.T_i, st.last_epoch))
    for _ in range(5):  # plain steps go on from the last epoch given
        se.step()
        st.step()
        ours.append((se.get_last_lr()[0], se.T_cur, se.T_i, se.last_epoch))
        theirs.append((st.get_last_lr()[0], st.T_cur, st.T_i, st.last_epoch))
    np.testing.assert_allclose(np.array(ours, dtype=float), np.array(theirs, dtype=float), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(M.SCHEDULES))
def test_step_before_optimizer_step_warns_like_pytorch(torch, name):
    import warnings

    opt_name, build = ALL_SCHEDULES[name]
    arrays = P.initial_arrays()
    caught = []
    for lib, params, sched_lib in ((eo, P.ember_params(arrays), ES),
                                   (torch.optim, P.torch_params(torch, arrays), torch.optim.lr_scheduler)):
        opt = P.make_optimizer(lib, opt_name, params)
        sched = build(sched_lib, opt)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            sched.step()
        caught.append(any("before" in str(x.message) and "optimizer.step" in str(x.message) for x in w))
    assert caught[0] == caught[1]
