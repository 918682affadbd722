"""``python -m benchmarks`` (or ``make bench``): ember vs PyTorch CPU, side by side, as ratios.

For every workload, one process per system is started; timed blocks then
alternate between the two processes (ember, torch, ember, torch, …) so that any
drift of the machine hits both alike. Each block's time per step is recorded;
the median over blocks is reported with the ratio ember/PyTorch, achieved
GFLOP/s and the peak RSS of each process. Every workload runs under two BLAS
settings: the environment as it is, and with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE
unset (OpenBLAS then picks the kernels for the CPU it finds).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks.workloads import WORKLOADS, engine_overhead_us, step_flops

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

# ember time / PyTorch time, to be met with OPENBLAS_CORETYPE unset (see benchmarks/README.md)
REFERENCE = ("W1",)  # workloads also timed as the hand-written NumPy reference (benchmarks/reference.py)
TARGETS = {"W1": 0.7, "W2": 1.5, "W3": 2.0, "W4": 1.0}
RSS_TARGET = {"W3": 1.5}
OVERHEAD_TARGET_US = 10.0


class Worker:
    def __init__(self, system: str, workload: str, env: dict, zoo: bool = False):
        cmd = [sys.executable, "-m", "benchmarks.worker", system, workload] + (["--zoo"] if zoo else [])
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                  cwd=HERE.parent)
        line = self.p.stdout.readline().split()
        if not line or line[0] != "ready":
            err = self.p.communicate(timeout=5)[1] if self.p.poll() is not None else ""
            raise RuntimeError(f"{system} worker for {workload} failed to start: {line} {err}")
        self.warm_s, self.n_params = float(line[1]), int(line[2])

    def run(self, n: int) -> float:
        self.p.stdin.write(f"run {n}\n")
        self.p.stdin.flush()
        return float(self.p.stdout.readline())

    def close(self) -> dict:
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        out = json.loads(self.p.stdout.readline())
        self.p.wait(timeout=30)
        return out


def bench_workload(name: str, env: dict, blocks: int, block_s: float, zoo: bool = False) -> dict:
    w = WORKLOADS[name]
    systems = ("ember", "torch") + (("numpy",) if name in REFERENCE and not zoo else ())
    workers = {s: Worker(s, name, env, zoo) for s in systems}
    steps = {s: max(1, int(block_s / max(wk.warm_s, 1e-4))) for s, wk in workers.items()}
    n = min(steps.values())  # same number of steps per block for all
    times = {s: [] for s in systems}
    for _ in range(blocks):
        for s in systems:
            times[s].append(workers[s].run(n) / n)
    rss = {s: wk.close()["peak_rss_mb"] for s, wk in workers.items()}
    res = {"workload": name, "title": w.title + (" (zoo resnet20)" if zoo else ""), "steps_per_block": n,
           "blocks": blocks, "params": workers["ember"].n_params}
    flops = step_flops(w)
    for s in systems:
        med = statistics.median(times[s])
        res[s] = {"ms_per_step": med * 1e3, "gflops": flops / med / 1e9, "peak_rss_mb": rss[s],
                  "block_ms": [t * 1e3 for t in times[s]]}
        if not w.train:
            res[s]["images_per_s"] = w.batch / med
    res["ratio"] = res["ember"]["ms_per_step"] / res["torch"]["ms_per_step"]
    res["rss_ratio"] = rss["ember"] / rss["torch"]
    if "numpy" in res:
        res["reference_ratio"] = res["numpy"]["ms_per_step"] / res["torch"]["ms_per_step"]
    return res


def blas_info(env: dict) -> dict:
    """The BLAS as an ember worker sees it (after ``import ember`` has set up its threads)."""
    code = ("import json,numpy,ember\nfrom ember.backend import threads\n"
            "try:\n import threadpoolctl; info=threadpoolctl.threadpool_info()\n"
            "except ImportError:\n info=[]\n"
            "print(json.dumps([[{k:i.get(k) for k in ('internal_api','version','num_threads','architecture')}"
            " for i in info], threads.status()]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=HERE.parent)
    try:
        libs, ember_threads = json.loads(out.stdout)
    except (json.JSONDecodeError, ValueError):
        libs, ember_threads = [], None
    return {"OPENBLAS_CORETYPE": env.get("OPENBLAS_CORETYPE"), "libraries": libs, "ember_threads": ember_threads}


def configurations(which: str) -> list[tuple[str, dict]]:
    """'unset': OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE removed (OpenBLAS picks kernels for this CPU);
    'pinned': the environment's own OPENBLAS_CORETYPE, or Haswell (AVX2) when it sets none — the setting
    of the development machine, so the two columns are comparable everywhere."""
    base = dict(os.environ)
    unset = {k: v for k, v in base.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    pinned = dict(base)
    pinned.setdefault("OPENBLAS_CORETYPE", "Haswell")
    confs = []
    if which in ("both", "unset"):
        confs.append(("unset", unset))
    if which in ("both", "pinned"):
        confs.append((f"pinned (OPENBLAS_CORETYPE={pinned['OPENBLAS_CORETYPE']})", pinned))
    return confs


def markdown(result: dict) -> str:
    lines = [f"Run {result['date']} on `{result['host']}` ({result['machine']}), Python {result['python']}, "
             f"ember {result['ember']}, torch {result['torch']}.", ""]
    lines.append(f"Engine overhead (1,000-op chain of 4×4 tensors, forward + backward): "
                 f"**{result['engine_overhead_us']:.2f} µs/op** (target < {OVERHEAD_TARGET_US:.0f}).")
    lines.append("")
    for conf in result["configurations"]:
        lines.append(f"### BLAS: {conf['label']}")
        libs = ", ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} ×{i.get('num_threads')}"
                         for i in conf["blas"]["libraries"]) or "threadpoolctl not installed"
        lines.append(f"numpy BLAS: {libs}")
        et = conf["blas"].get("ember_threads")
        if et:
            lines.append(f"ember threads: {et['threads']} ({et['reason']})")
        lines.append("")
        lines.append("| workload | ember ms | torch ms | ratio | target | ember GFLOP/s | torch GFLOP/s | "
                     "ember RSS MB | torch RSS MB |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in conf["results"]:
            e, t = r["ember"], r["torch"]
            target = TARGETS.get(r["workload"])
            extra = f" ({e['images_per_s']:.0f} vs {t['images_per_s']:.0f} img/s)" if "images_per_s" in e else ""
            lines.append(f"| {r['workload']}: {r['title']}{extra} | {e['ms_per_step']:.2f} | {t['ms_per_step']:.2f} | "
                         f"**{r['ratio']:.2f}** | ≤ {target} | {e['gflops']:.1f} | {t['gflops']:.1f} | "
                         f"{e['peak_rss_mb']:.0f} | {t['peak_rss_mb']:.0f} |")
        lines.append("")
        for r in conf["results"]:
            if "numpy" in r:
                lines.append(f"{r['workload']}, hand-written NumPy reference (`benchmarks/reference.py`, fused, BLAS "
                             f"threads): {r['numpy']['ms_per_step']:.2f} ms, **{r['reference_ratio']:.2f}** × PyTorch "
                             f"in the same blocks (a floor for ember's ratio).")
                lines.append("")
    return "\n".join(lines)


def check(result: dict) -> list[str]:
    """Targets missed in the 'unset' configuration (where they are defined)."""
    missed = []
    if result["engine_overhead_us"] > OVERHEAD_TARGET_US:
        missed.append(f"engine overhead {result['engine_overhead_us']:.2f} µs/op > {OVERHEAD_TARGET_US}")
    for conf in result["configurations"]:
        if conf["label"] != "unset":
            continue
        for r in conf["results"]:
            t = TARGETS.get(r["workload"])
            if t is not None and r["ratio"] > t:
                missed.append(f"{r['workload']} ratio {r['ratio']:.2f} > {t}")
            rt = RSS_TARGET.get(r["workload"])
            if rt is not None and r["rss_ratio"] > rt:
                missed.append(f"{r['workload']} RSS ratio {r['rss_ratio']:.2f} > {rt}")
    return missed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workloads", default="W1,W2,W3,W4", help="comma-separated subset of " + ",".join(WORKLOADS))
    ap.add_argument("--blocks", type=int, default=7, help="timed blocks per system (median reported)")
    ap.add_argument("--block-seconds", type=float, default=1.0, help="approximate length of one block")
    ap.add_argument("--blas", choices=["both", "unset", "pinned"], default="both",
                    help="which OPENBLAS_CORETYPE settings to run under")
    ap.add_argument("--zoo", action="store_true", help="also run W3 with the zoo's resnet20")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--no-save", action="store_true", help="do not write results/ and README table")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    bad = [n for n in names if n not in WORKLOADS]
    if bad:
        ap.error(f"unknown workload(s) {bad}; valid: {', '.join(WORKLOADS)}")

    import numpy
    import torch

    import ember

    result = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"), "host": socket.gethostname(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
        "numpy": numpy.__version__, "ember": ember.__version__, "torch": torch.__version__,
        "engine_overhead_us": engine_overhead_us(), "configurations": [],
    }
    for label, env in configurations(args.blas):
        conf = {"label": label, "blas": blas_info(env), "results": []}
        for n in names:
            print(f"[{label}] {n}: {WORKLOADS[n].title} ...", flush=True)
            r = bench_workload(n, env, args.blocks, args.block_seconds)
            conf["results"].append(r)
            print(f"    ember {r['ember']['ms_per_step']:.2f} ms  torch {r['torch']['ms_per_step']:.2f} ms  "
                  f"ratio {r['ratio']:.2f}  RSS {r['ember']['peak_rss_mb']:.0f}/{r['torch']['peak_rss_mb']:.0f} MB"
                  + (f"  reference ratio {r['reference_ratio']:.2f}" if "numpy" in r else ""), flush=True)
            if n == "W3" and args.zoo:
                r = bench_workload(n, env, args.blocks, args.block_seconds, zoo=True)
                conf["results"].append(r)
                print(f"    zoo resnet20: ratio {r['ratio']:.2f}", flush=True)
        result["configurations"].append(conf)
    table = markdown(result)
    print()
    print(table)
    if not args.no_save:
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"{_dt.date.today().isoformat()}-{result['host']}.json"
        path.write_text(json.dumps(result, indent=1))
        readme = HERE / "README.md"
        text = readme.read_text() if readme.exists() else ""
        start, end = "<!-- results:start -->", "<!-- results:end -->"
        if start in text and end in text:
            text = text[: text.index(start) + len(start)] + "\n" + table + "\n" + text[text.index(end):]
            readme.write_text(text)
        print(f"\nresults written to {path}")
    missed = check(result)
    if missed:
        print("targets missed:\n  " + "\n  ".join(missed))
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
