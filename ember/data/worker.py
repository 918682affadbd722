"""``get_worker_info()``: which loader worker is running this code (PyTorch's, for threads).

ember's DataLoader workers are threads of one process, not processes: they share the dataset
object (no copy per worker) and ember's global generator. ``worker_init_fn(worker_id)`` runs
once in each, and code inside ``dataset[i]`` can ask :func:`get_worker_info` for the id.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

_local = threading.local()


@dataclass(frozen=True)
class WorkerInfo:
    """What a worker knows about itself: ``id`` in ``0..num_workers-1``, its ``seed`` and the ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


def get_worker_info() -> WorkerInfo | None:
    """The calling worker's :class:`WorkerInfo`; None outside the loader's workers (in the main thread)."""
    return getattr(_local, "info", None)


def _enter_worker(info: WorkerInfo, worker_init_fn) -> None:
    _local.info = info
    if worker_init_fn is not None:
        worker_init_fn(info.id)
