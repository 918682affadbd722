"""Both cores for memory-bound copies.

NumPy runs a large array copy on one core (only BLAS calls are threaded), and
im2col is one large copy. NumPy releases the GIL while it copies, so splitting
a copy into slabs along its first axis and handing them to a small thread pool
runs them in parallel. ``EMBER_NUM_THREADS`` sets the pool size. The default is
1 (no pool): measured on the 2-core development machine, im2col copies are
memory-bound and a second copy thread did not speed up ResNet-20 (624 vs 717 ms
per step), while on a busy machine extra threads competing with OpenBLAS's made
steps several times slower. Try ``EMBER_NUM_THREADS=2`` on machines with more
memory bandwidth per core.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

MIN_ELEMENTS = 1 << 18  # below this a thread hand-off costs more than it saves

_pool: ThreadPoolExecutor | None = None


def num_threads() -> int:
    env = os.environ.get("EMBER_NUM_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ValueError(f"EMBER_NUM_THREADS must be an integer, got {env!r}") from None
    return 1


def _get_pool() -> ThreadPoolExecutor | None:
    global _pool
    n = num_threads()
    if n <= 1:
        return None
    if _pool is None or _pool._max_workers != n:
        _pool = ThreadPoolExecutor(max_workers=n, thread_name_prefix="ember-copy")
    return _pool


def copyto(dst: np.ndarray, src: np.ndarray) -> None:
    """``np.copyto(dst, src)`` split along axis 0 over the thread pool when large."""
    pool = _get_pool() if dst.size >= MIN_ELEMENTS and dst.shape[0] > 1 else None
    if pool is None:
        np.copyto(dst, src)
        return
    n = pool._max_workers
    bounds = np.linspace(0, dst.shape[0], min(n, dst.shape[0]) + 1).astype(int)
    futures = [pool.submit(np.copyto, dst[a:b], src[a:b]) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    for f in futures:
        f.result()


def ascontiguous(a: np.ndarray) -> np.ndarray:
    out = np.empty(a.shape, dtype=a.dtype)
    copyto(out, a)
    return out
