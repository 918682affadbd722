"""What ``ember info`` reports: versions, NumPy's BLAS, its core type and thread count, the CPU.

The BLAS is asked directly: through threadpoolctl when it is installed, otherwise through the
OpenBLAS library NumPy has loaded (its ``openblas_get_corename`` / ``openblas_get_num_threads``
functions, found via ctypes), falling back to ``numpy.show_config``. When ``OPENBLAS_CORETYPE``
is set to kernels older than the CPU supports, the report says so — ember never changes it.
"""
from __future__ import annotations

import ctypes
import importlib.metadata as md
import os
import platform

import numpy as np

# OpenBLAS core types by the instruction-set tier their kernels use (higher is newer/faster)
_TIERS = {
    "sapphirerapids": 5, "cooperlake": 4, "skylakex": 4,
    "haswell": 3, "zen": 3, "skylake": 3,
    "sandybridge": 2, "bulldozer": 2, "piledriver": 2, "steamroller": 2, "excavator": 2,
    "nehalem": 1, "core2": 1, "penryn": 1, "dunnington": 1, "barcelona": 1, "atom": 1, "prescott": 0,
}
_TIER_NAMES = {5: "AVX-512 with AMX/BF16 (SapphireRapids)", 4: "AVX-512 (SkylakeX)", 3: "AVX2/FMA (Haswell)",
               2: "AVX (Sandybridge)", 1: "SSE4 (Nehalem)", 0: "SSE3 (Prescott)"}


def cpu_info() -> dict:
    info = {"machine": platform.machine(), "logical_cpus": os.cpu_count(), "model": platform.processor() or None,
            "flags": set()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not info.get("model_name"):
                    info["model_name"] = value.strip()
                elif key == "flags" and not info["flags"]:
                    info["flags"] = set(value.split())
    except OSError:
        pass
    if hasattr(os, "sched_getaffinity"):
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    return info


def cpu_tier(flags: set) -> int | None:
    if not flags:
        return None
    if "avx512f" in flags:
        return 5 if ("amx_tile" in flags or "amx_bf16" in flags) else 4
    if "avx2" in flags and "fma" in flags:
        return 3
    if "avx" in flags:
        return 2
    if "sse4_2" in flags:
        return 1
    return 0


def _loaded_openblas() -> list[str]:
    paths = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1] if line.strip() else ""
                if "openblas" in os.path.basename(p).lower() and p not in paths:
                    paths.append(p)
    except OSError:
        pass
    return paths


def _call(lib, names, restype):
    for name in names:
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = restype
            fn.argtypes = []
            return fn()
    return None


def blas_info() -> dict:
    """Which BLAS NumPy uses, its version, core type (the kernels it runs) and thread count."""
    out: dict = {"source": None}
    try:
        import threadpoolctl  # optional

        for lib in threadpoolctl.threadpool_info():
            if lib.get("user_api") == "blas":
                out.update(source="threadpoolctl", name=lib.get("internal_api"), version=lib.get("version"),
                           core_type=lib.get("architecture"), threads=lib.get("num_threads"),
                           library=lib.get("filepath"))
                return out
    except ImportError:
        pass
    for path in _loaded_openblas():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        core = _call(lib, ("scipy_openblas_get_corename64_", "openblas_get_corename64_", "openblas_get_corename"),
                     ctypes.c_char_p)
        threads = _call(lib, ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                              "openblas_get_num_threads"), ctypes.c_int)
        config = _call(lib, ("scipy_openblas_get_config64_", "openblas_get_config64_", "openblas_get_config"),
                       ctypes.c_char_p)
        if core is not None or threads is not None:
            out.update(source="openblas (ctypes)", name="openblas", library=path,
                       core_type=core.decode() if isinstance(core, bytes) else core, threads=threads,
                       config=config.decode() if isinstance(config, bytes) else config)
            break
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        out.setdefault("name", blas.get("name"))
        out["version"] = out.get("version") or blas.get("version")
        out["build_config"] = blas.get("openblas configuration")
        out["simd_found"] = cfg.get("SIMD Extensions", {}).get("found")
        if out["source"] is None:
            out["source"] = "numpy.show_config"
    except Exception:  # older NumPy without mode="dicts"
        pass
    return out


def coretype_note(blas: dict, cpu: dict) -> str | None:
    """A warning when OPENBLAS_CORETYPE pins kernels older than the CPU supports, else None."""
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    if not pinned:
        return None
    have = cpu_tier(cpu.get("flags") or set())
    want = _TIERS.get(pinned.strip().lower())
    if have is None or want is None:
        return (f"OPENBLAS_CORETYPE={pinned} is set; OpenBLAS uses those kernels instead of choosing for this CPU "
                "(ember leaves it as it is)")
    if want < have:
        return (f"OPENBLAS_CORETYPE={pinned} pins {_TIER_NAMES[want]} kernels, but this CPU supports "
                f"{_TIER_NAMES[have]}; matrix products (and so convolutions) may be slower than they could be. "
                "Unset it to let OpenBLAS choose (ember never overrides your setting).")
    return None


def versions() -> dict:
    out = {}
    for dist in ("ember", "numpy", "scipy", "matplotlib", "rich", "pillow", "pyyaml", "optuna", "threadpoolctl",
                 "torch"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            out[dist] = None
    return out


def report() -> str:
    import ember

    v = versions()
    cpu = cpu_info()
    blas = blas_info()
    lines = [f"ember {ember.__version__}  ({os.path.dirname(ember.__file__)})",
             f"python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}"]
    libs = ", ".join(f"{k} {val}" for k, val in v.items() if k != "ember" and val)
    missing = [k for k in ("threadpoolctl",) if not v.get(k)]
    lines.append(f"packages: {libs}" + (f" (not installed: {', '.join(missing)})" if missing else ""))
    usable = cpu.get("usable_cpus")
    lines.append(f"cpu: {cpu.get('model_name') or cpu.get('model') or cpu['machine']}, {cpu['logical_cpus']} logical "
                 f"cpus" + (f" ({usable} usable by this process)" if usable and usable != cpu["logical_cpus"] else ""))
    tier = cpu_tier(cpu.get("flags") or set())
    if tier is not None:
        lines.append(f"cpu vector extensions: best BLAS kernels {_TIER_NAMES[tier]}")
    name = blas.get("name") or "unknown"
    lines.append(f"numpy BLAS: {name} {blas.get('version') or ''}".rstrip() + f"  (asked via {blas.get('source')})")
    if blas.get("core_type") is not None:
        lines.append(f"  core type (kernels in use): {blas['core_type']}")
    if blas.get("threads") is not None:
        lines.append(f"  threads: {blas['threads']}")
    if blas.get("build_config"):
        lines.append(f"  build: {blas['build_config']}")
    if blas.get("library"):
        lines.append(f"  library: {blas['library']}")
    from ember.backend import memory, threads

    lines.append(f"malloc tuning (reuse freed memory between steps): {memory.status}")
    t = threads.status()
    lines.append(f"ember threads: {t['threads']}, BLAS threads inside them: {t['blas_threads']}  ({t['reason']}; "
                 "EMBER_NUM_THREADS or ember.set_num_threads to change)")
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                      "MKL_NUM_THREADS", "EMBER_NUM_THREADS", "EMBER_DATA") if k in os.environ}
    lines.append("environment: " + (", ".join(f"{k}={val}" for k, val in env.items()) or
                                    "no OPENBLAS_*/OMP_*/EMBER_* settings"))
    note = coretype_note(blas, cpu)
    if note:
        lines.append(f"note: {note}")
    return "\n".join(lines)
