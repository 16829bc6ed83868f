"""bpbench's cpu backend against hand-written C on the post's workloads W1-W3, side by side.

    python benchmarks/c_limit.py [--threads N] [--repeat R] [--rounds K] [W1,W2,W3]

Builds benchmarks/c_limit.c twice with the system C compiler (cc, or $CC):
  strict: -O3 -march=native -fopenmp -ffp-contract=off   (IEEE, libm's scalar exp)
  fast:   -O3 -march=native -fopenmp -ffast-math -fno-finite-math-only -DVECTOR_EXP
          (exp from libmvec; NaN and inf checks kept, as in bpbench's fast mode)
then, for each workload and each of K alternating rounds, times bpbench exact, bpbench fast,
C strict and C fast on the same grid, every figure the median of R runs, all on the same
number of threads (default: every core). Prints config-steps per second, the median of the
rounds and the ratios bpbench/C, and checks the step counts: C strict must equal bpbench
exact bit for bit (same arithmetic), the fast builds may differ on a few configurations.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numba
import numpy as np

from bpbench.backends import cpu
from bpbench.bench import WORKLOADS, isa

HERE = Path(__file__).parent
FLAGS = {"strict": ["-O3", "-march=native", "-fopenmp", "-ffp-contract=off"],
         "fast": ["-O3", "-march=native", "-fopenmp", "-ffast-math", "-fno-finite-math-only",
                  "-DVECTOR_EXP"]}


def build(folder):
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        sys.exit("c_limit.py: no C compiler (cc or $CC) on PATH")
    binaries = {}
    for mode, flags in FLAGS.items():
        binaries[mode] = Path(folder) / f"c_limit_{mode}"
        subprocess.run([cc, *flags, str(HERE / "c_limit.c"), "-o", str(binaries[mode]), "-lm"],
                       check=True)
    version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
    return binaries, version.splitlines()[0]


def c_run(binary, folder, optimizer, order, max_steps, threads, repeat):
    out = subprocess.run([str(binary), optimizer, order, str(folder), str(max_steps), "1e-7",
                          str(threads), str(repeat)], capture_output=True, text=True, check=True)
    passes = np.fromfile(Path(folder) / "passes.bin", np.int64)
    status = np.fromfile(Path(folder) / "status.bin", np.int8)
    return float(out.stdout), passes, status


def bpbench_run(args, max_steps, fast, repeat):
    cpu.run(*args, 1e-7, max_steps, fast=fast)  # warm: threads started, kernel loaded
    walls = []
    for _ in range(repeat):
        t = time.perf_counter()
        passes, status, *_ = cpu.run(*args, 1e-7, max_steps, fast=fast)
        walls.append(time.perf_counter() - t)
    return float(np.median(walls)), passes, status


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="?", default="W1,W2,W3")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args()
    names = opts.workloads.split(",")
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from W1, W2, W3")
    numba.set_num_threads(opts.threads)
    with tempfile.TemporaryDirectory() as folder:
        binaries, compiler = build(folder)
        print(f"ISA: {isa()}   threads: {opts.threads}   {compiler}   median of {opts.repeat} "
              f"runs per figure, {opts.rounds} alternating rounds; config-steps/s")
        print(f"{'':<4} {'bpbench exact':>14} {'C strict':>10} {'ratio':>6}   "
              f"{'bpbench fast':>13} {'C fast':>10} {'ratio':>6}   "
              f"{'C strict = exact':>16} {'fast mismatch':>14}")
        for name in names:
            block, max_steps = WORKLOADS[name][1]()
            args = block.args("float64")
            shape, optimizer, order, H, W0, K = args
            if optimizer not in ("sgd", "rmsprop") or shape.layers != (2, 2, 1):
                sys.exit(f"c_limit.py: {name} is not the post's network with sgd or rmsprop")
            rows = 3 if optimizer == "rmsprop" else 1
            np.ascontiguousarray(H[:rows]).tofile(Path(folder) / "H.bin")
            np.ascontiguousarray(W0).tofile(Path(folder) / "W0.bin")
            np.ascontiguousarray(K).tofile(Path(folder) / "K.bin")
            rates = {key: [] for key in ("exact", "strict", "fast", "cfast")}
            results = {}
            for _ in range(opts.rounds):
                for key in rates:
                    if key in ("exact", "fast"):
                        wall, passes, status = bpbench_run(args, max_steps, key == "fast",
                                                           opts.repeat)
                    else:
                        binary = binaries["strict" if key == "strict" else "fast"]
                        wall, passes, status = c_run(binary, folder, optimizer, order,
                                                     max_steps, opts.threads, opts.repeat)
                    rates[key].append(passes.sum() / wall)
                    results[key] = passes, status
            med = {key: float(np.median(v)) for key, v in rates.items()}
            ref = results["exact"]

            def differ(key):
                passes, status = results[key]
                return int(np.sum((passes != ref[0]) | (status != ref[1])))
            same = "yes" if differ("strict") == 0 else f"NO ({differ('strict')})"
            print(f"{name:<4} {med['exact']:>14.3g} {med['strict']:>10.3g} "
                  f"{med['exact'] / med['strict']:>5.2f}x   {med['fast']:>13.3g} "
                  f"{med['cfast']:>10.3g} {med['fast'] / med['cfast']:>5.2f}x   {same:>16} "
                  f"{differ('fast'):>6} / {differ('cfast')} C")


if __name__ == "__main__":
    main()
