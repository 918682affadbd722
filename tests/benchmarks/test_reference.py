"""The hand-written NumPy reference of W1 takes the same training steps as ember's W1 (same weights, batch
and update), so its time is a fair floor for ember's."""
from __future__ import annotations

import numpy as np


def test_reference_steps_match_embers_w1():
    from benchmarks.reference import build as build_reference
    from benchmarks.workloads import build

    ref_step, ref_params = build_reference()
    ember_step, ember_params = build("ember", "W1")
    assert ref_params == ember_params
    ref = [ref_step() for _ in range(4)]
    got = [float(ember_step().item()) for _ in range(4)]
    np.testing.assert_allclose(ref, got, rtol=1e-5)
    assert ref[-1] < ref[0]  # it trains: the loss falls step by step


def test_table_reports_the_reference_beside_the_ratio():
    from benchmarks.__main__ import check, markdown

    def timing(ms):
        return {"ms_per_step": ms, "gflops": 1.0, "peak_rss_mb": 50.0}

    row = {"workload": "W1", "title": "MLP", "ember": timing(4.0), "torch": timing(3.5), "numpy": timing(3.2),
           "ratio": 4.0 / 3.5, "rss_ratio": 0.2, "reference_ratio": 3.2 / 3.5}
    result = {"date": "d", "host": "h", "machine": "m", "python": "3", "ember": "0", "torch": "2",
              "engine_overhead_us": 4.0,
              "configurations": [{"label": "unset", "blas": {"libraries": []}, "results": [row]}]}
    table = markdown(result)
    assert "3.20 ms, **0.91** × PyTorch" in table
    assert check(result) == ["W1 ratio 1.14 > 0.7"]  # the target is still ember's own ratio
