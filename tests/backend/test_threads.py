"""ember's thread pool: same results as one thread, the caller's error settings, no nested waits, and the
start-up policy (a user's BLAS thread setting is kept as it is)."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from ember.backend import threads


@pytest.fixture
def pool(monkeypatch):
    before = threads.get_num_threads()
    threads.set_num_threads(3)
    yield
    threads.set_num_threads(before)


def test_map_chunks_runs_every_chunk_once_in_order_across_threads(pool):
    seen = []

    def fn(s, e):
        seen.append(threading.get_ident())
        return list(range(s, e))

    chunks = [(i, i + 2) for i in range(0, 40, 2)]
    assert threads.map_chunks(fn, chunks) == [list(range(s, e)) for s, e in chunks]
    assert len(seen) == len(chunks)


def test_a_chunk_that_uses_the_pool_again_runs_inline_instead_of_waiting_on_it(pool):
    def inner(s, e):
        return sum(threads.map_chunks(lambda a, b: b - a, [(0, 1), (1, 3)]))

    assert threads.map_chunks(inner, [(0, 1)] * 6) == [3] * 6


@pytest.mark.parametrize("shape", [(200, 300, 150), (40, 700, 300), (300, 64, 20)])
def test_split_matmul_equals_the_product(shape, pool):
    m, k, n = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k)), rng.standard_normal((n, k)).T  # a transposed view, as Linear passes
    np.testing.assert_allclose(threads.matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(threads.matmul(b.T, a.T), b.T @ a.T, rtol=1e-12, atol=1e-12)


def test_tasks_see_the_callers_floating_point_error_settings(pool):
    big = np.full((2, 2), 1e38, np.float32)

    def overflow(s, e):
        return big * big

    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            threads.map_chunks(overflow, [(0, 1), (1, 2), (2, 3)])
    with np.errstate(over="ignore"):
        assert all(np.isinf(r).all() for r in threads.map_chunks(overflow, [(0, 1), (1, 2), (2, 3)]))


def test_set_num_threads_validates_its_argument():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="positive integer"):
            threads.set_num_threads(bad)


def test_bad_environment_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("EMBER_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="EMBER_NUM_THREADS"):
        threads._configure()


def _startup(env_extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in threads.BLAS_ENV_VARS + ("EMBER_NUM_THREADS",)}
    env.update(env_extra)
    code = "import json, ember; from ember.backend import threads; print(json.dumps(threads.status()))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_default_start_up_uses_the_cores_with_a_single_threaded_blas():
    s = _startup({})
    assert s["threads"] == min(threads._usable_cores(), threads.MAX_DEFAULT_THREADS)
    if s["threads"] > 1 and s["blas_threads"] is not None:
        assert s["blas_threads"] == 1


def test_a_users_blas_thread_setting_is_kept_and_ember_adds_no_threads():
    s = _startup({"OPENBLAS_NUM_THREADS": "2"})
    assert s["threads"] == 1 and "OPENBLAS_NUM_THREADS=2" in s["reason"]
    if s["blas_threads"] is not None:
        assert s["blas_threads"] == min(2, os.cpu_count())


def test_ember_num_threads_sets_the_pool():
    s = _startup({"EMBER_NUM_THREADS": "3"})
    assert s["threads"] == 3 and s["reason"] == "EMBER_NUM_THREADS=3"


def test_parallel_returns_each_result_in_order(pool):
    assert threads.parallel(lambda: 1, lambda: "two", lambda: [3]) == [1, "two", [3]]
    threads.set_num_threads(1)
    assert threads.parallel(lambda: 1, lambda: 2) == [1, 2]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_a_pool_of_its_own(pool):
    threads.map_chunks(lambda s, e: time.sleep(0.05), [(0, 1)] * 6)  # the parent's workers exist, now idle
    pid = os.fork()
    if pid == 0:  # child: the inherited pool has no threads; using it must not hang
        ok = threads.map_chunks(lambda s, e: e - s, [(0, 1), (1, 3), (3, 6)]) == [1, 2, 3]
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung on the parent's thread pool")
        time.sleep(0.01)
    assert os.WEXITSTATUS(done[1]) == 0


def test_ember_num_threads_never_overrides_a_users_blas_setting():
    s = _startup({"EMBER_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "3"})
    assert s["threads"] == 2 and "OPENBLAS_NUM_THREADS=3 kept" in s["reason"]
    if s["blas_threads"] is not None:
        assert s["blas_threads"] == min(3, os.cpu_count())  # OpenBLAS caps it at the cores it sees


def test_one_ember_thread_means_a_single_threaded_blas_too():
    s = _startup({"EMBER_NUM_THREADS": "1"})
    assert s["threads"] == 1
    if s["blas_threads"] is not None:
        assert s["blas_threads"] == 1
