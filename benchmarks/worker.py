"""One benchmark process: builds a workload in one framework, then runs timed blocks on request.

Protocol on stdin/stdout (one line each): the worker prints ``ready <warmup_s>``;
``run N`` → runs N steps and prints the elapsed seconds; ``quit`` → prints a JSON
line with the process's peak RSS and exits.
"""
from __future__ import annotations

import json
import resource
import sys
import time


def main() -> None:
    system, name = sys.argv[1], sys.argv[2]
    zoo = "--zoo" in sys.argv
    if system == "torch":
        import torch

        torch.set_num_threads(int(__import__("os").environ.get("BENCH_THREADS", "2")))
    if system == "numpy":  # the hand-written reference (W1 only); it never imports ember
        from benchmarks.reference import build as build_reference

        step, n_params = build_reference()
    else:
        from benchmarks.workloads import build

        step, n_params = build(system, name, zoo=zoo)
    t0 = time.perf_counter()
    for _ in range(3):
        step()
    warm = (time.perf_counter() - t0) / 3
    print(f"ready {warm:.6f} {n_params}", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "run":
            n = int(cmd[1])
            t0 = time.perf_counter()
            for _ in range(n):
                step()
            print(f"{time.perf_counter() - t0:.6f}", flush=True)
        elif cmd[0] == "quit":
            print(json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)
            return


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` across
    ``exec``, so a worker started by a large parent (the harness imports PyTorch) would report at least the
    parent's size — every small ember workload read 224 MB that way."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
