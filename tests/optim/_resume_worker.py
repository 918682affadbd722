"""Worker for test_resume.py: in a fresh process, load mid-run checkpoints and finish each run.

Usage: ``python -m tests.optim._resume_worker DIR`` (from the repository root).
``DIR/jobs.json`` lists ``{"name", "kind", "start", "stop"}`` jobs; each job's
checkpoint ``DIR/<name>.npz`` holds the weights and the optimizer's (and
schedule's) state_dict. The worker rebuilds the optimizer and schedule from the
named configuration, loads the states, runs steps ``start..stop-1`` and writes
the final weights to ``DIR/<name>.final.npz``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import ember.optim as eo
from ember.optim import lr_scheduler as S
from tests.optim import _problem as P


def resume(directory: Path) -> None:
    x, y = P.dataset()
    for job in json.loads((directory / "jobs.json").read_text()):
        ck = P.load_checkpoint(directory / f"{job['name']}.npz")
        params = P.ember_params(ck["weights"])
        sched = None
        if job["kind"] == "schedule":
            opt_name, build = P.SCHEDULES[job["config"]]
            opt = P.make_optimizer(eo, opt_name, params)
            sched = build(S, opt)
        else:
            opt = P.make_optimizer(eo, job["config"], params) if job["kind"] == "optimizer" else \
                eo.Adagrad(params, lr=0.1, reset_every=7)
        opt.load_state_dict(ck["optimizer"])
        if sched is not None:
            sched.load_state_dict(ck["schedule"])
        P.ember_train(params, opt, sched, range(job["start"], job["stop"]), x, y)
        np.savez(directory / f"{job['name']}.final.npz", *[p.array for p in params])


if __name__ == "__main__":
    resume(Path(sys.argv[1]))
