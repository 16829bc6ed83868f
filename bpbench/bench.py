"""Benchmark workloads and their measurement (used by `bpbench bench`).

Unit: useful config-steps per second = forward passes actually run, summed over
configurations, divided by wall time. Compile (or cache-load) time is measured separately on
a one-configuration grid, and each timing is the median of `repeat` runs.
"""
import platform
import time

import numba
import numpy as np

from . import grid
from .optimizers import OPTIMIZERS
from .backends import backend_module

WORKLOADS = {
    "W1": ("rmsprop, simultaneous, lr 32 x beta 32 x eps 8, max_steps 5000", lambda: (
        grid.block("rmsprop", "simultaneous", lr="log:1e-3:1:32", beta="lin:0.5:0.999:32",
                   eps="log:1e-8:1e-1:8"), 5000)),
    "W2": ("W1 in inplace order", lambda: (
        grid.block("rmsprop", "inplace", lr="log:1e-3:1:32", beta="lin:0.5:0.999:32",
                   eps="log:1e-8:1e-1:8"), 5000)),
    "W3": ("sgd, lr = logspace(-2, 1.5, 8192), max_steps 20000", lambda: (
        grid.block("sgd", "simultaneous", lr="log:1e-2:31.622776601683793:8192"), 20000)),
    "R1": ("xor restarts: momentum (beta 0.9), lr 4 x 8,192 seeds, margin 0.4, max_steps 2000",
           lambda: (grid.block("momentum", "simultaneous", problem="xor", lr=[0.1, 0.3, 1, 3],
                               beta=0.9, seed={"start": 0, "num": 8192}), 2000)),
    "LARGE": ("rmsprop, simultaneous, lr 128 x beta 128 x eps 64 = 1,048,576, max_steps 5000",
              lambda: (grid.block("rmsprop", "simultaneous", lr="log:1e-3:1:128",
                                  beta="lin:0.5:0.999:128", eps="log:1e-8:1e-1:64"), 5000)),
    "E1": ("encoder-10-5 restarts (looped kernels): sgd, lr 1, 4,096 seeds, margin 0.4, "
           "max_steps 2000", lambda: (grid.block("sgd", "simultaneous", problem="encoder-10-5",
                                                 lr=1.0, seed={"start": 0, "num": 4096}), 2000)),
    "OPT": ("every optimizer over lr = logspace(-3, 0, 512) at its torch defaults, "
            "simultaneous, max_steps 2000, one after the other",
            lambda: ([grid.block(o, "simultaneous", lr="log:1e-3:1:512") for o in OPTIMIZERS],
                     2000)),
}
# (backend, fast, dtype) variants measured per workload, less the (workload, backend) pairs
# in SKIP, which would take minutes.
VARIANTS = [("numpy", False, "float64"), ("serial", False, "float64"),
            ("cpu", False, "float64"), ("cpu", True, "float64"),
            ("cpu", False, "float32"), ("cpu", True, "float32")]
SKIP = {("LARGE", "numpy"), ("LARGE", "serial"), ("OPT", "serial"), ("E1", "numpy"),
        ("E1", "serial")}


def measure(block, max_steps, backend, fast, dtype, repeat=3):
    """(result arrays, median wall seconds, compile seconds) of one block, or of a list of
    blocks run one after the other (their arrays joined)."""
    if isinstance(block, list):
        parts = [measure(b, max_steps, backend, fast, dtype, repeat) for b in block]
        joined = tuple(np.concatenate(a) for a in zip(*(p[0] for p in parts)))
        return joined, sum(p[1] for p in parts), sum(p[2] for p in parts)
    module = backend_module(backend)
    args = block.args(dtype)
    margin = block.problem.margin or 0.0
    t = time.perf_counter()
    module.run(*block.args(dtype, 0, 1), 1e-7, 2, margin, fast=fast)
    compile_s = time.perf_counter() - t
    walls = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = module.run(*args, 1e-7, max_steps, margin, fast=fast)
        walls.append(time.perf_counter() - t)
    return out, float(np.median(walls)), compile_s


def isa():
    """The widest x86 SIMD extension this CPU has (AVX-512, AVX2, ...), from /proc/cpuinfo:
    speed figures mean little without it."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        flags = []
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"),
                       ("sse4_2", "SSE4.2")):
        if flag in flags:
            return name
    return platform.machine() or "unknown"


def run(names, threads=None, repeat=3, echo=print):
    """Measure each workload on every variant; one dict per measurement (also echoed as a
    text table per workload unless echo is None)."""
    if threads:
        numba.set_num_threads(threads)
    say = echo or (lambda *a: None)
    say(f"threads: {numba.get_num_threads()}   ISA: {isa()}   (median of {repeat} runs; "
        f"compile = first call on one configuration, cache loads included)")
    rows = []
    for name in names:
        desc, make = WORKLOADS[name]
        block, max_steps = make()
        say(f"\n{name}: {desc}")
        say(f"{'backend':<8} {'mode':<6} {'dtype':<8} {'configs':>10} {'config-steps':>14} "
            f"{'wall s':>8} {'steps/s':>10} {'vs numpy':>9} {'compile s':>10} {'mismatch':>9}")
        mine = []
        for backend, fast, dtype in VARIANTS:
            if (name, backend) in SKIP:
                continue
            (passes, status, *_), wall, comp = measure(block, max_steps, backend, fast, dtype,
                                                       repeat if backend != "serial" else 1)
            useful = int(passes.sum())
            mine.append(dict(workload=name, backend=backend,
                             mode="-" if backend == "numpy" else "fast" if fast else "exact",
                             dtype=dtype, configs=passes.size, config_steps=useful,
                             wall_s=wall, steps_per_s=useful / wall, compile_s=comp,
                             passes=passes, status=status))
        exact = next((r for r in mine if (r["backend"], r["mode"], r["dtype"])
                      == ("cpu", "exact", "float64")), None)
        base = next((r["steps_per_s"] for r in mine if r["backend"] == "numpy"), None)
        ref = None if exact is None else (exact["passes"], exact["status"])
        for r in mine:
            passes, status = r.pop("passes"), r.pop("status")
            r["vs_numpy"] = r["steps_per_s"] / base if base else float("nan")
            # configurations whose step count or status differs from exact float64 mode
            r["mismatch"] = (-1 if ref is None else
                             int(np.sum((passes != ref[0]) | (status != ref[1]))))
            r["threads"], r["isa"] = numba.get_num_threads(), isa()
        for r in mine:
            ratio = f"{r['vs_numpy']:.1f}x" if base else "-"
            mism = "" if r["mismatch"] < 0 else r["mismatch"]
            say(f"{r['backend']:<8} {r['mode']:<6} {r['dtype']:<8} "
                f"{r['configs']:>10,} {r['config_steps']:>14,} {r['wall_s']:>8.3f} "
                f"{r['steps_per_s']:>10.3g} {ratio:>9} {r['compile_s']:>10.2f} {mism:>9}")
        rows += mine
    return rows
