"""ember's own threads: chunks of convolution work and large matrix products spread over a small pool.

Why not let the BLAS thread itself? Measured on the 2-core development machine:
- OpenBLAS's worker threads busy-wait for work. When another process takes one of the cores, the
  spinning workers and the Python thread share the other one: a LeNet-5 training step went from
  15 to 42 ms (and an MLP step from 3.7 to 8.3 ms), where one BLAS thread stayed at 14.5 ms.
- Only the GEMMs were threaded; im2col copies, col2im adds and the rest of a conv ran on one core.

So ember runs the BLAS single-threaded and splits the work itself: the convolution kernels hand
cache-sized chunks of images to ``map_chunks`` (copy + GEMM per chunk, in parallel: NumPy and the
BLAS release the GIL), and ``matmul`` splits a large product into column (or row) blocks. Idle pool
threads sleep, so a busy machine slows ember down in proportion instead of collapsing. On the same
machine ResNet-20 went from 300–600 ms (bimodal, with the load) to 280–290 ms per step.

Settings, in order:
- ``EMBER_NUM_THREADS=n`` (or ``ember.set_num_threads(n)``): ember uses n threads;
- otherwise, when the user set ``OPENBLAS_NUM_THREADS``/``OMP_NUM_THREADS``/``MKL_NUM_THREADS``, ember adds
  no threads of its own;
- otherwise ember uses the usable cores (at most ``MAX_DEFAULT_THREADS``).
The BLAS gets one thread, unless the user set one of those variables: that choice is never overridden
(``ember info`` reports what is in effect).
"""
from __future__ import annotations

import ctypes
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MAX_DEFAULT_THREADS = 8
BLAS_ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
MIN_SPLIT_FLOPS = 4e6  # below this a hand-off to the pool costs more than the second core saves

_pool: ThreadPoolExecutor | None = None
_size: int | None = None  # None: not configured yet
_reason = ""
_worker = threading.local()  # .busy is set inside pool tasks: they never wait on the pool themselves


# ----------------------------------------------------------------------------- BLAS threads


def blas_thread_setters() -> list:
    """(get, set) pairs for every OpenBLAS loaded in this process (NumPy's and SciPy's may be two
    different copies), found through /proc/self/maps; empty where there is none or no /proc."""
    try:
        with open("/proc/self/maps") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
    except OSError:
        return []
    found = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("openblas", ""), ("scipy_openblas", "64_"), ("scipy_openblas", "_64"),
                               ("scipy_openblas", "")):
            try:
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}")
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}")
            except AttributeError:
                continue
            get.restype = ctypes.c_int
            put.argtypes = [ctypes.c_int]
            found.append((get, put))
            break
    return found


def blas_num_threads() -> int | None:
    """Threads of the (first) OpenBLAS in this process, or None when none is found."""
    setters = blas_thread_setters()
    return int(setters[0][0]()) if setters else None


def set_blas_threads(n: int) -> None:
    for _, put in blas_thread_setters():
        put(int(n))


# ----------------------------------------------------------------------------- the pool


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _env_threads() -> int | None:
    env = os.environ.get("EMBER_NUM_THREADS")
    if not env:
        return None
    try:
        n = int(env)
    except ValueError:
        raise ValueError(f"EMBER_NUM_THREADS must be a positive integer, got {env!r}") from None
    if n < 1:
        raise ValueError(f"EMBER_NUM_THREADS must be a positive integer, got {env!r}")
    return n


def _user_blas_setting() -> str | None:
    """``NAME=value`` of the first BLAS thread variable the user set, else None."""
    for k in BLAS_ENV_VARS:
        if os.environ.get(k):
            return f"{k}={os.environ[k]}"
    return None


def _configure() -> None:
    n, user_blas = _env_threads(), _user_blas_setting()
    if n is not None:
        _apply(n, f"EMBER_NUM_THREADS={n}")
    elif user_blas:
        _apply(1, "no pool of ember's own")
    else:
        _apply(min(_usable_cores(), MAX_DEFAULT_THREADS), "default: the usable cores, BLAS single-threaded")


def _apply(n: int, reason: str) -> None:
    """Use a pool of n threads; the BLAS gets one thread (one layer of threads, not two) unless the user set
    its thread count, which ember never overrides."""
    global _pool, _size, _reason
    if _pool is not None and _size != n:
        _pool.shutdown(wait=True)
        _pool = None
    user_blas = _user_blas_setting()
    _size, _reason = n, reason + (f" ({user_blas} kept)" if user_blas else "")
    if user_blas is None:
        set_blas_threads(1)


def set_num_threads(n: int) -> None:
    """Use ``n`` threads for ember's kernels (like ``torch.set_num_threads``); the BLAS runs one thread
    inside each (unless you set its thread count yourself). ``n=1`` runs everything on the calling thread."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads expects a positive integer, got {n!r}")
    _apply(int(n), f"set_num_threads({int(n)})")


def get_num_threads() -> int:
    if _size is None:
        _configure()
    return _size


def status() -> dict:
    """What ``ember info`` prints: the pool, the BLAS threads and why."""
    return {"threads": get_num_threads(), "blas_threads": blas_num_threads(), "reason": _reason}


def _get_pool() -> ThreadPoolExecutor | None:
    global _pool
    if get_num_threads() <= 1 or getattr(_worker, "busy", False):
        return None
    if _pool is None:  # made on first use, and again in a forked child (which inherits no threads)
        _pool = ThreadPoolExecutor(max_workers=_size - 1, thread_name_prefix="ember")  # the caller is the n-th
    return _pool


def _forget_pool_after_fork() -> None:
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


def _as_worker(err: dict, fn, *args):
    """Run a task as the caller would: its floating-point error settings (``np.errstate`` is per thread)
    and no nested use of the pool."""
    _worker.busy = True
    try:
        with np.errstate(**err):
            return fn(*args)
    finally:
        _worker.busy = False


def _run_all(fn, args: list) -> list:
    """``[fn(*a) for a in args]`` with the calling thread and the pool's workers taking the next undone
    task until none is left (a busy core just takes fewer tasks). Results come back in order."""
    pool = _get_pool() if len(args) > 1 else None
    if pool is None:
        return [fn(*a) for a in args]
    results = [None] * len(args)
    todo = itertools.count()  # next() is atomic under the GIL

    def drain():
        for i in todo:
            if i >= len(args):
                return
            results[i] = fn(*args[i])

    err = np.geterr()
    helpers = [pool.submit(_as_worker, err, drain) for _ in range(min(_size, len(args)) - 1)]
    error = None
    try:
        _as_worker(err, drain)
    except BaseException as e:  # wait for the helpers before raising: they write into the same outputs
        error = e
    for f in helpers:
        error = error or f.exception()
    if error is not None:
        raise error
    return results


def split(n: int, bytes_per_item: int, budget: int) -> list[tuple[int, int]]:
    """(start, stop) ranges over n items, each range about ``budget`` bytes (at least one item)."""
    step = max(1, budget // max(bytes_per_item, 1))
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def map_chunks(fn, chunks: list) -> list:
    """``[fn(s, e) for s, e in chunks]``, the chunks spread over the calling thread and the pool (NumPy and
    the BLAS release the GIL, so they run in parallel). A chunk must write only its own part of an output."""
    return _run_all(fn, chunks)


def parallel(*thunks) -> list:
    """Run independent zero-argument functions at the same time (the caller takes one); their results in
    order. Used for pairs of products that do not depend on each other, such as a layer's dx and dW:
    two whole single-threaded GEMMs side by side ran as fast as one threaded BLAS doing them in turn
    (1.07 ms for MLP-784-512's pair), where splitting each product in two took 1.3 ms."""
    return _run_all(_call, [(f,) for f in thunks])


def _call(f):
    return f()


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` (into ``out`` if given); a product of 2-D arrays large enough to pay for the hand-off is
    split into column blocks of b (or row blocks of a, whichever side is longer) over the threads."""
    if a.ndim != 2 or b.ndim != 2 or _get_pool() is None:
        return np.matmul(a, b, out=out)
    m, k = a.shape
    n = b.shape[1]
    if 2.0 * m * n * k < MIN_SPLIT_FLOPS or max(m, n) < 64:
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))
    length = max(m, n)
    parts = min(_size, length // 32)
    edges = [length * i // parts for i in range(parts + 1)]  # integer arithmetic: np.linspace cost 20 µs
    if n >= m:
        tasks = [(a, b[:, s:e], out[:, s:e]) for s, e in zip(edges[:-1], edges[1:])]
    else:
        tasks = [(a[s:e], b, out[s:e]) for s, e in zip(edges[:-1], edges[1:])]
    _run_all(_matmul_into, tasks)
    return out


def _matmul_into(a, b, out):
    np.matmul(a, b, out=out)
