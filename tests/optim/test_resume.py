"""Save mid-run, resume in a NEW PROCESS, and land on bit-identical weights (every optimizer and schedule).

The checkpoint is plain npz + JSON written by the test itself (no ember
serializer, no pickle), so this also proves that the state_dicts are plain data:
JSON turns the integer parameter indices into strings and tuples into lists, and
loading must cope with both.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

import ember.optim as eo
from ember.optim import lr_scheduler as S
from tests.optim import _problem as P

ROOT = Path(__file__).resolve().parents[2]
SPLIT = 23  # an odd point: inside warm-ups, between StepLR drops, mid-way through Adagrad's reset period


def _build(kind: str, config: str, params):
    if kind == "schedule":
        opt_name, build = P.SCHEDULES[config]
        opt = P.make_optimizer(eo, opt_name, params)
        return opt, build(S, opt)
    if kind == "optimizer":
        return P.make_optimizer(eo, config, params), None
    return eo.Adagrad(params, lr=0.1, reset_every=7), None  # kind "adagrad_reset"


def test_resume_in_a_new_process_is_bit_identical(tmp_path):
    jobs = [("optimizer", c) for c in sorted(P.OPTIMIZERS)] + [("schedule", c) for c in sorted(P.SCHEDULES)]
    jobs.append(("adagrad_reset", "adagrad_reset_every_7"))
    arrays, (x, y) = P.initial_arrays(), P.dataset()
    expected, listed = {}, []
    for kind, config in jobs:
        name = f"{kind}-{config}"
        params = P.ember_params(arrays)
        opt, sched = _build(kind, config, params)
        P.ember_train(params, opt, sched, range(P.STEPS), x, y)
        expected[name] = [p.array.copy() for p in params]

        params = P.ember_params(arrays)
        opt, sched = _build(kind, config, params)
        P.ember_train(params, opt, sched, range(SPLIT), x, y)
        state = {"weights": [p.array for p in params], "optimizer": opt.state_dict()}
        if sched is not None:
            state["schedule"] = sched.state_dict()
        P.save_checkpoint(tmp_path / f"{name}.npz", state)
        listed.append({"name": name, "kind": kind, "config": config, "start": SPLIT, "stop": P.STEPS})
    (tmp_path / "jobs.json").write_text(json.dumps(listed))

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-m", "tests.optim._resume_worker", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]

    for name, weights in expected.items():
        with np.load(tmp_path / f"{name}.final.npz") as f:
            resumed = [f[f"arr_{i}"] for i in range(len(weights))]
        for i, (a, b) in enumerate(zip(weights, resumed)):
            assert a.dtype == b.dtype
            assert np.array_equal(a, b), f"{name}: weight {i} differs after resuming (max {np.abs(a - b).max()})"
        assert not np.array_equal(weights[0], arrays[0])
